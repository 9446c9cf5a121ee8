/**
 * Streamed messages under load on one instance: many producers appending at a steady rate, each
 * stream watched by a few SSE subscribers.
 *
 *   npm run bench:streams -- [--quick] [--seconds 20] [--streams 100] [--rate 50] [--subscribers 2]
 *                            [--backend postgres|sqlite]
 *
 * The gateway is `polystore serve` compiled with tsc (bench/build.ts), in its own process, on
 * 127.0.0.1; producers and subscribers run in this process. Measured: delta delivery latency
 * (from the moment an append request is sent to the moment its `message.delta` frame reaches each
 * subscriber, matched by message and offset), database writes per stream per second (the
 * messages' versions, which every write of a streamed message bumps by one, and on PostgreSQL also
 * the messages table's n_tup_upd), the gateway's peak RSS (/proc VmHWM over the measured window),
 * and whether every subscriber ended with exactly the streamed text, from the deltas alone and from
 * the final `message.updated`. Results: bench/results/streams-<date>.md (+ .json). See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingMessage, request } from 'node:http';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { redactUrl } from '../src/config/load.js';
import { buildServers } from './build.js';
import { createLayout, Gateway, type Layout, optionReader, percentile } from './events-feed.js';
import { describeMachine, type Machine } from './machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = `${ROOT}bench/.data/`;
const CLI = `${DATA}build/src/cli/main.js`;
const LOGS = `${DATA}logs/`;
const DATABASE = 'polystore_bench_streams';
const POSTGRES_SERVER = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The targets of issue 12: not to be lowered. */
const TARGETS = { p99Ms: 50, writesPerStreamPerSecond: 5 };

/** Appends before the measured window: streams loaded, JIT and pools warm. */
const WARMUP_S = 3;
/** After the appends stop: the last interval's writes land, and PostgreSQL's statistics are flushed (≤ 1 s). */
const QUIET_MS = 2000;

interface Options {
  seconds: number;
  streams: number;
  rate: number;
  subscribers: number;
  backend: 'postgres' | 'sqlite';
  /** Write a V8 CPU profile of the gateway (bench/.data/profiles/); slows it, numbers are not comparable. */
  profile: boolean;
}

function parse(argv: string[]): Options {
  const o = optionReader(argv);
  const integer = (name: string, fallback: number) => o.number(name, fallback, true);
  return {
    seconds: integer('seconds', o.flag('quick') ? 10 : 20),
    streams: integer('streams', 100),
    rate: integer('rate', 50),
    subscribers: integer('subscribers', 2),
    backend: o.backend(),
    profile: o.flag('profile'),
  };
}

const log = (line: string) => console.log(line);
const mb = (bytes: number) => bytes / 2 ** 20;

// ---------------------------------------------------------------------------------------------
// The database

function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh benchmark database of its own (PostgreSQL: dropped and created again; never another one). */
async function freshDatabase(o: Options): Promise<Record<string, string>> {
  if (o.backend === 'postgres') {
    const client = new pg.Client({ connectionString: POSTGRES_SERVER });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await client.end();
    }
    return { DATABASE_TYPE: 'postgres', DATABASE_URL: databaseUrl(DATABASE), DATABASE_POOL_SIZE: '10' };
  }
  mkdirSync(`${DATA}streams`, { recursive: true });
  const file = `${DATA}streams/${DATABASE}.db`;
  for (const suffix of ['', '-wal', '-shm']) execFileSync('rm', ['-f', file + suffix]);
  return { DATABASE_TYPE: 'sqlite', DATABASE_URL: file };
}

/** Rows of `messages` updated so far, as PostgreSQL's statistics count them. */
async function messageUpdates(): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl(DATABASE) });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      "SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'messages'",
    );
    return Number(rows[0]?.n ?? Number.NaN);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Enough sockets for every producer to have one: a producer waits for its answer before its next append. */
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

function call(base: string, userId: string, method: string, path: string, body?: unknown) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: { 'x-user-id': userId, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Subscribers

/** What one subscriber holds of one streamed message, applied by offset as the README says. */
interface Held {
  text: string;
  /** Deltas that started beyond the end (none are expected: the subscriber was there from the start). */
  waiting: { offset: number; text: string }[];
  gaps: number;
  /** The highest offset whose delta was timed: later frames from an earlier offset repeat text (the writes' deltas). */
  timedUpTo: number;
  /** The streamed text of the final message.updated, once it came. */
  final?: string;
}

interface Subscriber {
  held: Map<string, Held>;
}

interface Subscription {
  subscribers: Subscriber[];
  /** Latencies of the measured window, ms. */
  latencies: number[];
  /** Frames other than deltas, message.created and message.updated (overflow, reset): should be none. */
  other: Map<string, number>;
  frames: { deltas: number; repeats: number };
  open(): number;
  close(): void;
}

/** The send time of each append of the measured window, by `messageId:offset`. */
type SendTimes = Map<string, number>;

function applyDelta(h: Held, offset: number, text: string): boolean {
  h.waiting.push({ offset, text });
  let added = false;
  for (let moved = true; moved; ) {
    moved = false;
    for (let i = 0; i < h.waiting.length; i++) {
      const d = h.waiting[i]!;
      if (d.offset > h.text.length) continue;
      h.waiting.splice(i, 1);
      // The texts are ASCII: offsets in code points are string indices.
      const fresh = d.text.slice(h.text.length - d.offset);
      if (fresh !== '') {
        h.text += fresh;
        added = true;
      }
      moved = true;
      break;
    }
  }
  if (h.waiting.length > 0) h.gaps++;
  return added;
}

/** `perStream` SSE subscribers per conversation, each from the log's end; resolves when all are open. */
async function subscribe(base: string, layout: Layout, sendTimes: SendTimes): Promise<Subscription> {
  const subscribers: Subscriber[] = [];
  const latencies: number[] = [];
  const other = new Map<string, number>();
  const frames = { deltas: 0, repeats: 0 };
  const responses: IncomingMessage[] = [];
  let open = 0;
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < layout.conversations.length; i++) {
    const id = layout.conversations[i]!;
    const head = await call(base, layout.members[i]![0]!, 'GET', `/v1/conversations/${id}/events?after=0&limit=100`);
    const after = head.json.lastSeq as number;
    for (const member of layout.members[i]!) {
      const subscriber: Subscriber = { held: new Map() };
      subscribers.push(subscriber);
      const heldOf = (messageId: string) => {
        let h = subscriber.held.get(messageId);
        if (!h) {
          h = { text: '', waiting: [], gaps: 0, timedUpTo: -1 };
          subscriber.held.set(messageId, h);
        }
        return h;
      };
      const job = new Promise<void>((resolve, reject) => {
        const req = request(`${base}/v1/conversations/${id}/events?after=${after}`, {
          agent: false,
          headers: { accept: 'text/event-stream', 'x-user-id': member },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          if (res.statusCode !== 200) return reject(new Error(`subscribing: ${res.statusCode}`));
          responses.push(res);
          open++;
          res.on('close', () => open--);
          res.on('error', () => undefined);
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const at = performance.now();
            buffer += chunk;
            for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              const type = /^event: (.+)$/m.exec(block)?.[1];
              const data = /^data: (.+)$/m.exec(block)?.[1];
              if (type === undefined || data === undefined) continue; // retry: line, heartbeat comment
              if (type === 'message.delta') {
                const delta = JSON.parse(data) as { messageId: string; offset: number; text: string };
                frames.deltas++;
                const h = heldOf(delta.messageId);
                if (!applyDelta(h, delta.offset, delta.text)) frames.repeats++;
                if (delta.offset > h.timedUpTo) {
                  h.timedUpTo = delta.offset;
                  const sent = sendTimes.get(`${delta.messageId}:${delta.offset}`);
                  if (sent !== undefined) latencies.push(at - sent);
                }
              } else if (type === 'message.updated') {
                const event = JSON.parse(data) as {
                  data: { message: { id: string; status: string; content: { type: string; text?: string }[] } };
                };
                const m = event.data.message;
                if (m.status !== 'in_progress') heldOf(m.id).final = m.content.at(-1)?.text ?? '';
              } else if (type !== 'message.created') {
                other.set(type, (other.get(type) ?? 0) + 1);
              }
            }
          });
          resolve();
        });
        req.end();
      });
      // Handled here as well: a stream refused while later ones are still being set up must not
      // be an unhandled rejection (which would end this process and leave the gateway running).
      job.catch(() => undefined);
      jobs.push(job);
    }
  }
  await Promise.all(jobs);
  return {
    subscribers,
    latencies,
    other,
    frames,
    open: () => open,
    close: () => {
      for (const res of responses) res.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Producers

interface Stream {
  conversationId: string;
  messageId: string;
  owner: string;
  /** The text the gateway acknowledged, in order. */
  text: string;
  appended: number;
  failed: number;
  /** Milliseconds from sending each measured append to its answer. */
  answers: number[];
  /** Appends sent late by more than five intervals, whose slots were given up (the producer fell behind). */
  skipped: number;
}

let pieceNumber = 0;
/** Six ASCII characters per append, different each time (so a repeated or misplaced piece shows). */
const piece = () => `${(pieceNumber++).toString(36).padStart(5, '0')} `;

/**
 * Appends to one stream at `rate` per second until `until` (performance.now()), each append sent
 * once the previous one was answered (a producer streams its text in order), on a fixed schedule
 * it catches up with when an answer was slow. `sendTimes`, when given, records each append's send time.
 */
async function produce(base: string, s: Stream, rate: number, until: number, sendTimes?: SendTimes): Promise<void> {
  const interval = 1000 / rate;
  let next = performance.now();
  // A failed append is sent again as it was: appends are idempotent by offset, so a retry never repeats text.
  let text = '';
  while (next < until) {
    if (text === '') text = piece();
    const offset = s.text.length;
    const sentAt = performance.now();
    sendTimes?.set(`${s.messageId}:${offset}`, sentAt);
    const path = `/v1/conversations/${s.conversationId}/messages/${s.messageId}/append`;
    const res = await call(base, s.owner, 'POST', path, { offset, text }).catch(() => ({
      status: 0,
      json: {} as Record<string, unknown>,
    }));
    if (res.status === 200 && res.json.offset === offset + text.length) {
      s.text += text;
      s.appended++;
      if (sendTimes) s.answers.push(performance.now() - sentAt);
      text = '';
    } else s.failed++;
    next += interval;
    const now = performance.now();
    if (now - next > 5 * interval) {
      const behind = Math.floor((now - next) / interval);
      s.skipped += behind;
      next += behind * interval;
    }
    if (next > now) await sleep(next - now);
  }
}

// ---------------------------------------------------------------------------------------------
// The run

interface Result {
  streams: number;
  subscribersPerStream: number;
  rate: number;
  seconds: number;
  backend: string;
  /** Appends per second per stream actually acknowledged in the measured window. */
  achievedRate: number;
  appends: number;
  failedAppends: number;
  skippedSlots: number;
  deliveries: { expected: number; timed: number };
  p50: number;
  p99: number;
  max: number;
  /** The producers' view: from sending an append to its answer, ms. */
  answer: { p50: number; p99: number };
  frames: { deltas: number; repeats: number };
  /** Writes per stream per second by the messages' versions, and (PostgreSQL) by n_tup_upd. */
  writesPerStreamPerSecond: number;
  writesByVersion: number;
  writesByStats: number | null;
  writesPerStreamPerSecondByStats: number | null;
  peakRss: number;
  rssAfter: number;
  correctness: {
    subscribers: number;
    exactFromDeltas: number;
    exactFinal: number;
    gaps: number;
    finalMissing: number;
    /** The final message each stream's producer got back equals what it streamed. */
    producersExact: number;
  };
  otherFrames: Record<string, number>;
  loadAverage: { before: number[]; after: number[] };
  /** CPU seconds used during the measured window by the gateway and by this process (producers and subscribers). */
  cpu: { gateway: number; benchmark: number };
}

async function versions(base: string, streams: Stream[]): Promise<number[]> {
  return Promise.all(
    streams.map(async (s) => {
      const res = await call(base, s.owner, 'GET', `/v1/conversations/${s.conversationId}/messages/${s.messageId}`);
      if (res.status !== 200) throw new Error(`reading a streamed message: ${res.status}`);
      return res.json.version as number;
    }),
  );
}

/** Clock ticks per second of /proc's CPU times. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN where there is no /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const loadAverage = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

async function run(o: Options, db: Record<string, string>): Promise<Result> {
  const gateway = await Gateway.start('streams', CLI, { ...db, EVENTS_POLL_MS: '60000' }, `${LOGS}streams.log`);
  try {
    log(`${o.streams} streams × ${o.rate} appends/s, ${o.subscribers} subscribers each, ${o.seconds} s, ${o.backend}`);
    const layout = await createLayout(gateway.url, o.streams, o.subscribers);
    const sendTimes: SendTimes = new Map();
    const subscription = await subscribe(gateway.url, layout, sendTimes);
    if (subscription.open() !== o.streams * o.subscribers)
      throw new Error(`only ${subscription.open()} subscribers connected`);
    const streams: Stream[] = [];
    for (let i = 0; i < o.streams; i++) {
      const owner = `owner-${i}`;
      const res = await call(gateway.url, owner, 'POST', `/v1/conversations/${layout.conversations[i]}/messages`, {
        role: 'assistant',
        status: 'in_progress',
        content: [{ type: 'text', text: '' }],
      });
      if (res.status !== 201) throw new Error(`posting a streamed message: ${res.status} ${JSON.stringify(res.json)}`);
      streams.push({
        conversationId: layout.conversations[i]!,
        messageId: res.json.id as string,
        owner,
        text: '',
        appended: 0,
        failed: 0,
        skipped: 0,
        answers: [],
      });
    }

    log(`  warm-up: ${WARMUP_S} s`);
    const warmUntil = performance.now() + WARMUP_S * 1000;
    await Promise.all(streams.map((s) => produce(gateway.url, s, o.rate, warmUntil)));
    for (const s of streams) Object.assign(s, { appended: 0, failed: 0, skipped: 0 });
    await sleep(QUIET_MS);

    const versionsBefore = await versions(gateway.url, streams);
    const updatesBefore = o.backend === 'postgres' ? await messageUpdates() : null;
    const before = loadAverage();
    gateway.resetPeak();
    const cpuBefore = { gateway: cpuSeconds(gateway.pid), benchmark: ownCpuSeconds() };
    log(`  measuring: ${o.seconds} s (load average ${before.join(' ')})`);
    const started = performance.now();
    const until = started + o.seconds * 1000;
    await Promise.all(streams.map((s) => produce(gateway.url, s, o.rate, until, sendTimes)));
    const seconds = (performance.now() - started) / 1000;
    const cpu = {
      gateway: cpuSeconds(gateway.pid) - cpuBefore.gateway,
      benchmark: ownCpuSeconds() - cpuBefore.benchmark,
    };
    const peakRss = gateway.peakRss();
    const after = loadAverage();
    await sleep(QUIET_MS);
    const versionsAfter = await versions(gateway.url, streams);
    const updatesAfter = o.backend === 'postgres' ? await messageUpdates() : null;
    const rssAfter = gateway.rss();

    // Finish every stream; each subscriber must then hold exactly what its producer streamed.
    let producersExact = 0;
    await Promise.all(
      streams.map(async (s) => {
        const res = await call(
          gateway.url,
          s.owner,
          'POST',
          `/v1/conversations/${s.conversationId}/messages/${s.messageId}/finish`,
          { status: 'completed' },
        );
        const content = res.json.content as { text?: string }[] | undefined;
        if (res.status === 200 && content?.at(-1)?.text === s.text) producersExact++;
      }),
    );
    // Subscribers were opened conversation by conversation: o.subscribers of each, in order.
    const all = () => subscription.subscribers.map((sub, i) => [sub, streams[Math.floor(i / o.subscribers)]!] as const);
    const settleUntil = Date.now() + 15_000;
    while (Date.now() < settleUntil && all().some(([sub, s]) => sub.held.get(s.messageId)?.final === undefined))
      await sleep(100);

    let exactFromDeltas = 0;
    let exactFinal = 0;
    let gaps = 0;
    let finalMissing = 0;
    for (const [sub, s] of all()) {
      const h = sub.held.get(s.messageId);
      if (h?.text === s.text) exactFromDeltas++;
      if (h?.final === s.text) exactFinal++;
      if (h?.final === undefined) finalMissing++;
      gaps += h?.gaps ?? 0;
    }
    subscription.close();

    const writesByVersion = versionsAfter.reduce((sum, v, i) => sum + (v - versionsBefore[i]!), 0);
    const writesByStats = updatesAfter !== null && updatesBefore !== null ? updatesAfter - updatesBefore : null;
    const sorted = Float64Array.from(subscription.latencies).sort();
    const appends = streams.reduce((n, s) => n + s.appended, 0);
    const answers = Float64Array.from(streams.flatMap((s) => s.answers)).sort();
    return {
      streams: o.streams,
      subscribersPerStream: o.subscribers,
      rate: o.rate,
      seconds,
      backend: o.backend,
      achievedRate: appends / o.streams / seconds,
      appends,
      failedAppends: streams.reduce((n, s) => n + s.failed, 0),
      skippedSlots: streams.reduce((n, s) => n + s.skipped, 0),
      deliveries: { expected: appends * o.subscribers, timed: sorted.length },
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      answer: { p50: percentile(answers, 0.5), p99: percentile(answers, 0.99) },
      frames: subscription.frames,
      writesPerStreamPerSecond: writesByVersion / o.streams / seconds,
      writesByVersion,
      writesByStats,
      writesPerStreamPerSecondByStats: writesByStats === null ? null : writesByStats / o.streams / seconds,
      peakRss,
      rssAfter,
      correctness: {
        subscribers: o.streams * o.subscribers,
        exactFromDeltas,
        exactFinal,
        gaps,
        finalMissing,
        producersExact,
      },
      otherFrames: Object.fromEntries(subscription.other),
      loadAverage: { before, after },
      cpu,
    };
  } finally {
    await gateway.stop();
  }
}

const met = (ok: boolean) => (ok ? 'met' : '**missed**');

function report(o: Options, machine: Machine, r: Result, stamp: string): string {
  const c = r.correctness;
  const correct =
    c.exactFromDeltas === c.subscribers && c.exactFinal === c.subscribers && c.producersExact === r.streams;
  const lines = [
    `# polystore streamed messages benchmark, ${stamp} UTC`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ` +
      `commit ${machine.commit.slice(0, 12)}${machine.dirty ? ' (with uncommitted changes)' : ''}. ` +
      `Database: ${o.backend === 'postgres' ? `PostgreSQL (${redactUrl(POSTGRES_SERVER)})` : 'SQLite file'}. ` +
      'Everything on loopback, on one machine: the gateway, the database, and the benchmark process that runs every ' +
      'producer and holds every subscriber. **A loaded machine:** other engineers’ test suites were sharing the same ' +
      `2 cores while this ran (load average ${r.loadAverage.before.join(' ')} before the measured window, ` +
      `${r.loadAverage.after.join(' ')} after it); read the tail latencies with that in mind.`,
    '',
    `## ${r.streams} streams × ${r.rate} appends/s, ${r.subscribersPerStream} SSE subscribers each, ${r.seconds.toFixed(1)} s, one instance`,
    '',
    'Each producer appends six characters at a time to its own in_progress message, waiting for each answer ' +
      'before the next append, on a fixed schedule it catches up with when an answer was slow. Every subscriber ' +
      'opened its conversation’s event stream before the message was posted. Latency: from the moment an append ' +
      'request is sent to the moment its `message.delta` frame arrives at each subscriber (frames matched by ' +
      'message id and offset; the writes’ own deltas, which repeat text from the previous write’s end, are not ' +
      `timed). ${WARMUP_S} s of appends warm the gateway up first and are not measured.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| delta delivery p50 / p99 / max | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)} ms | p99 ≤ ${TARGETS.p99Ms} ms: ${met(r.p99 <= TARGETS.p99Ms)} |`,
    `| append answered (the producer’s send → its 200) p50 / p99 | ${r.answer.p50.toFixed(1)} / ${r.answer.p99.toFixed(1)} ms | |`,
    `| deliveries timed | ${r.deliveries.timed} of ${r.deliveries.expected} (appends × subscribers) | all |`,
    `| appends acknowledged | ${r.appends} (${r.achievedRate.toFixed(1)}/s per stream; ${r.failedAppends} failed, ${r.skippedSlots} slots given up by producers that fell behind) | ${r.rate}/s per stream |`,
    `| database writes per stream per second (messages’ versions) | ${r.writesPerStreamPerSecond.toFixed(2)} (${r.writesByVersion} writes) | ≤ ${TARGETS.writesPerStreamPerSecond}: ${met(r.writesPerStreamPerSecond <= TARGETS.writesPerStreamPerSecond)} |`,
    ...(r.writesByStats !== null
      ? [
          `| the same by PostgreSQL’s n_tup_upd of messages | ${r.writesPerStreamPerSecondByStats!.toFixed(2)} (${r.writesByStats} rows updated) | ≤ ${TARGETS.writesPerStreamPerSecond} |`,
        ]
      : []),
    `| CPU used in the window: gateway / benchmark process (of ${os.cpus().length} cores × ${r.seconds.toFixed(0)} s) | ${r.cpu.gateway.toFixed(1)} / ${r.cpu.benchmark.toFixed(1)} s | |`,
    `| gateway peak RSS in the window / RSS after | ${mb(r.peakRss).toFixed(0)} / ${mb(r.rssAfter).toFixed(0)} MB | (recorded) |`,
    `| subscribers holding exactly the streamed text, from the deltas alone | ${c.exactFromDeltas} of ${c.subscribers} (${c.gaps} gaps seen) | all |`,
    `| subscribers whose final message.updated holds exactly it | ${c.exactFinal} of ${c.subscribers} (${c.finalMissing} missing) | all |`,
    `| producers whose finish returned exactly what they streamed | ${c.producersExact} of ${r.streams} | all |`,
    `| delta frames received, warm-up included (of them repeating held text only) | ${r.frames.deltas} (${r.frames.repeats}) | |`,
    `| other frames (overflow, reset, …) | ${Object.keys(r.otherFrames).length === 0 ? 'none' : JSON.stringify(r.otherFrames)} | none |`,
    '',
    ...(r.achievedRate < 0.95 * r.rate
      ? [
          `**The load was not reached:** the producers got ${r.achievedRate.toFixed(1)} appends/s per stream ` +
            `acknowledged, not ${r.rate} (${(r.achievedRate * r.streams).toFixed(0)}/s in all), so the latencies and ` +
            `write counts above are for that load, not the target's. The CPU line says where the time went; the ` +
            'producers wait for each answer, so a slow gateway (or a benchmark process short of CPU) lowers the rate ' +
            'rather than queueing appends without bound.',
          '',
        ]
      : []),
    `Correctness: ${correct ? 'every subscriber ended with exactly each stream’s text' : '**not every subscriber ended with exactly the streamed text**'}.`,
    '',
    '**Writes, how counted.** Every write of a streamed message (StreamRepository.flush) is one `UPDATE messages … ' +
      'version = version + 1`, and nothing else updates these messages while they stream, so the sum over the streams ' +
      'of (version after − version before) is the number of writes in the window; the readings are taken after ' +
      `${QUIET_MS / 1000} s of quiet on both sides (the last interval’s writes have landed). On PostgreSQL the ` +
      'messages table’s `n_tup_upd` (pg_stat_user_tables, the benchmark’s own database) is read at the same moments ' +
      'as a second count. The finish is not in the window.',
  ];
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const o = parse(argv);
  mkdirSync(LOGS, { recursive: true });
  if (o.profile) {
    mkdirSync(`${DATA}profiles`, { recursive: true });
    Gateway.nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${DATA}profiles`];
  }
  const machine = describeMachine();
  log('compiling the gateway (bench/.data/build)');
  await buildServers(log);
  const db = await freshDatabase(o);
  const result = await run(o, db);
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
  const text = report(o, machine, result, stamp.replace('T', ' '));
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/streams-${stamp}.md`, text);
  writeFileSync(
    `${ROOT}bench/results/streams-${stamp}.json`,
    `${JSON.stringify({ options: o, machine, targets: TARGETS, result }, null, 2)}\n`,
  );
  console.log(`\n${text}\nwritten to bench/results/streams-${stamp}.md (+ .json)`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});

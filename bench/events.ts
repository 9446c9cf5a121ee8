/**
 * How fast live events reach their subscribers, on one instance and across two with each
 * notifier, how much memory idle subscribers take, and what writing the event costs a post.
 *
 *   npm run bench:events -- [--seconds 20] [--rate 200] [--subscribers 1000] [--conversations 100]
 *                           [--notifiers local,postgres,redis,nats] [--backend postgres|sqlite]
 *                           [--throughput-seconds 10] [--no-baseline]
 *
 * Every gateway is `polystore serve` compiled with tsc (bench/build.ts), in its own process, on
 * 127.0.0.1; the subscribers and the poster run in this process. Streams poll the log only every
 * 60 s (EVENTS_POLL_MS), so the latencies measure the wake-up path. Results: a Markdown table
 * printed and written to bench/results/events-<date>.md (+ .json). See bench/README.md.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { redactUrl } from '../src/config/load.js';
import { buildServers } from './build.js';
import {
  createLayout,
  delivery,
  Gateway,
  type Delivery,
  type Layout,
  optionReader,
  postAtRate,
  settle,
  subscribe,
} from './events-feed.js';
import { describeMachine, type Machine } from './machine.js';
import type { Request, RequestParams } from 'autocannon';
import { load, type LoadResult } from './run.js';
import { POST_BODY } from './workload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = `${ROOT}bench/.data/`;
const CLI = `${DATA}build/src/cli/main.js`;
const LOGS = `${DATA}logs/`;
const DATABASE = 'polystore_bench_events';
const CHANNEL = 'polystore_bench_events';

/** The targets of issue 11: not to be lowered. */
const TARGETS = {
  p99OneInstanceMs: 50,
  p99AcrossMs: 150,
  rssPerThousandIdleMb: 30,
  postCostShare: 0.1,
};

type NotifierName = 'local' | 'postgres' | 'redis' | 'nats';

interface Options {
  seconds: number;
  rate: number;
  subscribers: number;
  conversations: number;
  notifiers: NotifierName[];
  backend: 'postgres' | 'sqlite';
  throughputSeconds: number;
  baseline: boolean;
  /** DATABASE_POOL_SIZE of every gateway. */
  pool: number;
  /** Write a V8 CPU profile of every gateway (bench/.data/profiles/); slows them, numbers are not comparable. */
  profile: boolean;
}

function parse(argv: string[]): Options {
  const { value, number, flag, backend } = optionReader(argv);
  const notifiers = value('notifiers', 'local,postgres,redis,nats').split(',') as NotifierName[];
  for (const n of notifiers)
    if (!['local', 'postgres', 'redis', 'nats'].includes(n)) throw new Error(`--notifiers: unknown ${n}`);
  const options: Options = {
    seconds: number('seconds', 20),
    rate: number('rate', 200),
    subscribers: number('subscribers', 1000),
    conversations: number('conversations', 100),
    notifiers,
    backend: backend(),
    throughputSeconds: number('throughput-seconds', 10),
    baseline: !flag('no-baseline'),
    profile: flag('profile'),
    pool: number('pool', 10),
  };
  if (options.subscribers % options.conversations !== 0)
    throw new Error('--subscribers must be a multiple of --conversations');
  return options;
}

const log = (line: string) => console.log(line);
const mb = (bytes: number) => bytes / 2 ** 20;

// ---------------------------------------------------------------------------------------------
// Where things live

const POSTGRES_SERVER = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops and recreates one of the benchmark's own databases (never another). */
async function recreate(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_SERVER });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** DATABASE_TYPE and DATABASE_URL of a fresh benchmark database named `name`. */
async function freshDatabase(o: Options, name: string): Promise<Record<string, string>> {
  if (o.backend === 'postgres') {
    await recreate(name);
    return { DATABASE_TYPE: 'postgres', DATABASE_URL: databaseUrl(name), DATABASE_POOL_SIZE: String(o.pool) };
  }
  mkdirSync(`${DATA}events`, { recursive: true });
  const file = `${DATA}events/${name}.db`;
  for (const suffix of ['', '-wal', '-shm']) execFileSync('rm', ['-f', file + suffix]);
  return { DATABASE_TYPE: 'sqlite', DATABASE_URL: file };
}

function notifierEnv(name: NotifierName): Record<string, string> {
  const common = { EVENTS_NOTIFY: name, EVENTS_NOTIFY_CHANNEL: CHANNEL, EVENTS_POLL_MS: '60000' };
  if (name === 'redis') return { ...common, EVENTS_REDIS_URL: REDIS_URL };
  if (name === 'nats') return { ...common, EVENTS_NATS_URL: NATS_URL };
  return common;
}

// ---------------------------------------------------------------------------------------------
// Delivery latency

interface LatencyResult extends Delivery {
  scenario: string;
  notifier: NotifierName;
  instances: 1 | 2;
  subscribers: number;
  rate: number;
  /** Posts per second actually acknowledged. */
  achievedRate: number;
  failedPosts: number;
  /** Events other than message.created (overflow, reset): should be none. */
  otherEvents: Record<string, number>;
  /** Peak RSS of the instance holding the subscribers during the measured window, bytes. */
  peakRss: number;
  loadAverage: number[];
}

async function latencyScenario(
  o: Options,
  notifier: NotifierName,
  db: Record<string, string>,
  layoutRef: { layout?: Layout },
): Promise<LatencyResult> {
  const env = { ...db, ...notifierEnv(notifier) };
  const across = notifier !== 'local';
  const label = across ? `two instances, ${notifier}` : 'one instance (local)';
  log(`\n${label}: ${o.subscribers} subscribers, ${o.rate} posts/s for ${o.seconds} s`);
  const a = await Gateway.start('A', CLI, env, `${LOGS}events-${notifier}-A.log`);
  const b = across ? await Gateway.start('B', CLI, env, `${LOGS}events-${notifier}-B.log`) : a;
  try {
    for (const g of across ? [a, b] : [a]) {
      const ready = await g.ready();
      if (ready.notifier.state !== 'connected')
        throw new Error(`${g.name}'s notifier is ${ready.notifier.state}: is the ${notifier} server up?`);
    }
    layoutRef.layout ??= await createLayout(a.url, o.conversations, o.subscribers / o.conversations);
    const layout = layoutRef.layout;
    const subscribers = await subscribe(b.url, layout);
    if (subscribers.open() !== o.subscribers) throw new Error(`only ${subscribers.open()} subscribers connected`);
    const perConversation = o.subscribers / o.conversations;
    // Warm-up (JIT, pools, broker connections), not measured.
    const warm = await postAtRate(a.url, layout, o.rate, 3);
    await settle(warm, subscribers.receipts, perConversation, 5000);
    subscribers.receipts.clear();
    b.resetPeak();
    const loadAverage = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const posted = await postAtRate(a.url, layout, o.rate, o.seconds);
    await settle(posted, subscribers.receipts, perConversation, 10_000);
    const peakRss = b.peakRss();
    const result = delivery(posted, subscribers.receipts, perConversation);
    const stillOpen = subscribers.open();
    subscribers.close();
    const row: LatencyResult = {
      scenario: label,
      notifier,
      instances: across ? 2 : 1,
      subscribers: o.subscribers,
      rate: o.rate,
      achievedRate: posted.acks.size / posted.seconds,
      failedPosts: posted.failed,
      otherEvents: Object.fromEntries(subscribers.other),
      peakRss,
      loadAverage,
      ...result,
    };
    log(
      `  p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, max ${row.max.toFixed(1)} ms; ` +
        `${row.received}/${row.expected} deliveries, ${row.achievedRate.toFixed(0)} posts/s, ` +
        `${stillOpen}/${o.subscribers} streams open at the end, peak RSS ${mb(peakRss).toFixed(0)} MB`,
    );
    return row;
  } finally {
    await a.stop();
    if (b !== a) await b.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Idle subscribers' memory

/** How long the idle instance is left alone before each RSS reading. */
const IDLE_SETTLE_MS = 12_000;

interface IdleResult {
  /** RSS in bytes with 0, 1×, 2× `subscribers` idle streams open, left alone for IDLE_SETTLE_MS. */
  rss: number[];
  /** The same, right after a full GC. */
  rssAfterGc: number[];
  subscribers: number;
  perThousandMb: number;
  perThousandAfterGcMb: number;
}

async function idleMemory(o: Options, db: Record<string, string>, layout: Layout): Promise<IdleResult> {
  log(`\nidle subscribers: RSS with 0, ${o.subscribers} and ${2 * o.subscribers} open streams`);
  const preload = new URL('./.data/build/bench/gc-on-signal.js', import.meta.url).href;
  const g = await Gateway.start('idle', CLI, { ...db, ...notifierEnv('local') }, `${LOGS}events-idle.log`, [
    '--expose-gc',
    '--import',
    preload,
  ]);
  const opened = [];
  try {
    // A few requests first, so the routes and the pool are warm like a serving instance.
    await subscribe(g.url, {
      conversations: layout.conversations.slice(0, 5),
      members: layout.members.slice(0, 5),
    }).then((s) => s.close());
    await sleep(IDLE_SETTLE_MS);
    const rss = [g.rss()];
    const rssAfterGc = [await g.rssAfterGc()];
    for (let step = 0; step < 2; step++) {
      opened.push(await subscribe(g.url, layout));
      // Long enough for V8's memory reducer to collect what opening the streams left behind;
      // the heartbeat every 15 s is all the streams do meanwhile.
      await sleep(IDLE_SETTLE_MS);
      rss.push(g.rss());
      rssAfterGc.push(await g.rssAfterGc());
    }
    // The larger of the two steps: the first can even be negative after a GC (what the start-up
    // left behind goes too), the second is an instance already holding streams.
    const per = (xs: number[]) => mb(Math.max(xs[1]! - xs[0]!, xs[2]! - xs[1]!)) * (1000 / o.subscribers);
    const result = {
      rss,
      rssAfterGc,
      subscribers: o.subscribers,
      perThousandMb: per(rss),
      perThousandAfterGcMb: per(rssAfterGc),
    };
    log(
      `  RSS ${rss.map((r) => mb(r).toFixed(0)).join(' → ')} MB (${result.perThousandMb.toFixed(1)} MB per 1,000); ` +
        `after GC ${rssAfterGc.map((r) => mb(r).toFixed(0)).join(' → ')} MB (${result.perThousandAfterGcMb.toFixed(1)} MB per 1,000)`,
    );
    return result;
  } finally {
    for (const s of opened) s.close();
    await g.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// What the event write costs a post

/**
 * The commit before the event log: the parent of the commit that added its first migration.
 * Its tree is exported with `git archive` (no worktree, nothing in the repository changes) into
 * bench/.data and compiled there like the current one, against the same node_modules.
 */
async function baselineBuild(): Promise<{ commit: string; cli: string; commitsBetween: number }> {
  const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  const added = git([
    'log',
    '--format=%H',
    '--diff-filter=A',
    '-1',
    '--',
    'migrations/postgres/0002-conversation-events.ts',
  ]);
  const commit = git(['rev-parse', `${added}^`]);
  const commitsBetween = Number(git(['rev-list', '--count', `${commit}..HEAD`]));
  const dir = `${DATA}baseline-${commit.slice(0, 12)}/`;
  const cli = `${dir}bench/.data/build/src/cli/main.js`;
  if (!existsSync(cli)) {
    log(`  exporting and compiling ${commit.slice(0, 12)} (the commit before the event log)`);
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C "${dir}"`], { cwd: ROOT });
    if (!existsSync(`${dir}node_modules`)) symlinkSync(`${ROOT}node_modules`, `${dir}node_modules`);
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', `${dir}bench/tsconfig.server.json`], {
      maxBuffer: 64 * 2 ** 20,
    }).catch(() => undefined); // type errors do not stop the emit (noEmitOnError: false)
    if (!existsSync(cli)) throw new Error(`compiling the baseline produced no ${cli}`);
  }
  return { commit, cli, commitsBetween };
}

interface ThroughputResult {
  build: 'baseline' | 'current' | 'current + subscribers';
  commit: string;
  runs: LoadResult[];
  /** Median req/s over the runs. */
  rps: number;
}

async function postThroughput(
  o: Options,
  cli: string,
  database: string,
  seconds: number,
  withSubscribers: boolean,
): Promise<LoadResult> {
  const db = await freshDatabase(o, database);
  const g = await Gateway.start('throughput', cli, { ...db, EVENTS_POLL_MS: '60000' }, `${LOGS}events-${database}.log`);
  try {
    const perConversation = withSubscribers ? o.subscribers / o.conversations : 1;
    const layout = await createLayout(g.url, o.conversations, perConversation);
    const subscribers = withSubscribers ? await subscribe(g.url, layout) : undefined;
    let i = 0;
    const requests: Request[] = [
      {
        method: 'POST',
        setupRequest: (request: RequestParams): RequestParams => {
          const c = i++ % layout.conversations.length;
          return {
            ...request,
            path: `/v1/conversations/${layout.conversations[c]}/messages`,
            headers: { 'content-type': 'application/json', 'x-user-id': `owner-${c}` },
            body: JSON.stringify(POST_BODY),
          };
        },
      },
    ];
    await load(g.url, requests, 201, 10, 3); // warm-up
    const result = await load(g.url, requests, 201, 10, seconds);
    subscribers?.close();
    return result;
  } finally {
    await g.stop();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Baseline and current alternate this many times; the machine's load drifts, the median holds better. */
const ROUNDS = 3;

async function eventWriteCost(o: Options, machine: Machine): Promise<ThroughputResult[]> {
  log('\nwhat the event write costs a post: POST …/messages, 10 connections, baseline and current alternately');
  const baseline = await baselineBuild();
  const results: ThroughputResult[] = [
    { build: 'baseline', commit: baseline.commit, runs: [], rps: 0 },
    { build: 'current', commit: machine.commit, runs: [], rps: 0 },
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, cli] of [baseline.cli, CLI].entries()) {
      const r = await postThroughput(o, cli, `${DATABASE}_tput`, o.throughputSeconds, false);
      results[index]!.runs.push(r);
      log(`  ${results[index]!.build}: ${r.rps.toFixed(0)} posts/s (p50 ${r.p50.toFixed(1)} ms, ${r.failed} failed)`);
    }
  }
  const fed: ThroughputResult = { build: 'current + subscribers', commit: machine.commit, runs: [], rps: 0 };
  const r = await postThroughput(o, CLI, `${DATABASE}_tput`, o.throughputSeconds, true);
  fed.runs.push(r);
  log(`  current with ${o.subscribers} subscribers streaming: ${r.rps.toFixed(0)} posts/s`);
  results.push(fed);
  for (const result of results) result.rps = median(result.runs.map((x) => x.rps));
  log(`  (${baseline.commitsBetween} commits between the baseline and the current build)`);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report

const met = (ok: boolean) => (ok ? 'met' : '**missed**');

function report(
  o: Options,
  machine: Machine,
  latency: LatencyResult[],
  idle: IdleResult | undefined,
  throughput: ThroughputResult[],
): string {
  const lines: string[] = [];
  const stamp = new Date().toISOString().slice(0, 16);
  lines.push(`# polystore live events benchmark, ${stamp} UTC`, '');
  lines.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ` +
      `commit ${machine.commit.slice(0, 12)}${machine.dirty ? ' (with uncommitted changes)' : ''}. ` +
      `Database: ${o.backend === 'postgres' ? `PostgreSQL (${redactUrl(POSTGRES_SERVER)})` : 'SQLite file'}; ` +
      `brokers: Redis ${redactUrl(REDIS_URL)}, NATS ${redactUrl(NATS_URL)}. Everything on loopback, on one machine: the ` +
      'gateways, the database, the brokers, and the benchmark process holding the subscribers and posting. ' +
      'Other work (other engineers’ builds and tests) was loading the same 2 cores at the time; the load average ' +
      'before each run is in the table.',
    '',
  );
  lines.push(
    `## Delivery latency: ${o.subscribers} SSE subscribers over ${o.conversations} conversations, ${o.rate} posts/s for ${o.seconds} s`,
    '',
    'From the moment the poster has the post’s 201 to the moment each subscriber of that conversation has the ' +
      '`message.created` event (0 when the event came first). Across instances, posts go to A and every ' +
      'subscriber is on B. Streams poll the log only every 60 s here (EVENTS_POLL_MS), so every delivery came ' +
      'through a wake-up.',
    '',
    '| scenario | p50 ms | p99 ms | max ms | deliveries | posts/s | peak RSS MB (subscribers’ instance) | load avg | target p99 |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of latency) {
    const target = r.instances === 1 ? TARGETS.p99OneInstanceMs : TARGETS.p99AcrossMs;
    const other = Object.keys(r.otherEvents).length > 0 ? ` (+ ${JSON.stringify(r.otherEvents)})` : '';
    lines.push(
      `| ${r.scenario} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.received}/${r.expected}${other} | ` +
        `${r.achievedRate.toFixed(0)}${r.failedPosts > 0 ? ` (${r.failedPosts} failed)` : ''} | ${mb(r.peakRss).toFixed(0)} | ` +
        `${r.loadAverage[0]} | ≤ ${target}: ${met(r.p99 <= target && r.received === r.expected)} |`,
    );
  }
  if (latency.some((r) => Object.keys(r.otherEvents).some((k) => k.startsWith('reset')))) {
    lines.push(
      '',
      'A `reset (expired)` above is not an expired log (nothing was pruned): a stream read an empty page and then ' +
        'the conversation’s latest seq after another post had committed in between, and took that for a gap ' +
        '(EventService.read). The stream then resumes after the latest seq, so that subscriber misses the events ' +
        'in between: they are the missing deliveries.',
    );
  }
  if (idle) {
    lines.push(
      '',
      '## Idle subscribers’ memory',
      '',
      `RSS of one instance (local notifier) with 0, ${idle.subscribers} and ${2 * idle.subscribers} idle streams ` +
        `open: ${IDLE_SETTLE_MS / 1000} s after opening each batch, and right after a full GC (the instance runs with ` +
        '`--expose-gc` and a preload that collects on SIGWINCH, bench/gc-on-signal.ts). The first line is what an idle ' +
        'instance shows; the second is what the open streams keep. Per 1,000: the larger of the two steps.',
      '',
      `| RSS MB | 0 streams | ${idle.subscribers} | ${2 * idle.subscribers} | per 1,000 | target |`,
      '|---|---|---|---|---|---|',
      `| left alone ${IDLE_SETTLE_MS / 1000} s | ${idle.rss.map((r) => mb(r).toFixed(1)).join(' | ')} | ${idle.perThousandMb.toFixed(1)} | ` +
        `≤ ${TARGETS.rssPerThousandIdleMb}: ${met(idle.perThousandMb <= TARGETS.rssPerThousandIdleMb)} |`,
      `| after a full GC | ${idle.rssAfterGc.map((r) => mb(r).toFixed(1)).join(' | ')} | ${idle.perThousandAfterGcMb.toFixed(1)} | ` +
        `≤ ${TARGETS.rssPerThousandIdleMb}: ${met(idle.perThousandAfterGcMb <= TARGETS.rssPerThousandIdleMb)} |`,
    );
  }
  if (throughput.length > 0) {
    const base = throughput.find((t) => t.build === 'baseline')!;
    const current = throughput.find((t) => t.build === 'current')!;
    const cost = 1 - current.rps / base.rps;
    lines.push(
      '',
      '## What writing the event costs a post',
      '',
      `POST /v1/conversations/:id/messages round-robin over ${o.conversations} conversations, 10 connections, ` +
        `${o.throughputSeconds} s after a 3 s warm-up, each run on a fresh database. **Baseline**: the commit before ` +
        `the event log (${base.commit.slice(0, 12)}, the parent of the commit that added its migration), exported with ` +
        '`git archive` and compiled the same way; **current**: this build, whose post also claims the next seq and ' +
        'inserts the event in the same transaction, then wakes the notifier. The two alternate (baseline, current, ' +
        `baseline, current, …, ${ROUNDS} times each); the table gives the median. ` +
        'Commits between the two other than the event log ' +
        '(hardening, error messages) are in the difference too, so it bounds the event write’s cost from above.',
      '',
      '| build | commit | posts/s (runs) | median | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|',
    );
    for (const t of throughput) {
      const last = t.runs.at(-1)!;
      lines.push(
        `| ${t.build} | ${t.commit.slice(0, 12)} | ${t.runs.map((r) => r.rps.toFixed(0)).join(', ')} | ${t.rps.toFixed(0)} | ` +
          `${last.p50.toFixed(1)} | ${last.p99.toFixed(1)} |`,
      );
    }
    lines.push(
      '',
      `Cost of the event write: ${(cost * 100).toFixed(1)} % of post throughput (target ≤ ${TARGETS.postCostShare * 100} %: ` +
        `${met(cost <= TARGETS.postCostShare)}). "current + subscribers" has ${o.subscribers} streams open on the ` +
        'same instance while it is loaded, for comparison (each post then wakes and feeds its conversation’s ' +
        `${o.subscribers / o.conversations} streams).`,
    );
  }
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
  const db = await freshDatabase(o, DATABASE);
  const layoutRef: { layout?: Layout } = {};
  const latency: LatencyResult[] = [];
  for (const notifier of o.notifiers) {
    if (notifier === 'postgres' && o.backend !== 'postgres') {
      log('\n(postgres notifier skipped: it needs --backend postgres)');
      continue;
    }
    latency.push(await latencyScenario(o, notifier, db, layoutRef));
  }
  layoutRef.layout ??= await (async () => {
    const g = await Gateway.start('layout', CLI, { ...db, ...notifierEnv('local') }, `${LOGS}events-layout.log`);
    try {
      return await createLayout(g.url, o.conversations, o.subscribers / o.conversations);
    } finally {
      await g.stop();
    }
  })();
  const idle = await idleMemory(o, db, layoutRef.layout);
  const throughput = o.baseline ? await eventWriteCost(o, machine) : [];

  const text = report(o, machine, latency, idle, throughput);
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/events-${stamp}.md`, text);
  writeFileSync(
    `${ROOT}bench/results/events-${stamp}.json`,
    `${JSON.stringify({ options: o, machine, targets: TARGETS, latency, idle, throughput }, null, 2)}\n`,
  );
  console.log(`\n${text}\nwritten to bench/results/events-${stamp}.md (+ .json)`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});

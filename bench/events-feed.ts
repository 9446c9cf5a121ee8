import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The pieces of `npm run bench:events`: a gateway as a real `polystore serve` process (compiled
 * JavaScript), SSE subscribers, and a poster at a fixed rate that records when each post was
 * acknowledged. Everything talks to 127.0.0.1 only.
 */

/** Reads `--name value` options and `--flag`s of the event benchmarks' command lines. */
export function optionReader(argv: string[]) {
  const value = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  return {
    value,
    flag: (name: string) => argv.includes(`--${name}`),
    /** A positive number (`integer`: a positive integer). */
    number(name: string, fallback: number, integer = false): number {
      const n = Number(value(name, String(fallback)));
      if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n <= 0)
        throw new Error(`--${name} takes a positive ${integer ? 'integer' : 'number'}`);
      return n;
    },
    /** The database under the gateways: PostgreSQL (the default) or a SQLite file. */
    backend(): 'postgres' | 'sqlite' {
      const backend = value('backend', 'postgres');
      if (backend !== 'postgres' && backend !== 'sqlite') throw new Error('--backend takes postgres or sqlite');
      return backend;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A `kB` field of /proc/<pid>/status, in bytes; null where /proc is not available. */
function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** `node <build>/src/cli/main.js serve` with the given settings, on a free loopback port. */
export class Gateway {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly logFd: number,
  ) {}

  /** Node's own options for every gateway (`--cpu-prof` when profiling). */
  static nodeArgs: string[] = [];

  static async start(
    name: string,
    cli: string,
    env: Record<string, string>,
    logFile: string,
    nodeArgs: string[] = [],
  ): Promise<Gateway> {
    const port = await freePort();
    const logFd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...Gateway.nodeArgs, ...nodeArgs, cli, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        AUTH_MODE: 'dev',
        METRICS_ENABLED: 'false',
        RATE_LIMIT_ENABLED: 'false',
        HTTP_MAX_CONNECTIONS: '0',
        MIGRATE_ON_START: 'true',
        // NODE_ENV=development turns the demo on, and the compiled build has no copy of its files.
        DEMO_ENABLED: 'false',
        ...env,
      },
      stdio: ['ignore', logFd, logFd],
    });
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${name} exited (${child.exitCode}) before it answered; see ${logFile}`);
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not answer within 60 s; see ${logFile}`);
      }
      await sleep(100);
    }
    return new Gateway(name, child, url, logFd);
  }

  get pid(): number {
    return this.child.pid!;
  }

  rss(): number {
    return statusField(this.pid, 'VmRSS') ?? Number.NaN;
  }

  /**
   * RSS after full GCs (the gateway must have been started with the gc-on-signal preload): three,
   * a second apart, since V8 hands freed pages back to the system over more than one collection.
   */
  async rssAfterGc(): Promise<number> {
    for (let i = 0; i < 3; i++) {
      process.kill(this.pid, 'SIGWINCH');
      await sleep(1000);
    }
    return this.rss();
  }

  /** Resets the kernel's high-water mark, so peakRss() covers what follows. */
  resetPeak(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      // Not Linux: the peak is then the process's lifetime peak.
    }
  }

  peakRss(): number {
    return statusField(this.pid, 'VmHWM') ?? Number.NaN;
  }

  async ready(): Promise<{ notifier: { type: string; state: string } }> {
    return (await fetch(`${this.url}/ready`)).json() as Promise<{ notifier: { type: string; state: string } }>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    closeSync(this.logFd);
  }
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

/** One JSON request as `userId` (AUTH_MODE=dev: the X-User-Id header). */
export function call(
  base: string,
  userId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent: keepAlive,
        headers: { 'x-user-id': userId, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface Layout {
  /** Conversation ids; conversation i is owned by `owner-i`. */
  conversations: string[];
  /** members[i]: the users of conversation i who subscribe. */
  members: string[][];
}

/** `conversations` conversations with `perConversation` members each (users provisioned first). */
export async function createLayout(base: string, conversations: number, perConversation: number): Promise<Layout> {
  const layout: Layout = { conversations: [], members: [] };
  for (let i = 0; i < conversations; i++) {
    const members = Array.from({ length: perConversation }, (_, j) => `sub-${i}-${j}`);
    const owner = `owner-${i}`;
    await Promise.all([owner, ...members].map((u) => call(base, u, 'GET', '/v1/users/me')));
    const res = await call(base, owner, 'POST', '/v1/conversations', {
      title: `bench ${i}`,
      participantIds: members,
    });
    if (res.status !== 201) throw new Error(`creating a conversation: ${res.status} ${JSON.stringify(res.json)}`);
    layout.conversations.push((res.json as { id: string }).id);
    layout.members.push(members);
  }
  return layout;
}

/** Receipt times of message.created events, by message id, across every subscriber. */
export type Receipts = Map<string, number[]>;

export interface Subscribers {
  /** Open streams (closed ones are not counted). */
  open(): number;
  receipts: Receipts;
  /** Events other than message.created and heartbeats (overflow, reset, …), by type. */
  other: Map<string, number>;
  close(): void;
}

/**
 * One SSE stream per member of every conversation, opened `batch` at a time, each from the log's
 * end (after=lastSeq, so no history is replayed). Resolves when every stream has its headers.
 */
export async function subscribe(base: string, layout: Layout, batch = 50): Promise<Subscribers> {
  const receipts: Receipts = new Map();
  const other = new Map<string, number>();
  const responses: IncomingMessage[] = [];
  let open = 0;
  const jobs: (() => Promise<void>)[] = [];
  for (let i = 0; i < layout.conversations.length; i++) {
    const id = layout.conversations[i]!;
    let after = 0;
    for (;;) {
      const page = await call(base, layout.members[i]![0]!, 'GET', `/v1/conversations/${id}/events?after=${after}`);
      const { lastSeq, hasMore } = page.json as { lastSeq: number; hasMore: boolean };
      after = lastSeq;
      if (!hasMore) break;
    }
    for (const member of layout.members[i]!) {
      jobs.push(
        () =>
          new Promise<void>((resolve, reject) => {
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
                let cut = buffer.indexOf('\n\n');
                while (cut >= 0) {
                  const block = buffer.slice(0, cut);
                  buffer = buffer.slice(cut + 2);
                  cut = buffer.indexOf('\n\n');
                  const type = /^event: (.+)$/m.exec(block)?.[1];
                  if (type === undefined) continue; // retry: line, heartbeat comment
                  const data = /^data: (.+)$/m.exec(block)?.[1];
                  if (type !== 'message.created') {
                    const reason =
                      type === 'reset' && data
                        ? ` (${(JSON.parse(data) as { data: { reason: string } }).data.reason})`
                        : '';
                    other.set(type + reason, (other.get(type + reason) ?? 0) + 1);
                    continue;
                  }
                  const messageId = data
                    ? (JSON.parse(data) as { data: { message: { id: string } } }).data.message.id
                    : '';
                  const list = receipts.get(messageId);
                  if (list) list.push(at);
                  else receipts.set(messageId, [at]);
                }
              });
              resolve();
            });
            req.end();
          }),
      );
    }
  }
  for (let i = 0; i < jobs.length; i += batch) await Promise.all(jobs.slice(i, i + batch).map((job) => job()));
  return {
    open: () => open,
    receipts,
    other,
    close: () => {
      for (const res of responses) res.destroy();
    },
  };
}

export interface Posted {
  /** Acknowledgement time (performance.now()) by message id, with its conversation's index. */
  acks: Map<string, { at: number; conversation: number }>;
  attempted: number;
  failed: number;
  seconds: number;
}

/**
 * Posts at a fixed rate (open loop: a slow answer does not slow the schedule) for `seconds`,
 * round-robin over the conversations, each post by the conversation's owner.
 */
export async function postAtRate(base: string, layout: Layout, rate: number, seconds: number): Promise<Posted> {
  const acks = new Map<string, { at: number; conversation: number }>();
  const total = Math.round(rate * seconds);
  let sent = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const body = {
    role: 'user',
    content: [
      { type: 'text', text: 'Benchmark message: how long until every subscriber of this conversation has it.' },
    ],
  };
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) {
      const conversation = sent % layout.conversations.length;
      sent++;
      const job = call(
        base,
        `owner-${conversation}`,
        'POST',
        `/v1/conversations/${layout.conversations[conversation]}/messages`,
        body,
      ).then(
        (res) => {
          if (res.status === 201) acks.set((res.json as { id: string }).id, { at: performance.now(), conversation });
          else failed++;
        },
        () => {
          failed++;
        },
      );
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  return { acks, attempted: sent, failed, seconds: (performance.now() - started) / 1000 };
}

export interface Delivery {
  posts: number;
  /** Deliveries expected (posts × subscribers of the conversation) and received. */
  expected: number;
  received: number;
  /** Milliseconds from the post's acknowledgement to receipt at each subscriber (0 if it came first). */
  p50: number;
  p99: number;
  max: number;
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Matches receipts to acknowledgements. */
export function delivery(posted: Posted, receipts: Receipts, perConversation: number): Delivery {
  const latencies: number[] = [];
  for (const [id, ack] of posted.acks) {
    for (const at of receipts.get(id) ?? []) latencies.push(Math.max(0, at - ack.at));
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    posts: posted.acks.size,
    expected: posted.acks.size * perConversation,
    received: latencies.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** Waits until every acknowledged post has `perConversation` receipts, or `ms` passed. */
export async function settle(posted: Posted, receipts: Receipts, perConversation: number, ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    let missing = 0;
    for (const id of posted.acks.keys()) if ((receipts.get(id)?.length ?? 0) < perConversation) missing++;
    if (missing === 0) return;
    await sleep(50);
  }
}

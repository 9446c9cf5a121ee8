import { parseArgs } from 'node:util';
import { BACKENDS, type BackendName } from './backends.js';
import { bench } from './bench.js';
import { rerender } from './report.js';
import { usersFor } from './dataset.js';
import { OPS, OP_DOC, type Op } from './workload.js';

/** Everything a run is configured with (recorded in the results). */
export interface BenchOptions {
  backends: BackendName[];
  ops: Op[];
  /** Seconds per measured run. */
  duration: number;
  /** Seconds of warm-up per variant and operation. */
  warmup: number;
  connections: number[];
  messages: number;
  conversations: number;
  hot: number;
  deep: number;
  users: number;
  quick: boolean;
  /** DATABASE_POOL_SIZE of the L2 server, and the L1 pool size. */
  pool: number;
  /** LOG_LEVEL of the L2 server. */
  logLevel: string;
  /** Record CPU profiles of the L1 and L2 servers during each measured run (bench/.data/profiles). */
  profile: boolean;
  /** The scale table's points (seeded as dataset.scale) and what it measures. */
  scale: ScaleOptions;
}

export const SCALE_DIMENSIONS = ['inbox', 'crowd', 'size', 'connections'] as const;
export type ScaleDimension = (typeof SCALE_DIMENSIONS)[number];

export interface ScaleOptions {
  dimensions: ScaleDimension[];
  /** Conversations per user, for list-conversations. */
  inboxes: number[];
  /** Participants per conversation, for post-message. */
  crowds: number[];
  /** Bytes of a message's text, for post-message and list-newest. */
  sizes: number[];
  /** Connections beyond the main runs', for post-message and list-newest. */
  connections: number[];
  /** Measure L1 too, beside L2. */
  l1: boolean;
  /** Seconds per point, and per slow point (pages of 50 × 200 KB, 500 connections), and of warm-up per point. */
  seconds: number;
  slowSeconds: number;
  warmup: number;
}

/** The issue's points; quick measures the same points (they are cheap to seed) with L2 only. */
const SCALE = {
  inboxes: [10, 1_000, 10_000],
  crowds: [2, 50, 1_000],
  sizes: [200, 20_000, 200_000],
  connections: [500],
};

const FULL = { messages: 1_000_000, conversations: 10_000, hot: 200_000, deep: 150_000, duration: 5, warmup: 2 };
const QUICK = { messages: 20_000, conversations: 200, hot: 10_000, deep: 7_500, duration: 0.4, warmup: 0.1 };

const HELP = `Usage: npm run bench -- [options]

Measures polystore (L2) against bare Fastify with a precomputed answer (L0, the HTTP ceiling) and
bare Fastify running the same statements through the raw driver (L1, the database ceiling), per
backend and operation, over real HTTP on 127.0.0.1 with autocannon. Results: bench/results/.

Options:
  --backends LIST      ${BACKENDS.join(',')} (default: all; unreachable ones are skipped, with the reason)
  --ops LIST           ${OPS.join(',')}
                       (default: all)
  --duration SECONDS   per measured run (default ${FULL.duration}; quick ${QUICK.duration})
  --warmup SECONDS     warm-up per variant and operation (default ${FULL.warmup}; quick ${QUICK.warmup})
  --connections LIST   concurrent connections, pipelining 1 (default 10,100)
  --messages N         messages over the regular conversations (default ${FULL.messages.toLocaleString('en-US')}; quick ${QUICK.messages.toLocaleString('en-US')})
  --conversations N    regular conversations (default ${FULL.conversations.toLocaleString('en-US')}; quick ${QUICK.conversations})
  --hot N              messages in the hot conversation (default ${FULL.hot.toLocaleString('en-US')}; quick ${QUICK.hot.toLocaleString('en-US')})
  --deep N             depth of the deep page in the hot conversation (default 3/4 of --hot)
  --pool N             database pool size of the L1 and L2 servers (default 10)
  --log-level LEVEL    LOG_LEVEL of the polystore server (default warn: no per-request log lines)
  --profile            record a V8 CPU profile of the L1 and L2 servers during each measured run,
                       into bench/.data/profiles/<backend>-<op>-c<connections>-<variant>.cpuprofile
                       (summarize one with: npx tsx bench/profile.ts FILE)
  --scale LIST         the scale table's dimensions: ${SCALE_DIMENSIONS.join(',')} (default: all), or none
  --no-scale-l1        measure only L2 in the scale table (quick's default; the full run measures L1 too)
  --quick              small dataset and short runs (about 7 minutes on 2 cores)
  --render FILE.json   only rewrite the Markdown report of an earlier run (FILE.md) from its JSON
  --help

Server URLs (the benchmark creates and uses only the database polystore_bench on each):
  BENCH_POSTGRES_URL   default postgres://postgres@127.0.0.1:5432/postgres
  BENCH_MARIADB_URL    default mysql://root@127.0.0.1:3306/test
  BENCH_MYSQL_URL      no default: MySQL is skipped unless set
  BENCH_MONGODB_URL    no default: MongoDB is skipped unless set (the test emulator is never benchmarked)

Operations:
${OPS.map((op) => `  ${op.padEnd(20)} ${OP_DOC[op]}`).join('\n')}
`;

class UsageError extends Error {}

function list<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new UsageError(`unknown ${what}: ${unknown.join(', ')} (choose from ${allowed.join(', ')})`);
  if (items.length === 0) throw new UsageError(`--${what}s needs at least one value`);
  return items as T[];
}

function count(text: string | undefined, name: string, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, not ${JSON.stringify(text)}`);
  return n;
}

function seconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 600)
    throw new UsageError(`--${name} must be a number of seconds above 0 and at most 600, not ${JSON.stringify(text)}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions | 'help' | { render: string } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      backends: { type: 'string' },
      ops: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      messages: { type: 'string' },
      conversations: { type: 'string' },
      hot: { type: 'string' },
      deep: { type: 'string' },
      pool: { type: 'string' },
      'log-level': { type: 'string' },
      profile: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      scale: { type: 'string' },
      'no-scale-l1': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      render: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  if (values.render !== undefined) return { render: values.render };
  const d = values.quick ? QUICK : FULL;
  const conversations = count(values.conversations, 'conversations', d.conversations);
  const messages = count(values.messages, 'messages', d.messages);
  const hot = count(values.hot, 'hot', d.hot, 2);
  const deep = count(
    values.deep,
    'deep',
    values.hot === undefined && values.deep === undefined ? d.deep : Math.floor((hot * 3) / 4),
  );
  if (deep >= hot) throw new UsageError(`--deep (${deep}) must be smaller than --hot (${hot})`);
  const duration = seconds(values.duration, 'duration', d.duration);
  const warmupSeconds = seconds(values.warmup, 'warmup', d.warmup);
  const connections = (values.connections ?? '10,100').split(',').map((c) => count(c.trim(), 'connections', 10));
  return {
    backends: list(values.backends ?? BACKENDS.join(','), BACKENDS, 'backend'),
    ops: list(values.ops ?? OPS.join(','), OPS, 'op'),
    duration,
    warmup: warmupSeconds,
    connections,
    messages,
    conversations,
    hot,
    deep,
    users: usersFor(conversations),
    quick: values.quick,
    pool: count(values.pool, 'pool', 10),
    logLevel: values['log-level'] ?? 'warn',
    profile: values.profile,
    scale: {
      dimensions:
        values.scale === 'none' ? [] : list(values.scale ?? SCALE_DIMENSIONS.join(','), SCALE_DIMENSIONS, 'scale'),
      ...SCALE,
      l1: !values.quick && !values['no-scale-l1'],
      // Quick keeps every point but measures each briefly: the route is warm from the main runs.
      ...(values.quick
        ? { seconds: 0.4, slowSeconds: 1.5, warmup: 0.1 }
        : { seconds: duration, slowSeconds: Math.max(duration, 5), warmup: Math.min(1, warmupSeconds) }),
    },
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}\n(see npm run bench -- --help)`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(HELP);
    return;
  }
  if ('render' in options) {
    const written = await rerender(options.render);
    console.log(`written: ${written}`);
    return;
  }
  await bench(options);
}

await main();

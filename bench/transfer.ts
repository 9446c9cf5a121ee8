/**
 * How fast `polystore copy` moves a store between two databases, and how much memory it needs.
 *
 *   npm run bench:transfer -- [--messages 1000000] [--pairs sqlite:postgres,postgres:sqlite] [--batch-size 1000]
 *
 * For each pair: the source is seeded once through the bulk port (and reused while it holds the
 * same dataset), the target is emptied, then a child process runs the copy (with its closing
 * verify) and reports its own peak RSS, so seeding never counts towards the copy's memory.
 * Results: a Markdown table printed and written to bench/results/transfer-<date>.md (+ .json).
 * Server databases are named polystore_transfer_source / polystore_transfer_target on the
 * servers of BENCH_POSTGRES_URL / BENCH_MARIADB_URL (defaults: the local servers); SQLite files
 * live in bench/.data/. Only loopback servers are used by default.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { openStore } from '../src/repositories/factory.js';
import { ensureSchema } from '../src/repositories/schema.js';
import type { Store } from '../src/repositories/ports.js';
import { copyStores } from '../src/transfer/copy.js';
import { Progress } from '../src/transfer/progress.js';
import { usersFor, type DatasetParams } from './dataset.js';
import { fillDataset } from './fill.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DATA = `${HERE}.data`;
const quiet = { info() {}, warn() {}, error() {} };

type Kind = 'sqlite' | 'postgres' | 'mariadb';
const KINDS: Kind[] = ['sqlite', 'postgres', 'mariadb'];

function serverUrl(kind: 'postgres' | 'mariadb', database: string): string {
  const base = new URL(
    kind === 'postgres'
      ? (process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
      : (process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test'),
  );
  base.pathname = `/${database}`;
  return base.toString();
}

function location(kind: Kind, role: 'source' | 'target', messages: number): string {
  if (kind === 'sqlite') return `${DATA}/transfer-${role}-${messages}.db`;
  return serverUrl(kind, `polystore_transfer_${role}`);
}

function open(kind: Kind, url: string): Promise<Store> {
  const config = loadConfig({
    env: { NODE_ENV: 'development', DATABASE_TYPE: kind, DATABASE_URL: url, DATABASE_STATEMENT_TIMEOUT_MS: '600000' },
    dotenvPath: false,
  });
  return openStore(config.database, quiet);
}

/** Drops and creates a server database (or deletes a SQLite file). */
async function recreate(kind: Kind, role: 'source' | 'target', messages: number): Promise<void> {
  if (kind === 'sqlite') {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${location(kind, role, messages)}${suffix}`, { force: true });
    return;
  }
  const name = `polystore_transfer_${role}`;
  if (kind === 'postgres') {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: serverUrl('postgres', 'postgres') });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
  } else {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(serverUrl('mariadb', ''));
    await connection.query(`DROP DATABASE IF EXISTS ${name}`);
    await connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await connection.end();
  }
}

function params(messages: number): DatasetParams {
  const conversations = Math.max(1, Math.round(messages / 100));
  return {
    messages,
    conversations,
    hot: 0,
    users: usersFor(conversations),
    scale: { inboxes: [], crowds: [], sizes: [] },
  };
}

/** Seeds the source unless it already holds exactly this many messages. */
async function seed(kind: Kind, messages: number): Promise<void> {
  if (kind === 'sqlite') mkdirSync(DATA, { recursive: true });
  try {
    const store = await open(kind, location(kind, 'source', messages));
    const counts = await store.bulk.counts().catch(() => undefined);
    await store.close();
    if (counts?.messages === messages) return console.log(`  source ${kind}: reusing ${messages} messages`);
  } catch {
    // No database or file yet: seed it below.
  }
  await recreate(kind, 'source', messages);
  const store = await open(kind, location(kind, 'source', messages));
  try {
    await ensureSchema(store, { migrate: true });
    await fillDataset(params(messages), (k, records) => store.bulk.insertBatch(k, records, 'fail'), `source ${kind}`, {
      batch: 2000,
    });
  } finally {
    await store.close();
  }
}

interface CopyResult {
  pair: string;
  messages: number;
  copySeconds: number;
  verifySeconds: number;
  messagesPerSecond: number;
  peakRssMb: number;
}

/** The child: copy (+ verify) and report timings and peak RSS as one JSON line. */
async function copyPhase(from: Kind, to: Kind, messages: number, batchSize: number): Promise<void> {
  const source = await open(from, location(from, 'source', messages));
  const target = await open(to, location(to, 'target', messages));
  await ensureSchema(target, { migrate: true });
  const started = performance.now();
  let copiedAt = 0;
  const progress = new Progress({ label: `copy ${from} → ${to}`, total: undefined });
  const original = progress.finish.bind(progress);
  progress.finish = () => {
    copiedAt = performance.now();
    original();
  };
  const report = await copyStores(source, target, {
    batchSize,
    progress,
    verifyProgress: new Progress({ label: 'verify' }),
  });
  const done = performance.now();
  await Promise.all([source.close(), target.close()]);
  if (!report.verify.equal) throw new Error(`verify failed: ${report.verify.firstDifference}`);
  const copySeconds = (copiedAt - started) / 1000;
  const result: CopyResult = {
    pair: `${from} → ${to}`,
    messages: report.results.messages.inserted,
    copySeconds,
    verifySeconds: (done - copiedAt) / 1000,
    messagesPerSecond: report.results.messages.inserted / copySeconds,
    // maxRSS is in kilobytes on Linux.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runChild(args: string[]): Promise<CopyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as CopyResult);
      else reject(new Error(`copy child exited ${code}: ${out.slice(-500)}`));
    });
  });
}

function option(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

async function main(argv: string[]): Promise<void> {
  const messages = Number(option(argv, 'messages', '1000000'));
  const batchSize = Number(option(argv, 'batch-size', '1000'));
  if (!Number.isInteger(messages) || messages < 100)
    throw new Error('--messages must be a whole number of at least 100');
  if (argv.includes('--phase')) {
    const [from, to] = option(argv, 'pair', '').split(':') as [Kind, Kind];
    return copyPhase(from, to, messages, batchSize);
  }
  const pairs = option(argv, 'pairs', 'sqlite:postgres,postgres:sqlite')
    .split(',')
    .map((p) => p.split(':') as [Kind, Kind]);
  for (const [from, to] of pairs)
    if (!KINDS.includes(from) || !KINDS.includes(to))
      throw new Error(`--pairs takes from:to pairs of ${KINDS.join(', ')}`);
  const results: CopyResult[] = [];
  for (const [from, to] of pairs) {
    console.log(`\n${from} → ${to}, ${messages.toLocaleString('en-US')} messages`);
    await seed(from, messages);
    await recreate(to, 'target', messages);
    results.push(
      await runChild([
        '--phase',
        '--pair',
        `${from}:${to}`,
        '--messages',
        String(messages),
        '--batch-size',
        String(batchSize),
      ]),
    );
  }
  const rows = results.map(
    (r) =>
      `| ${r.pair} | ${r.messages.toLocaleString('en-US')} | ${r.copySeconds.toFixed(1)} | ${Math.round(r.messagesPerSecond).toLocaleString('en-US')} | ${r.verifySeconds.toFixed(1)} | ${r.peakRssMb.toFixed(0)} |`,
  );
  const table = [
    '| pair | messages | copy s | messages/s | verify s | peak RSS MB |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
  const header = `# polystore copy benchmark, ${new Date().toISOString().slice(0, 16)} UTC\n\nNode ${process.version}, batch size ${batchSize}. The copy includes writing every record (users, conversations, participants, messages, audit) in one transaction per batch; verify re-reads both stores. Peak RSS is the copying process's high-water mark. Target: at most about 300 MB.\n\n`;
  mkdirSync(`${HERE}results`, { recursive: true });
  writeFileSync(`${HERE}results/transfer-${stamp}.md`, `${header}${table}\n`);
  writeFileSync(
    `${HERE}results/transfer-${stamp}.json`,
    `${JSON.stringify({ node: process.version, batchSize, results }, null, 2)}\n`,
  );
  console.log(`\n${table}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

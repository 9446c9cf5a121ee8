import { mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { redactUrl } from '../src/config/load.js';
import { registeredTypes, type DatabaseType } from '../database/registry.js';

/**
 * Where each backend lives. Server URLs come from the environment; the benchmark works in its own
 * database `polystore_bench` on each server, created on first use, and touches nothing else.
 */

/** Every registered backend (database/registry.ts); each needs a resolver below and an L1 driver. */
export const BACKENDS = registeredTypes();
export type BackendName = DatabaseType;

export const BENCH_DATABASE = 'polystore_bench';

/** bench/.data: scratch space (SQLite file, logs, profiles); gitignored. */
export const DATA_DIR = fileURLToPath(new URL('./.data/', import.meta.url));
const SQLITE_FILE = `${DATA_DIR}sqlite/${BENCH_DATABASE}.db`;

export interface Backend {
  name: BackendName;
  /** The benchmark database's URL (for SQLite, a file path; empty for memory). */
  url: string;
  /** The server's URL as given, password hidden, for the report. */
  shownUrl: string;
  serverVersion: string;
  /** Drops and recreates the benchmark database (never anything else). */
  reset(): Promise<void>;
}

export type Resolved = { ok: true; backend: Backend } | { ok: false; reason: string };

/** Server backends: the variable naming the server, a default where this machine has one, and how to prepare it. */
type ServerResolver = { variable: string; fallback?: string; resolve(serverUrl: string): Promise<Backend> };
const SERVERS: Record<Exclude<BackendName, 'memory' | 'sqlite'>, ServerResolver> = {
  postgres: {
    variable: 'BENCH_POSTGRES_URL',
    fallback: 'postgres://postgres@127.0.0.1:5432/postgres',
    resolve: resolvePostgres,
  },
  mariadb: {
    variable: 'BENCH_MARIADB_URL',
    fallback: 'mysql://root@127.0.0.1:3306/test',
    resolve: (url) => resolveMysql('mariadb', url),
  },
  mysql: { variable: 'BENCH_MYSQL_URL', resolve: (url) => resolveMysql('mysql', url) },
  mongodb: { variable: 'BENCH_MONGODB_URL', resolve: resolveMongo },
};

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)) || String(error);

async function resolvePostgres(serverUrl: string): Promise<Backend> {
  const admin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const create = (c: pg.Client) => c.query(`CREATE DATABASE ${BENCH_DATABASE} ENCODING 'UTF8' TEMPLATE template0`);
  const version = await admin(async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE]);
    if (exists.rowCount === 0) await create(c);
    return String((await c.query('SHOW server_version')).rows[0].server_version);
  });
  return {
    name: 'postgres',
    url: withDatabase(serverUrl, BENCH_DATABASE),
    shownUrl: redactUrl(serverUrl),
    serverVersion: `PostgreSQL ${version}`,
    reset: () =>
      admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
        await create(c);
      }),
  };
}

async function resolveMysql(name: 'mariadb' | 'mysql', serverUrl: string): Promise<Backend> {
  const u = new URL(serverUrl);
  const admin = async <T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const c = await mysql.createConnection({
      host: u.hostname || '127.0.0.1',
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      connectTimeout: 3000,
    });
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };
  const create = (c: mysql.Connection) =>
    c.query(`CREATE DATABASE IF NOT EXISTS ${BENCH_DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const version = await admin(async (c) => {
    await create(c);
    const [rows] = await c.query('SELECT VERSION() AS v');
    return String((rows as { v: string }[])[0]!.v);
  });
  const isMaria = /mariadb/i.test(version);
  if (name === 'mariadb' && !isMaria)
    throw new Error(
      `the server at ${redactUrl(serverUrl)} is MySQL ${version}, not MariaDB; set BENCH_MYSQL_URL for it`,
    );
  if (name === 'mysql' && isMaria)
    throw new Error(
      `the server at ${redactUrl(serverUrl)} is MariaDB ${version}, not MySQL; set BENCH_MARIADB_URL for it`,
    );
  return {
    name,
    url: withDatabase(serverUrl, BENCH_DATABASE),
    shownUrl: redactUrl(serverUrl),
    serverVersion: `${isMaria ? 'MariaDB' : 'MySQL'} ${version}`,
    reset: () =>
      admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE}`);
        await create(c);
      }),
  };
}

async function resolveMongo(serverUrl: string): Promise<Backend> {
  const client = new MongoClient(serverUrl, { serverSelectionTimeoutMS: 3000 });
  try {
    await client.connect();
    const info = await client.db('admin').command({ buildInfo: 1 });
    return {
      name: 'mongodb',
      url: withDatabase(serverUrl, BENCH_DATABASE),
      shownUrl: redactUrl(serverUrl),
      serverVersion: `MongoDB ${String(info.version)}`,
      reset: async () => {
        const c = new MongoClient(serverUrl, { serverSelectionTimeoutMS: 3000 });
        await c.connect();
        try {
          await c.db(BENCH_DATABASE).dropDatabase();
        } finally {
          await c.close();
        }
      },
    };
  } finally {
    await client.close();
  }
}

/** Finds a backend and prepares its benchmark database, or says why it cannot be used. */
export async function resolveBackend(name: BackendName, env: NodeJS.ProcessEnv = process.env): Promise<Resolved> {
  if (name === 'memory')
    return {
      ok: true,
      backend: { name, url: '', shownUrl: '(in process)', serverVersion: 'in-process', reset: async () => {} },
    };
  if (name === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const probe = new Database(':memory:');
    const version = String((probe.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v);
    probe.close();
    await mkdir(`${DATA_DIR}sqlite`, { recursive: true });
    return {
      ok: true,
      backend: {
        name,
        url: SQLITE_FILE,
        shownUrl: 'bench/.data/sqlite (file)',
        serverVersion: `SQLite ${version} (better-sqlite3)`,
        reset: async () => {
          for (const suffix of ['', '-wal', '-shm']) await rm(SQLITE_FILE + suffix, { force: true });
        },
      },
    };
  }
  const source = SERVERS[name];
  const serverUrl = env[source.variable] || source.fallback;
  if (!serverUrl) {
    const extra =
      name === 'mongodb'
        ? ' (the MongoDB test emulator is not benchmarked: its numbers would say nothing about MongoDB)'
        : '';
    return { ok: false, reason: `no server: set ${source.variable} to a ${name} URL${extra}` };
  }
  try {
    return { ok: true, backend: await source.resolve(serverUrl) };
  } catch (error) {
    return {
      ok: false,
      reason: `cannot use ${redactUrl(serverUrl)} (${source.variable}${env[source.variable] ? '' : ', default'}): ${message(error)}`,
    };
  }
}

import '../provided-context.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { buildDataSource } from '../../../database/typeorm/data-source.js';
import { dialectFor, openTypeormStore } from '../../../database/typeorm/typeorm-store.js';
import type { DatabaseConfig, DatabaseType } from '../../../src/config/schema.js';
import type { Store, StoreLogger } from '../../../src/repositories/ports.js';
import type { StoreInitializer } from '../initializer.js';
import type { ServerKind } from '../servers.js';

/**
 * Stores for the TypeORM dialects. Every create() gets a store of its own — a new SQLite file, a
 * new PostgreSQL schema, a new MariaDB/MySQL database — named after the process and a counter so
 * parallel workers never meet, migrated and empty; destroy() drops it again.
 */

const log: StoreLogger = {
  info() {},
  warn: (obj, msg) => console.warn(`[typeorm store] ${msg}`, obj),
  error: (obj, msg) => console.error(`[typeorm store] ${msg}`, obj),
};

function databaseConfig(type: DatabaseType, url: string): DatabaseConfig {
  return { type, url, poolSize: 10, connectTimeoutMs: 5000, statementTimeoutMs: 30_000, tls: 'disable', tlsCaFile: undefined, sqliteBusyTimeoutMs: 5000 };
}

let counter = 0;
/** Unique per process and call; lower-case so it needs no quoting on any server. */
const uniqueName = () => `ps_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;

/** The config each store was opened with, for pendingSchemaChanges(). */
const configs = new WeakMap<Store, DatabaseConfig>();

async function openMigrated(config: DatabaseConfig): Promise<Store> {
  const store = await openTypeormStore(config, log);
  try {
    await store.migrator.up();
    configs.set(store, config);
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** What destroy() must drop for each store create() made. */
const cleanups = new WeakMap<Store, () => Promise<void>>();

async function destroyStore(store: Store): Promise<void> {
  await store.close();
  await cleanups.get(store)?.();
}

/**
 * The statements TypeORM's schema builder would run to turn the migrated schema of `store` into
 * the one its entity schemas describe: empty when migrations and entities agree.
 */
export async function pendingSchemaChanges(store: Store): Promise<string[]> {
  const config = configs.get(store);
  if (!config) throw new Error('not a store made by a TypeORM initializer');
  const dataSource = await buildDataSource(config, dialectFor(config.type), log);
  await dataSource.initialize();
  try {
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return sql.upQueries.map((q) => q.query);
  } finally {
    await dataSource.destroy();
  }
}

function serverUrl(kind: ServerKind): { url: string; source: string } | { skip: string } {
  const info = inject('servers')[kind];
  return 'url' in info ? { url: info.url, source: info.source } : { skip: info.skip };
}

function displayName(kind: ServerKind): string {
  try {
    const info = inject('servers')[kind];
    return 'url' in info ? `${kind} (${info.source})` : kind;
  } catch {
    return kind;
  }
}

// ---------------------------------------------------------------------------------------------

let sqliteDir: string | undefined;

export const sqliteInitializer: StoreInitializer = {
  name: 'sqlite',
  async beforeAll() {
    sqliteDir = await mkdtemp(join(tmpdir(), 'polystore-sqlite-'));
    return { ready: 'better-sqlite3 (temporary files)' };
  },
  async create() {
    const file = join(sqliteDir!, `${uniqueName()}.db`);
    const store = await openMigrated(databaseConfig('sqlite', file));
    cleanups.set(store, () => Promise.all(['', '-wal', '-shm'].map((suffix) => rm(file + suffix, { force: true }))).then(() => undefined));
    return store;
  },
  destroy: destroyStore,
  async afterAll() {
    if (sqliteDir) await rm(sqliteDir, { recursive: true, force: true });
  },
};

// ---------------------------------------------------------------------------------------------

type PgClient = import('pg').Client;
let pgAdmin: Promise<PgClient> | undefined;

async function postgresAdmin(url: string): Promise<PgClient> {
  pgAdmin ??= (async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    client.on('error', (err) => log.warn({ err }, 'test admin connection failed'));
    await client.connect();
    return client;
  })();
  return pgAdmin;
}

/** Opens a migrated store on a schema or database made for it; `drop` removes that on destroy (or at once on failure). */
async function openOwned(config: ReturnType<typeof databaseConfig>, drop: () => Promise<void>): Promise<Store> {
  try {
    const store = await openMigrated(config);
    cleanups.set(store, drop);
    return store;
  } catch (error) {
    await drop();
    throw error;
  }
}

/** A schema per store (cheaper than a database), selected through the connection's search_path. */
export const postgresInitializer: StoreInitializer = {
  get name() {
    return displayName('postgres');
  },
  async beforeAll() {
    const server = serverUrl('postgres');
    if ('skip' in server) return server;
    await postgresAdmin(server.url);
    return { ready: server.source };
  },
  async create() {
    const server = serverUrl('postgres') as { url: string };
    const schema = uniqueName();
    const admin = await postgresAdmin(server.url);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(server.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return openOwned(databaseConfig('postgres', url.toString()), async () => void (await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)));
  },
  destroy: destroyStore,
  async afterAll() {
    const admin = pgAdmin;
    pgAdmin = undefined;
    if (admin) await (await admin).end();
  },
};

// ---------------------------------------------------------------------------------------------

type MysqlConnection = import('mysql2/promise').Connection;

/** A database per store: CREATE DATABASE is only a directory on MariaDB and MySQL. */
function mysqlFamilyInitializer(kind: 'mariadb' | 'mysql'): StoreInitializer {
  let admin: Promise<MysqlConnection> | undefined;
  const connectAdmin = (url: string) =>
    (admin ??= (async () => {
      const mysql = await import('mysql2/promise');
      const connection = await mysql.createConnection(url);
      connection.on('error', (err: unknown) => log.warn({ err }, 'test admin connection failed'));
      return connection;
    })());

  return {
    get name() {
      return displayName(kind);
    },
    async beforeAll() {
      const server = serverUrl(kind);
      if ('skip' in server) return server;
      await connectAdmin(server.url);
      return { ready: server.source };
    },
    async create() {
      const server = serverUrl(kind) as { url: string };
      const database = uniqueName();
      const connection = await connectAdmin(server.url);
      await connection.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      const url = new URL(server.url);
      url.pathname = `/${database}`;
      return openOwned(databaseConfig(kind, url.toString()), async () => void (await connection.query(`DROP DATABASE IF EXISTS ${database}`)));
    },
    destroy: destroyStore,
    async afterAll() {
      const connection = admin;
      admin = undefined;
      if (connection) await (await connection).end();
    },
  };
}

export const mariadbInitializer = mysqlFamilyInitializer('mariadb');
export const mysqlInitializer = mysqlFamilyInitializer('mysql');

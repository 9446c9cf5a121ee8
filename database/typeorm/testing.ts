import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerOptions, TestKit } from '../../src/repositories/backend.js';
import type { SqliteConfig, SqlServerConfig } from './config.js';

/**
 * What the test harness needs from the SQL backends: isolated places to open stores in (a new
 * SQLite file, a new PostgreSQL schema, a new MariaDB/MySQL database per store, named after the
 * process and a counter so parallel workers never meet) and disposable servers in containers.
 * Loaded only by tests (it reaches for dev dependencies such as Testcontainers).
 */

let counter = 0;
/** Unique per process and call; lower-case so it needs no quoting on any server. */
const uniqueName = () => `ps_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;

export const testServerOptions = (url: string): ServerOptions => ({
  url,
  poolSize: 10,
  connectTimeoutMs: 5000,
  statementTimeoutMs: 30_000,
  tls: 'disable',
  tlsCaFile: undefined,
});

const sqlite: TestKit<SqliteConfig> = {
  async connect() {
    const dir = await mkdtemp(join(tmpdir(), 'polystore-sqlite-'));
    return {
      async create() {
        const file = join(dir, `${uniqueName()}.db`);
        const drop = async () => {
          await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(file + suffix, { force: true })));
        };
        return { config: { type: 'sqlite', file, busyTimeoutMs: 5000, synchronous: 'FULL' }, drop };
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

const postgres: TestKit<SqlServerConfig & { type: 'postgres' }> = {
  async startContainer(image) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(image).start();
    return { url: container.getConnectionUri(), stop: () => container.stop() };
  },
  async connect(serverUrl) {
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: serverUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    return {
      // A schema per store (cheaper than a database), selected through the connection's search_path.
      async create() {
        const schema = uniqueName();
        await admin.query(`CREATE SCHEMA ${schema}`);
        const url = new URL(serverUrl!);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const drop = async () => void (await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
        return { config: { type: 'postgres', ...testServerOptions(url.toString()) }, drop };
      },
      close: () => admin.end(),
    };
  },
};

function mysqlFamily<T extends 'mysql' | 'mariadb'>(type: T): TestKit<SqlServerConfig & { type: T }> {
  return {
    async startContainer(image) {
      const { MariaDbContainer } = await import('@testcontainers/mariadb');
      const container = await new MariaDbContainer(image).withUsername('root').withUserPassword('test').start();
      const url = `mysql://root:test@${container.getHost()}:${container.getPort()}/${container.getDatabase()}`;
      return { url, stop: () => container.stop() };
    },
    async connect(serverUrl) {
      const mysql = await import('mysql2/promise');
      const admin = await mysql.createConnection(serverUrl!);
      admin.on('error', () => undefined);
      return {
        // A database per store: CREATE DATABASE is only a directory on MariaDB and MySQL.
        async create() {
          const database = uniqueName();
          await admin.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
          const url = new URL(serverUrl!);
          url.pathname = `/${database}`;
          const drop = async () => void (await admin.query(`DROP DATABASE IF EXISTS ${database}`));
          return { config: { type, ...testServerOptions(url.toString()) }, drop };
        },
        close: () => admin.end(),
      };
    },
  };
}

export const typeormTestKit = { sqlite, postgres, mysql: mysqlFamily('mysql'), mariadb: mysqlFamily('mariadb') };

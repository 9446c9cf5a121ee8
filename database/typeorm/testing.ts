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

/** The root password of the MySQL and MariaDB test containers (they live only for one run). */
export const CONTAINER_ROOT_PASSWORD = 'polystore-test';

/**
 * The container of a MySQL or MariaDB test server, configured but not started. Each image reads its
 * own variables (the official `mysql` image only MYSQL_*, `mariadb` MARIADB_* and the MYSQL_*
 * aliases), so each kind gets its own Testcontainers module. Both entrypoints refuse `root` as the
 * ordinary user (they create that user besides root), so the user stays the module's default and
 * only root's password is set: the harness connects as root, which may create a database per store.
 */
export async function mysqlFamilyContainer(type: 'mysql' | 'mariadb', image: string) {
  if (type === 'mysql') {
    const { MySqlContainer } = await import('@testcontainers/mysql');
    return new MySqlContainer(image).withRootPassword(CONTAINER_ROOT_PASSWORD);
  }
  const { MariaDbContainer } = await import('@testcontainers/mariadb');
  return new MariaDbContainer(image).withRootPassword(CONTAINER_ROOT_PASSWORD);
}

function mysqlFamily<T extends 'mysql' | 'mariadb'>(type: T): TestKit<SqlServerConfig & { type: T }> {
  return {
    async startContainer(image) {
      const container = await (await mysqlFamilyContainer(type, image)).start();
      const url = new URL('mysql://');
      url.hostname = container.getHost();
      url.port = String(container.getPort());
      url.pathname = `/${container.getDatabase()}`;
      url.username = 'root';
      url.password = container.getRootPassword();
      return { url: url.toString(), stop: () => container.stop() };
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

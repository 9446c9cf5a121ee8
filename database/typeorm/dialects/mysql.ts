import { MYSQL_MIGRATIONS } from '../../../migrations/mysql/index.js';
import type { ServerOptions } from '../../../src/repositories/backend.js';
import { mapMysqlError } from '../map-mysql-error.js';
import type { QueryRunner } from 'typeorm';
import { CLIENT_TIMEOUT_GRACE_MS, MIGRATION_LOCK_TIMEOUT_S, type Dialect } from './dialect.js';
import { mysqlTls } from './mysql-url.js';

/** Host, port, credentials and database from a mysql:// or mariadb:// URL. */
function connection(url: string) {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ...(database ? { database } : {}),
  };
}

/**
 * MySQL 8 and MariaDB through mysql2 (TypeORM type `mariadb` for MariaDB). DATETIME(3) holds UTC
 * milliseconds because the driver's time zone is `Z`; JSON is LONGTEXT with a JSON_VALID check
 * (MySQL's JSON type re-serializes and reorders keys); keys are utf8mb4_bin so ids are
 * case-sensitive and sort in code-point order.
 */
export function mysqlDialect(type: 'mysql' | 'mariadb', config: ServerOptions): Dialect {
  return {
    kind: type,
    migrations: MYSQL_MIGRATIONS,

    async dataSourceOptions() {
      return {
        type,
        ...connection(config.url),
        poolSize: config.poolSize,
        connectTimeout: config.connectTimeoutMs,
        ssl: (await mysqlTls(config)) || undefined,
        charset: 'utf8mb4_bin',
        timezone: 'Z',
        dateStrings: false,
        // mysql2's own timer, for a server that stopped answering; the server-side limits set in
        // afterInitialize end a slow or blocked statement first and keep the connection usable.
        enableQueryTimeout: true,
        maxQueryExecutionTime: config.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
      };
    },

    async lockMigrations(work) {
      const mysql = await import('mysql2/promise');
      const { username, ...rest } = connection(config.url);
      const ssl = (await mysqlTls(config)) || undefined;
      const client = await mysql.createConnection({
        ...rest,
        user: username,
        connectTimeout: config.connectTimeoutMs,
        ssl,
      });
      client.on('error', () => undefined);
      try {
        // Keyed by database; released when this connection ends.
        const [rows] = await client.query("SELECT GET_LOCK(CONCAT('polystore.migrations.', DATABASE()), ?) AS got", [
          MIGRATION_LOCK_TIMEOUT_S,
        ]);
        if ((rows as { got: number | null }[])[0]?.got !== 1)
          throw new Error('timed out waiting for the migration lock');
        return await work();
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    begin: undefined,
    async afterInitialize(dataSource) {
      // Server-side limits per session: MariaDB's max_statement_time covers every statement, lock
      // waits included; MySQL's max_execution_time only SELECTs, so a lock wait is bounded there by
      // innodb_lock_wait_timeout (whole seconds; InnoDB's default is 50 s).
      const seconds = config.statementTimeoutMs / 1000;
      const lockWait = Math.max(1, Math.floor(seconds));
      const limits =
        type === 'mariadb'
          ? `SET SESSION max_statement_time = ${seconds}, innodb_lock_wait_timeout = ${lockWait}`
          : `SET SESSION max_execution_time = ${Math.round(config.statementTimeoutMs)}, innodb_lock_wait_timeout = ${lockWait}`;
      const pool = (dataSource.driver as unknown as { pool: MysqlPool }).pool;
      const apply = (connection: MysqlPoolConnection) => connection.query(limits, () => undefined);
      // New connections get the limits before any other command (mysql2 runs a connection's
      // commands in order); the ones TypeORM opened while initializing get them now.
      pool.on('connection', apply);
      const opened = pool._allConnections;
      for (let i = 0; i < (opened?.length ?? 0); i++) apply(opened!.peekAt(i));
    },
    // mysql2 gives up on a query after its timer but leaves it running on the connection.
    spoilsConnection: (error) => driverCode(error) === 'PROTOCOL_SEQUENCE_TIMEOUT',
    destroyConnection(runner) {
      (runner as QueryRunner & { databaseConnection?: { destroy(): void } }).databaseConnection?.destroy();
    },
    // mysql2's pool queues requests for a connection without a time limit.
    acquireTimeoutMs: config.connectTimeoutMs,

    placeholders: (sql) => sql,
    time: (value) => value,
    // Without the cast, GREATEST() would compare a DATETIME with the bound string as text.
    timeParam: 'CAST(? AS DATETIME(3))',
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    insertIgnore: (table, columns, source) => `INSERT IGNORE INTO ${table} (${columns.join(', ')}) ${source}`,
    columnTypes: {
      key: { type: 'varchar', collation: 'utf8mb4_bin' },
      text: { type: 'varchar', collation: 'utf8mb4_bin' },
      int: { type: 'int' },
      time: { type: 'datetime', precision: 3 },
      json: { type: 'longtext' },
    },

    translate: mapMysqlError,
    serialize: (work) => work(),
  };
}

interface MysqlPoolConnection {
  query(sql: string, callback: (error: unknown) => void): void;
}
interface MysqlPool {
  on(event: 'connection', listener: (connection: MysqlPoolConnection) => void): void;
  /** mysql2's internal ring of the pool's connections (no public way to list them). */
  _allConnections?: { length: number; peekAt(index: number): MysqlPoolConnection };
}

/** mysql2's error code inside TypeORM's QueryFailedError (or the error's own). */
function driverCode(error: unknown): unknown {
  const e = error as { driverError?: { code?: unknown }; code?: unknown } | null;
  return e?.driverError?.code ?? e?.code;
}

import { MYSQL_MIGRATIONS } from '../../../migrations/mysql/index.js';
import type { ServerOptions } from '../../../src/repositories/backend.js';
import { mapMysqlError } from '../map-mysql-error.js';
import type { DataSource, QueryRunner } from 'typeorm';
import { UnavailableError } from '../../../src/domain/errors.js';
import { CLIENT_TIMEOUT_GRACE_MS, MIGRATION_LOCK_TIMEOUT_S, type Dialect, type ScriptPool } from './dialect.js';
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
  // Server-side limits per session: MariaDB's max_statement_time covers every statement, lock
  // waits included; MySQL's max_execution_time only SELECTs, so a lock wait is bounded there by
  // innodb_lock_wait_timeout (whole seconds; InnoDB's default is 50 s).
  const seconds = config.statementTimeoutMs / 1000;
  const lockWait = Math.max(1, Math.floor(seconds));
  const limits =
    type === 'mariadb'
      ? `SET SESSION max_statement_time = ${seconds}, innodb_lock_wait_timeout = ${lockWait}`
      : `SET SESSION max_execution_time = ${Math.round(config.statementTimeoutMs)}, innodb_lock_wait_timeout = ${lockWait}`;
  const applyLimits = (connection: MysqlPoolConnection) => connection.query(limits, () => undefined);
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
      const pool = (dataSource.driver as unknown as { pool: MysqlPool }).pool;
      // New connections get the limits before any other command (mysql2 runs a connection's
      // commands in order); the ones TypeORM opened while initializing get them now.
      pool.on('connection', applyLimits);
      const opened = pool._allConnections;
      for (let i = 0; i < (opened?.length ?? 0); i++) applyLimits(opened!.peekAt(i));
    },
    scripts: (dataSource) => scriptPool(dataSource, config, applyLimits),
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
  on(event: 'error', listener: (error: unknown) => void): void;
}
interface MysqlPool {
  on(event: 'connection', listener: (connection: MysqlPoolConnection) => void): void;
  promise(): PromisePool;
  /** mysql2's internal ring of the pool's connections (no public way to list them). */
  _allConnections?: { length: number; peekAt(index: number): MysqlPoolConnection };
}

/** mysql2's error code inside TypeORM's QueryFailedError (or the error's own). */
function driverCode(error: unknown): unknown {
  const e = error as { driverError?: { code?: unknown }; code?: unknown } | null;
  return e?.driverError?.code ?? e?.code;
}

interface PromisePool {
  getConnection(): Promise<PromiseConnection>;
  end(): Promise<void>;
}
interface PromiseConnection {
  query(options: { sql: string; timeout: number }, params: unknown[]): Promise<[unknown, unknown]>;
  query(sql: string): Promise<unknown>;
  release(): void;
  destroy(): void;
}
/** What we use of TypeORM's MysqlDriver: the loaded mysql2 module and the options it builds for its own pool. */
interface MysqlDriverInternals {
  mysql: { createPool(options: Record<string, unknown>): MysqlPool };
  options: unknown;
  createConnectionOptions(options: unknown, credentials: unknown): Record<string, unknown>;
}

/**
 * The multi-statement pool (Dialect.scripts): the DataSource's connection options (host, TLS,
 * time zone, charset, pool size) with `multipleStatements` on, the same session limits, and the
 * same acquire and client-side timeouts. Values are bound client-side by mysql2's `query`
 * (escaped literals), as everywhere in the adapter; only the scripts' own texts (constants of
 * post-message.ts) ever run here, so the wider power of a multi-statement connection is not
 * reachable from any other statement.
 */
function scriptPool(
  dataSource: DataSource,
  config: ServerOptions,
  applyLimits: (connection: MysqlPoolConnection) => void,
): ScriptPool {
  const driver = dataSource.driver as unknown as MysqlDriverInternals;
  const base = driver.mysql.createPool({
    ...driver.createConnectionOptions(driver.options, driver.options),
    multipleStatements: true,
  });
  base.on('connection', (connection) => {
    connection.on('error', () => undefined);
    applyLimits(connection);
  });
  const pool = base.promise();
  const timeout = config.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS;
  const acquire = async (): Promise<PromiseConnection> => {
    let timer: NodeJS.Timeout | undefined;
    const connecting = pool.getConnection();
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), config.connectTimeoutMs);
    });
    try {
      const got = await Promise.race([connecting, deadline]);
      if (got === 'late') {
        connecting.then(
          (c) => c.release(),
          () => undefined,
        );
        throw new UnavailableError(
          `no ${dataSource.options.type} connection became free within ${config.connectTimeoutMs} ms`,
          2,
        );
      }
      return got;
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new UnavailableError(`cannot connect to ${dataSource.options.type}`, 2, error);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async run(text, params) {
      const connection = await acquire();
      let usable = true;
      try {
        const [results] = await connection.query({ sql: text, timeout }, [...params]);
        return results as unknown[];
      } catch (error) {
        // The server stops a script at its first error and leaves the transaction open (or, after
        // a deadlock, already rolled back): end it before anyone else gets the connection. After
        // mysql2's own timeout the statement may still run there; that connection is thrown away.
        if (driverCode(error) === 'PROTOCOL_SEQUENCE_TIMEOUT') {
          usable = false;
          connection.destroy();
        } else {
          await connection.query('ROLLBACK').catch(() => {
            usable = false;
            connection.destroy();
          });
        }
        throw error;
      } finally {
        if (usable) connection.release();
      }
    },
    close: () => pool.end(),
  };
}

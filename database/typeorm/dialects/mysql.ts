import { MYSQL_MIGRATIONS } from '../../../migrations/mysql/index.js';
import type { ServerOptions } from '../../../src/repositories/backend.js';
import { mapMysqlError } from '../map-mysql-error.js';
import { MIGRATION_LOCK_TIMEOUT_S, type Dialect } from './dialect.js';
import { tlsOptions } from './tls.js';

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
        ssl: (await tlsOptions(config)) || undefined,
        charset: 'utf8mb4_bin',
        timezone: 'Z',
        dateStrings: false,
        // mysql2 cancels a query that runs longer than this (the connection is then discarded).
        enableQueryTimeout: true,
        maxQueryExecutionTime: config.statementTimeoutMs,
      };
    },

    async lockMigrations(work) {
      const mysql = await import('mysql2/promise');
      const { username, ...rest } = connection(config.url);
      const ssl = (await tlsOptions(config)) || undefined;
      const client = await mysql.createConnection({ ...rest, user: username, connectTimeout: config.connectTimeoutMs, ssl });
      client.on('error', () => undefined);
      try {
        // Keyed by database; released when this connection ends.
        const [rows] = await client.query("SELECT GET_LOCK(CONCAT('polystore.migrations.', DATABASE()), ?) AS got", [
          MIGRATION_LOCK_TIMEOUT_S,
        ]);
        if ((rows as { got: number | null }[])[0]?.got !== 1) throw new Error('timed out waiting for the migration lock');
        return await work();
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    placeholders: (sql) => sql,
    time: (value) => value,
    // Without the cast, GREATEST() would compare a DATETIME with the bound string as text.
    timeParam: 'CAST(? AS DATETIME(3))',
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
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

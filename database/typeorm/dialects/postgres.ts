import { POSTGRES_MIGRATIONS } from '../../../migrations/postgres/index.js';
import type { ServerOptions } from '../../../src/repositories/backend.js';
import type { StoreLogger } from '../../../src/repositories/ports.js';
import { mapPostgresError } from '../map-postgres-error.js';
import type { QueryRunner } from 'typeorm';
import { CLIENT_TIMEOUT_GRACE_MS, MIGRATION_LOCK_TIMEOUT_S, numberedPlaceholders, type Dialect } from './dialect.js';
import { tlsOptions } from './tls.js';

/**
 * PostgreSQL through node-postgres. timestamptz(3) holds UTC milliseconds; JSON is `json`, not
 * `jsonb`, because jsonb reorders object keys and our round trips must return the text as
 * written. Key columns use COLLATE "C" so ORDER BY id is code-point order on any server locale.
 */
export function postgresDialect(config: ServerOptions): Dialect {
  return {
    kind: 'postgres',
    migrations: POSTGRES_MIGRATIONS,

    async dataSourceOptions(log: StoreLogger) {
      return {
        type: 'postgres',
        url: config.url,
        poolSize: config.poolSize,
        connectTimeoutMS: config.connectTimeoutMs,
        ssl: await tlsOptions(config),
        applicationName: 'polystore',
        // An idle pooled client can fail (server restart, network drop); pg-pool emits 'error' and
        // would crash the process without a listener. The next query gets a fresh connection.
        poolErrorHandler: (err: unknown) =>
          log.warn({ err }, 'an idle PostgreSQL connection failed; it was dropped from the pool'),
        extra: {
          // Server-side cap per statement; a canceled statement surfaces as 57014 → UnavailableError.
          statement_timeout: config.statementTimeoutMs,
          // Client-side cap, for a server that stopped answering (frozen, or cut off by the network):
          // statement_timeout needs a server that runs.
          query_timeout: config.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
          // Notice a dead peer on an idle pooled connection instead of waiting for TCP's hours.
          keepAlive: true,
          keepAliveInitialDelayMillis: 10_000,
        },
      };
    },

    async lockMigrations(work) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({
        connectionString: config.url,
        ssl: await tlsOptions(config),
        connectionTimeoutMillis: config.connectTimeoutMs,
      });
      client.on('error', () => undefined);
      await client.connect();
      try {
        // Keyed by database and schema: stores in other schemas of one database do not wait.
        await client.query(`SET lock_timeout = '${MIGRATION_LOCK_TIMEOUT_S}s'`);
        await client.query(
          "SELECT pg_advisory_lock(hashtext(current_database() || '.' || current_schema() || '.migrations'))",
        );
        return await work();
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    begin: undefined,
    afterInitialize: async () => {},
    // node-postgres rejects a query after query_timeout but leaves the connection waiting for it.
    spoilsConnection: (error) => /Query read timeout/.test(driverMessage(error)),
    destroyConnection(runner, error) {
      // Releasing a pooled client with an error makes pg-pool destroy it.
      void (
        runner as QueryRunner & { releasePostgresConnection(err: unknown): Promise<void> }
      ).releasePostgresConnection(error instanceof Error ? error : new Error(String(error)));
    },
    // pg-pool bounds the wait for a client itself (connectionTimeoutMillis).
    acquireTimeoutMs: undefined,

    placeholders: numberedPlaceholders(),
    time: (value) => value,
    timeParam: 'CAST(? AS timestamptz)',
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    insertIgnore: (table, columns, source) =>
      `INSERT INTO ${table} (${columns.join(', ')}) ${source} ON CONFLICT DO NOTHING`,
    columnTypes: {
      key: { type: 'varchar', collation: 'C' },
      text: { type: 'varchar' },
      int: { type: 'integer' },
      time: { type: 'timestamptz', precision: 3 },
      json: { type: 'json' },
    },

    translate: mapPostgresError,
    serialize: (work) => work(),
  };
}

/** The driver's message inside TypeORM's QueryFailedError (or the error's own). */
function driverMessage(error: unknown): string {
  const e = error as { driverError?: { message?: unknown }; message?: unknown } | null;
  return String(e?.driverError?.message ?? e?.message ?? '');
}

import { DataSource, type DataSourceOptions, type Logger } from 'typeorm';
import type { StoreLogger } from '../../src/repositories/ports.js';
import type { Dialect } from './dialects/dialect.js';
import { buildEntitySchemas } from './entities.js';

/** The name of TypeORM's bookkeeping table, shared by every dialect. */
export const MIGRATIONS_TABLE = 'polystore_migrations';

/** The DataSource for one dialect: its connection options plus our entities and migrations. */
export async function buildDataSource(dialect: Dialect, log: StoreLogger): Promise<DataSource> {
  const options = {
    ...(await dialect.dataSourceOptions(log)),
    entities: buildEntitySchemas(dialect.columnTypes),
    migrations: [...dialect.migrations],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    migrationsRun: false,
    synchronize: false,
    logger: typeormLogger(log),
  } as DataSourceOptions;
  return new DataSource(options);
}

/**
 * TypeORM's log calls routed to our logger. Failed queries are not logged here: they reach the
 * caller as domain errors, and the HTTP layer logs what matters with the request.
 */
function typeormLogger(log: StoreLogger): Logger {
  return {
    logQuery: () => undefined,
    logQueryError: () => undefined,
    logQuerySlow: (time, query) => log.warn({ durationMs: time, query: query.slice(0, 500) }, 'slow database query'),
    logSchemaBuild: () => undefined,
    logMigration: (message) => log.info({}, String(message)),
    log: (level, message) => (level === 'warn' ? log.warn({}, String(message)) : undefined),
  };
}

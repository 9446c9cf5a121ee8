import { buildDataSource } from '../../../database/typeorm/data-source.js';
import type { TypeormConfig } from '../../../database/typeorm/config.js';
import { dialectFor } from '../../../database/typeorm/typeorm-store.js';
import type { Store } from '../../../src/repositories/ports.js';
import { configOf, testLogger } from '../initializer.js';

/**
 * The statements TypeORM's schema builder would run to turn the migrated schema of `store` into
 * the one its entity schemas describe: empty when migrations and entities agree.
 */
export async function pendingSchemaChanges(store: Store): Promise<string[]> {
  const config = configOf(store);
  if (config.type === 'memory' || config.type === 'mongodb') throw new Error(`${config.type} is not a TypeORM backend`);
  const dataSource = await buildDataSource(dialectFor(config satisfies TypeormConfig), testLogger);
  await dataSource.initialize();
  try {
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return sql.upQueries.map((q) => q.query);
  } finally {
    await dataSource.destroy();
  }
}

/** Runs `sql` (no parameters) on a connection of its own to the database of `store`; for checks of derived columns. */
export async function rawRows(store: Store, sql: string): Promise<Record<string, unknown>[]> {
  const config = configOf(store);
  if (config.type === 'memory' || config.type === 'mongodb') throw new Error(`${config.type} is not a TypeORM backend`);
  const dataSource = await buildDataSource(dialectFor(config satisfies TypeormConfig), testLogger);
  await dataSource.initialize();
  try {
    return (await dataSource.query(sql)) as Record<string, unknown>[];
  } finally {
    await dataSource.destroy();
  }
}

import type { DatabaseConfig } from '../config/schema.js';
import { SchemaMismatchError } from '../domain/errors.js';
import type { Store, StoreLogger } from './ports.js';

/**
 * The one place that turns DATABASE_TYPE into an adapter. Adapters are imported lazily so a
 * deployment loads only its own driver (and no native SQLite module unless it uses SQLite).
 */
export async function openStore(config: DatabaseConfig, log: StoreLogger): Promise<Store> {
  switch (config.type) {
    case 'memory': {
      const { openMemoryStore } = await import('../../database/memory/memory-store.js');
      return openMemoryStore();
    }
    case 'sqlite':
    case 'postgres':
    case 'mysql':
    case 'mariadb': {
      const { openTypeormStore } = await import('../../database/typeorm/typeorm-store.js');
      return openTypeormStore(config, log);
    }
    case 'mongodb': {
      const { openMongoStore } = await import('../../database/mongodb/mongodb-store.js');
      return openMongoStore(config, log);
    }
    default: {
      const unknown: never = config.type;
      throw new Error(`no adapter for DATABASE_TYPE=${String(unknown)}`);
    }
  }
}

/**
 * Brings the schema up to date when asked to, then refuses a schema that is not exactly the one
 * this build knows: newer (applied migrations it does not know) or, without `migrate`, older.
 */
export async function ensureSchema(store: Store, options: { migrate: boolean }): Promise<string[]> {
  const before = await store.migrator.status();
  if (before.unknown.length > 0) throw newerSchema(store.kind, before.unknown);
  const applied = options.migrate ? await store.migrator.up() : [];
  const after = options.migrate ? await store.migrator.status() : before;
  if (after.pending.length > 0) {
    throw new SchemaMismatchError(
      `the ${store.kind} database needs ${after.pending.length} migration(s) (${after.pending.join(', ')}); run \`polystore migrate\` or set MIGRATE_ON_START=true`,
    );
  }
  return applied;
}

export function newerSchema(kind: string, unknown: string[]): SchemaMismatchError {
  return new SchemaMismatchError(
    `the ${kind} database has migrations this build does not know (${unknown.join(', ')}): its schema is newer than the code; upgrade polystore`,
  );
}

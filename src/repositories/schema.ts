import { SchemaMismatchError } from '../domain/errors.js';
import type { Store } from './ports.js';

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
    const names = after.pending.join(', ');
    throw new SchemaMismatchError(
      `the ${store.kind} database needs ${after.pending.length} migration(s) (${names}); ` +
        'run `polystore migrate` or set MIGRATE_ON_START=true',
    );
  }
  return applied;
}

/** The refusal of a database whose applied migrations include some this build does not know. */
export function newerSchema(kind: string, unknown: string[]): SchemaMismatchError {
  return new SchemaMismatchError(
    `the ${kind} database has migrations this build does not know (${unknown.join(', ')}): ` +
      'its schema is newer than the code; upgrade polystore',
  );
}

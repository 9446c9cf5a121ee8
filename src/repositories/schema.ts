import { SchemaMismatchError } from '../domain/errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MigrationStatus, Store } from './ports.js';

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

/** How long a migrator waits for another process's migration before it reports its own failure. */
const CONVERGE_DELAYS_MS = [100, 200, 400, 800, 1600, 3200, 3200];

/**
 * Applies pending migrations so that several processes starting together on one fresh database
 * all succeed (replicas with MIGRATE_ON_START): when `apply` fails, the status is read again, and
 * the failure counts only if migrations are still pending after the other process had time to
 * finish. Backends that can lock (PostgreSQL advisory locks, MySQL GET_LOCK) serialize first and
 * rarely get here; SQLite and MongoDB rely on this.
 */
export async function convergeMigrations(
  apply: () => Promise<string[]>,
  status: () => Promise<MigrationStatus>,
): Promise<string[]> {
  let failure: unknown;
  for (const delay of [0, ...CONVERGE_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    try {
      return await apply();
    } catch (error) {
      if (error instanceof SchemaMismatchError) throw error;
      failure = error;
      const now = await status().catch(() => undefined);
      if (now && now.pending.length === 0 && now.unknown.length === 0) return [];
    }
  }
  throw failure;
}

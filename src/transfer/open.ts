import type { DatabaseConfig, DatabaseType } from '../config/schema.js';
import { redactUrl } from '../config/load.js';
import { ValidationError } from '../domain/errors.js';
import { ensureSchema, openStore } from '../repositories/factory.js';
import type { Store, StoreLogger } from '../repositories/ports.js';

/**
 * Turns a `--from`/`--to` location into a database config. The scheme picks the backend:
 * postgres://, postgresql://, mysql://, mariadb://, mongodb://, mongodb+srv://, sqlite:PATH,
 * memory:, or a plain file path (SQLite).
 */
export function databaseFromLocation(location: string, base: DatabaseConfig, field: string): DatabaseConfig {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(location)?.[1]?.toLowerCase();
  const types: Record<string, DatabaseType> = { postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mariadb', mongodb: 'mongodb', 'mongodb+srv': 'mongodb' };
  if (scheme === 'memory') return { ...base, type: 'memory', url: '' };
  if (scheme === 'sqlite' || scheme === 'file') return { ...base, type: 'sqlite', url: location.replace(/^(sqlite|file):(\/\/)?/i, '') };
  if (scheme === undefined || scheme.length === 1 /* a Windows drive letter */) return { ...base, type: 'sqlite', url: location };
  const type = types[scheme];
  if (!type) throw ValidationError.field(field, `unknown database scheme "${scheme}:"; use postgres://, mysql://, mariadb://, mongodb://, sqlite:PATH or a file path`);
  if (!URL.canParse(location)) throw ValidationError.field(field, `is not a valid URL: ${redactUrl(location)}`);
  return { ...base, type, url: location };
}

/** Opens a store and brings its schema up to date (`migrate`) or checks it is current. */
export async function openLocation(config: DatabaseConfig, log: StoreLogger, options: { migrate: boolean }): Promise<Store> {
  const store = await openStore(config, log);
  try {
    await store.ping();
    await ensureSchema(store, options);
    return store;
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

import { BACKENDS, type AnyBackend, type DatabaseConfig } from '../../database/registry.js';
import { redactUrl, stripScheme } from '../config/load.js';
import type { SettingValues } from '../config/schema.js';
import { ValidationError } from '../domain/errors.js';
import { openStore } from '../repositories/factory.js';
import { ensureSchema } from '../repositories/schema.js';
import type { Store, StoreLogger } from '../repositories/ports.js';

/**
 * Turns a `--from`/`--to` location into a database config. The scheme picks the backend, by the
 * location rules the registered backends declare (postgres://, mysql://, mariadb://, mongodb://,
 * sqlite:PATH, memory:, ...); a location without a scheme is a file path for the backend that
 * takes files (SQLite). Settings other than the location come from the configuration.
 */
export function databaseFromLocation(location: string, settings: SettingValues, field: string): DatabaseConfig {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(location)?.[1]?.toLowerCase();
  // A one-letter scheme is a Windows drive letter: a file path.
  const bare = scheme === undefined || scheme.length === 1;
  const backend = BACKENDS.find((b) => {
    const rule = b.location;
    if (rule.kind === 'none') return scheme === rule.scheme;
    if (rule.kind === 'file') return bare || rule.schemes.includes(scheme);
    return !bare && rule.schemes.includes(scheme);
  }) as AnyBackend | undefined;
  if (!backend) throw ValidationError.field(field, `unknown database scheme "${scheme}:"; use ${locationHint()}`);
  const rule = backend.location;
  let value: string;
  if (rule.kind === 'none') value = '';
  else if (rule.kind === 'file') value = bare ? location : stripScheme(location, rule.schemes);
  else if (!URL.canParse(location)) throw ValidationError.field(field, `is not a valid URL: ${redactUrl(location)}`);
  else value = location;
  const problem = backend.checkLocation?.(value, settings);
  if (problem !== undefined) throw ValidationError.field(field, problem);
  // See loadConfig: the descriptor's options belong to its own type.
  return { type: backend.type, ...backend.options(value, settings) } as DatabaseConfig;
}

/** Every location form the registered backends take, for help texts and messages. */
export function locationHint(): string {
  return BACKENDS.flatMap((b) => {
    const rule = b.location;
    if (rule.kind === 'none') return [`${rule.scheme}:`];
    if (rule.kind === 'file') return [`${rule.schemes[0]}:PATH`, 'a file path'];
    return rule.schemes.map((s) => `${s}://`);
  }).join(', ');
}

/** Opens a store and brings its schema up to date (`migrate`) or checks it is current. */
export async function openLocation(
  config: DatabaseConfig,
  log: StoreLogger,
  options: { migrate: boolean },
): Promise<Store> {
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

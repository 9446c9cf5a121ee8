import { loadConfig, redactUrl } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { DomainError } from '../../domain/errors.js';
import { createLogger } from '../../logger.js';
import type { Store } from '../../repositories/ports.js';
import { databaseFromLocation, openLocation } from '../../transfer/open.js';
import { Progress } from '../../transfer/progress.js';
import { UsageError } from '../args.js';

/** Shared plumbing of export, import, copy and verify: config, logger, stores, progress. */

export function transferConfig(settings: Record<string, string>): {
  config: Config;
  logger: ReturnType<typeof createLogger>;
} {
  const config = loadConfig({ flags: settings });
  // Logs go to stderr, quietly: stdout may be the export stream and stderr carries the progress.
  const logger = createLogger(
    { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
    { fd: 2 },
  );
  return { config, logger };
}

/**
 * Opens the database a `--from`/`--to` flag names, or the configured one (DATABASE_TYPE /
 * DATABASE_URL) when the flag is absent. Failures name the flag and the (redacted) location.
 */
export async function openFor(
  flag: string,
  location: string | undefined,
  config: Config,
  logger: ReturnType<typeof createLogger>,
  migrate: boolean,
): Promise<Store> {
  let database = config.database;
  if (location !== undefined) {
    try {
      database = databaseFromLocation(location, config.settings, flag);
    } catch (error) {
      if (error instanceof DomainError) throw new UsageError(`--${flag}: ${error.message.replace(/^[\w-]+: /, '')}`);
      throw error;
    }
  }
  try {
    return await openLocation(database, logger, { migrate });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const where =
      location === undefined ? `the configured ${database.type} database` : `--${flag} ${redactUrl(location)}`;
    throw new TransferError(`cannot use ${where}: ${reason}`);
  }
}

/**
 * Opens `--from` (schema must be current) and `--to` (migrated when `migrateTarget`), runs `fn`,
 * and closes both whatever happens.
 */
export async function withSourceAndTarget<T>(
  from: string,
  to: string,
  settings: Record<string, string>,
  migrateTarget: boolean,
  fn: (source: Store, target: Store) => Promise<T>,
): Promise<T> {
  const { config, logger } = transferConfig(settings);
  const source = await openFor('from', from, config, logger, false);
  try {
    const target = await openFor('to', to, config, logger, migrateTarget);
    try {
      return await fn(source, target);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

export const progressFor = (label: string, quiet: boolean, total?: number) => new Progress({ label, total, quiet });

export function batchSize(value: string | boolean | undefined): number {
  if (value === undefined) return 1000;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new UsageError('--batch-size must be a whole number from 1 to 10000');
  return n;
}

export function conflictPolicy(value: string | boolean | undefined, merge: boolean): 'skip' | 'replace' | undefined {
  if (value === undefined) return undefined;
  if (value !== 'skip' && value !== 'replace') throw new UsageError('--on-conflict must be skip or replace');
  if (!merge) throw new UsageError('--on-conflict only applies with --merge');
  return value;
}

export const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** A failure the user can act on: printed without a stack, exit 1. */
export class TransferError extends Error {
  override name = 'TransferError';
}

import type { AddressInfo } from 'node:net';
import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';
import { backendFor } from '../database/registry.js';
import { buildApp } from './app.js';
import { ConfigError, describeDatabase, loadConfig, type ConfigSources } from './config/load.js';
import type { Config } from './config/schema.js';
import { SchemaMismatchError, UnavailableError } from './domain/errors.js';
import { createLogger } from './logger.js';
import { openStore } from './repositories/factory.js';
import { ensureSchema } from './repositories/schema.js';
import type { Store } from './repositories/ports.js';

/**
 * The server process: configuration, database, HTTP listener, graceful shutdown. Everything about
 * requests lives in app.ts.
 * @see https://github.com/fastify/demo/blob/main/src/server.ts
 */

/** A startup failure the operator can fix: printed as one message, no stack, exit 1. */
function fatal(message: string): never {
  process.stderr.write(`polystore: ${message}\n`);
  process.exit(1);
}

/** An error's message on one line (driver messages may span several), file-system errors in words. */
function oneLine(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.syscall === 'mkdir' && e.path && (e.code === 'EEXIST' || e.code === 'ENOTDIR'))
    return `${e.path} is a file, not a folder (${e.code})`;
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, '; ').trim() || 'unknown error';
}

/** Opening the database failed after retries; the message says how often and for how long. */
class StartupError extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens the store, retrying a database server that cannot be reached (UnavailableError) with
 * backoff (250 ms doubling to 5 s) for up to DATABASE_STARTUP_RETRY_MS after the first failure.
 * Other failures (a schema from a newer build), and files (SQLite: a path that cannot be
 * opened does not get better by waiting), are not retried.
 */
async function openWithRetry(config: Config, logger: Logger, target: string): Promise<Store> {
  const retryMs =
    backendFor(config.database.type)?.location.kind === 'url' ? config.settings.DATABASE_STARTUP_RETRY_MS : 0;
  let firstFailure: number | undefined;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStore(config.database, logger);
    } catch (error) {
      firstFailure ??= Date.now();
      const waited = Date.now() - firstFailure;
      if (!(error instanceof UnavailableError) || waited + delay > retryMs) {
        if (attempt > 1)
          throw new StartupError(`${oneLine(error)} (gave up after ${attempt} attempts in ${waited} ms)`);
        throw error;
      }
      logger.warn(
        { attempt, retryInMs: delay, reason: oneLine(error) },
        `cannot open the ${target} database; retrying`,
      );
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** The URL of the address the server is bound to (0.0.0.0 stays 0.0.0.0). */
export function boundUrl(address: AddressInfo | string | null): string {
  if (address === null) return 'http://(unknown)';
  if (typeof address === 'string') return address;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Starts the server; resolves once it listens. Exits the process on startup errors and after shutdown. */
export async function runServer(sources: ConfigSources = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(sources);
  } catch (error) {
    if (error instanceof ConfigError) fatal(error.message);
    throw error;
  }

  const logger = createLogger(config);
  const target = describeDatabase(config.database);
  logger.info({ database: config.database.type, location: target }, 'opening the database');

  // Every failure to open or prepare the database is the operator's to fix: one line naming
  // DATABASE_URL and the reason, exit 1. The stack goes to the log at debug level.
  let store: Store;
  try {
    store = await openWithRetry(config, logger, target);
  } catch (error) {
    logger.debug({ err: error }, 'cannot open the database');
    logger.flush?.();
    fatal(`cannot open the ${target} database (DATABASE_URL): ${oneLine(error)}`);
  }

  try {
    const applied = await ensureSchema(store, { migrate: config.migrateOnStart });
    if (applied.length > 0) logger.info({ applied }, `applied ${applied.length} migration(s)`);
  } catch (error) {
    await store.close().catch(() => undefined);
    logger.debug({ err: error }, 'cannot prepare the database schema');
    logger.flush?.();
    if (error instanceof SchemaMismatchError) fatal(error.message);
    fatal(`cannot prepare the ${target} database (DATABASE_URL): ${oneLine(error)}`);
  }

  const app = buildApp({ config, store, logger });

  // On SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish, close the
  // database (the store plugin's onClose), exit 0 — or exit 1 after SHUTDOWN_TIMEOUT_MS.
  closeWithGrace(
    {
      delay: config.shutdownTimeoutMs,
      logger: {
        error: (message: unknown) =>
          logger.error(typeof message === 'string' ? message : { err: message }, 'shutdown problem'),
      },
    },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, 'shutting down after an uncaught error');
      else logger.info({ signal }, 'shutting down');
      await app.close();
      logger.info('closed');
      logger.flush?.();
    },
  );

  try {
    // Fastify logs the addresses the server can be reached at (every interface for 0.0.0.0);
    // the line after names the one it is bound to.
    await app.listen({
      host: config.host,
      port: config.port,
      listenTextResolver: (address) => `reachable at ${address}`,
    });
    const url = boundUrl(app.server.address());
    logger.info({ url, database: config.database.type, authMode: config.auth.mode }, `polystore listening at ${url}`);
  } catch (error) {
    await app.close().catch(() => undefined);
    fatal(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  }
}

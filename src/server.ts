import closeWithGrace from 'close-with-grace';
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

  let store: Store;
  try {
    store = await openStore(config.database, logger);
  } catch (error) {
    if (error instanceof UnavailableError || error instanceof SchemaMismatchError)
      fatal(`cannot open the ${target} database: ${error.message}`);
    throw error;
  }

  try {
    const applied = await ensureSchema(store, { migrate: config.migrateOnStart });
    if (applied.length > 0) logger.info({ applied }, `applied ${applied.length} migration(s)`);
  } catch (error) {
    await store.close().catch(() => undefined);
    if (error instanceof SchemaMismatchError || error instanceof UnavailableError) fatal(error.message);
    throw error;
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
    const url = await app.listen({ host: config.host, port: config.port });
    logger.info({ url, database: config.database.type, authMode: config.auth.mode }, `polystore listening at ${url}`);
  } catch (error) {
    await app.close().catch(() => undefined);
    fatal(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  }
}

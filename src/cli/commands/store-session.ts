import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { createLogger } from '../../logger.js';
import { openStore } from '../../repositories/factory.js';
import type { Store } from '../../repositories/ports.js';

/**
 * Opens the configured database for a command, runs `fn`, and closes it. Logs go to stderr so a
 * command's stdout carries only its output.
 */
export async function withStore<T>(
  settings: Record<string, string>,
  fn: (store: Store, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ flags: settings });
  const logger = createLogger(
    { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
    { fd: 2 },
  );
  const store = await openStore(config.database, logger);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

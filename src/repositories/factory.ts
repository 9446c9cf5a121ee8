import { backendFor, type DatabaseConfig } from '../../database/registry.js';
import type { Store, StoreLogger } from './ports.js';

/**
 * Opens the store a database config names, through its backend's descriptor. The descriptors
 * import their adapters lazily, so a deployment loads only its own driver (and no native SQLite
 * module unless it uses SQLite).
 */
export async function openStore(config: DatabaseConfig, log: StoreLogger): Promise<Store> {
  const backend = backendFor(config.type);
  if (!backend) throw new Error(`no backend is registered for DATABASE_TYPE=${String(config.type)}`);
  return backend.open(config, log);
}

import './provided-context.js';
import { inject } from 'vitest';
import { backendFor, type DatabaseConfig, type DatabaseType } from '../../database/registry.js';
import type { Scratch } from '../../src/repositories/backend.js';
import { openStore } from '../../src/repositories/factory.js';
import type { Store, StoreLogger } from '../../src/repositories/ports.js';
import type { ServerInfo } from './servers.js';

/**
 * How a test suite gets stores of one backend. Each backend's test file is a few lines that pass
 * one of these to the shared suites (test/contract, test/http, test/transfer).
 */
export interface StoreInitializer {
  /** Backend name as shown in test titles, e.g. `sqlite`, `postgres (TEST_POSTGRES_URL)`. */
  name: string;
  /** The DATABASE_TYPE under test: what TEST_REQUIRE names. */
  backend: string;
  /**
   * Finds (or starts) the database server. Returns a reason when the backend cannot run here; the
   * suite then prints the reason and skips, or fails when TEST_REQUIRE names the backend.
   */
  beforeAll(): Promise<{ skip: string } | { ready: string }>;
  /** A fresh, migrated, empty store of its own (own file, schema or database). */
  create(): Promise<Store>;
  /** Closes the store and drops what create() made. */
  destroy(store: Store): Promise<void>;
  /** Stops what beforeAll started. */
  afterAll(): Promise<void>;
}

/** What global setup found for a kind of server; a kind no registered backend needs is skipped. */
export function serverFor(kind: string): ServerInfo {
  return inject('servers')[kind] ?? { kind, skip: `no registered backend needs a ${kind} server` };
}

/** Info goes nowhere; warnings and errors are printed, as they mean something went wrong. */
export const testLogger: StoreLogger = {
  info() {},
  warn: (obj, msg) => console.warn(`[store] ${msg}`, obj),
  error: (obj, msg) => console.error(`[store] ${msg}`, obj),
};

/** The config each store made by an initializer was opened with (for schema checks). */
const configs = new WeakMap<Store, DatabaseConfig>();
export function configOf(store: Store): DatabaseConfig {
  const config = configs.get(store);
  if (!config) throw new Error('not a store made by a test initializer');
  return config;
}

/** Opens a store on a config and migrates it; the store is closed again when migrating fails. */
export async function openMigrated(config: DatabaseConfig): Promise<Store> {
  const store = await openStore(config, testLogger);
  try {
    await store.migrator.up();
  } catch (error) {
    await store.close();
    throw error;
  }
  configs.set(store, config);
  return store;
}

/**
 * The initializer of a registered backend, built from its descriptor alone: the server global
 * setup found for it (servers.ts), the backend's test kit for isolated places, and the store
 * factory. Every create() gets a fresh place of its own, migrated and empty.
 */
export function initializerFor(type: DatabaseType): StoreInitializer {
  const backend = backendFor(type);
  if (!backend) throw new Error(`no backend ${type} is registered`);
  const testing = backend.testing;
  let scratch: Scratch<DatabaseConfig> | undefined;
  const drops = new WeakMap<Store, () => Promise<void>>();
  const server = () => (testing.needs === 'server' ? serverFor(testing.server) : undefined);

  return {
    backend: type,
    get name() {
      try {
        const info = server();
        return info && 'url' in info ? `${type} (${info.source})` : type;
      } catch {
        return type;
      }
    },
    async beforeAll() {
      const info = server();
      if (info && 'skip' in info) return { skip: info.skip };
      const kit = await testing.kit();
      scratch = (await kit.connect(info?.url)) as Scratch<DatabaseConfig>;
      return { ready: info?.source ?? 'in-process' };
    },
    async create() {
      if (!scratch) throw new Error(`${type}: beforeAll() did not find a database`);
      const place = await scratch.create();
      try {
        const store = await openMigrated(place.config);
        drops.set(store, place.drop);
        return store;
      } catch (error) {
        await place.drop();
        throw error;
      }
    },
    async destroy(store) {
      await store.close();
      await drops.get(store)?.();
    },
    async afterAll() {
      const open = scratch;
      scratch = undefined;
      await open?.close();
    },
  };
}

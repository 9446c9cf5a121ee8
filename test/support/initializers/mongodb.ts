import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { openMongoStore } from '../../../database/mongodb/mongodb-store.js';
import type { DatabaseConfig } from '../../../src/config/schema.js';
import type { Store, StoreLogger } from '../../../src/repositories/ports.js';
import type { StoreInitializer } from '../initializer.js';
import '../provided-context.js';

/** Where a MongoDB-speaking server is, and how to stop it if the initializer started it. */
export type MongoServer = { url: string; stop?: () => Promise<unknown> } | { skip: string };

/** The connection string with its database (path) replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error('not a mongodb:// connection string');
  return `${match[1]}/${encodeURIComponent(database)}${match[3] ?? ''}`;
}

/** Info goes nowhere; warnings and errors are printed, as they mean something went wrong. */
export const testLogger: StoreLogger = {
  info() {},
  warn: (obj, msg) => console.warn(`[mongodb adapter] ${msg}`, obj),
  error: (obj, msg) => console.error(`[mongodb adapter] ${msg}`, obj),
};

export function mongoTestConfig(url: string): DatabaseConfig {
  return { type: 'mongodb', url, poolSize: 10, connectTimeoutMs: 5000, statementTimeoutMs: 15_000, tls: 'disable', tlsCaFile: undefined, sqliteBusyTimeoutMs: 0 };
}

let counter = 0;

/** A fresh database name per store: process id, a counter and a random suffix. */
export function uniqueDatabaseName(): string {
  return `polystore_test_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * An initializer for a MongoDB-speaking server: each store gets its own database, migrated, and
 * dropped afterwards.
 */
export function mongoInitializer(name: string, locate: () => Promise<MongoServer>): StoreInitializer {
  let server: MongoServer | undefined;
  let admin: MongoClient | undefined;
  const databases = new WeakMap<Store, string>();
  return {
    name,
    async beforeAll() {
      server = await locate();
      if ('skip' in server) return { skip: server.skip };
      admin = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
      await admin.connect();
      return { ready: server.url };
    },
    async create() {
      if (!server || 'skip' in server) throw new Error('no MongoDB server');
      const database = uniqueDatabaseName();
      const store = await openMongoStore(mongoTestConfig(withDatabase(server.url, database)), testLogger);
      await store.migrator.up();
      databases.set(store, database);
      return store;
    },
    async destroy(store) {
      const database = databases.get(store);
      try {
        if (database && admin) await admin.db(database).dropDatabase();
      } finally {
        await store.close();
      }
    },
    async afterAll() {
      await admin?.close();
      if (server && 'stop' in server) await server.stop?.();
    },
  };
}

const shared = inject('servers').mongodb;

/** The server global setup found for this run (TEST_MONGODB_URL, Testcontainers, or a fallback). */
export const mongodbInitializer = mongoInitializer('skip' in shared ? 'mongodb' : `mongodb (${shared.source})`, async () =>
  'skip' in shared ? { skip: shared.skip } : { url: shared.url },
);

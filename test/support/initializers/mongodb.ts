import { mongoTestKit } from '../../../database/mongodb/testing.js';
import type { Store } from '../../../src/repositories/ports.js';
import { initializerFor, openMigrated, type StoreInitializer } from '../initializer.js';

export { mongoTestConfig, uniqueDatabaseName, withDatabase } from '../../../database/mongodb/testing.js';
export { testLogger } from '../initializer.js';

/** Where a MongoDB-speaking server is, and how to stop it if the initializer started it. */
export type MongoServer = { url: string; stop?: () => Promise<unknown> } | { skip: string };

/** The server global setup found for this run (TEST_MONGODB_URL, Testcontainers, or a fallback). */
export const mongodbInitializer = initializerFor('mongodb');

/**
 * An initializer for a MongoDB-speaking server the test finds or starts itself (the emulator in a
 * particular mode, say): each store gets its own database, migrated, and dropped afterwards.
 */
export function mongoInitializer(name: string, locate: () => Promise<MongoServer>): StoreInitializer {
  let server: MongoServer | undefined;
  let scratch: Awaited<ReturnType<typeof mongoTestKit.connect>> | undefined;
  const drops = new WeakMap<Store, () => Promise<void>>();
  return {
    name,
    backend: 'mongodb',
    async beforeAll() {
      server = await locate();
      if ('skip' in server) return { skip: server.skip };
      scratch = await mongoTestKit.connect(server.url);
      return { ready: server.url };
    },
    async create() {
      if (!scratch) throw new Error('no MongoDB server');
      const place = await scratch.create();
      const store = await openMigrated(place.config);
      drops.set(store, place.drop);
      return store;
    },
    async destroy(store) {
      await store.close();
      await drops.get(store)?.();
    },
    async afterAll() {
      await scratch?.close();
      if (server && 'stop' in server) await server.stop?.();
    },
  };
}

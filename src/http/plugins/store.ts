import fp from 'fastify-plugin';
import type { Store } from '../../repositories/ports.js';

export interface StorePluginOptions {
  store: Store;
  /** Close the store when the app closes (default). False when the caller manages its lifetime, as the tests do. */
  ownsStore?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store;
  }
}

/** Makes the opened store available to the app and releases it in onClose. */
export default fp<StorePluginOptions>(
  async (app, { store, ownsStore = true }) => {
    app.decorate('store', store);
    if (ownsStore) {
      app.addHook('onClose', async () => {
        await store.close();
      });
    }
  },
  { name: 'store' },
);

import { openMemoryStore } from '../../../database/memory/memory-store.js';
import type { StoreInitializer } from '../initializer.js';

export const memoryInitializer: StoreInitializer = {
  name: 'memory',
  async beforeAll() {
    return { ready: 'in-process' };
  },
  async create() {
    return openMemoryStore();
  },
  async destroy(store) {
    await store.close();
  },
  async afterAll() {},
};

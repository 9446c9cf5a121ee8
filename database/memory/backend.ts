import { defineBackend } from '../../src/repositories/backend.js';

/** In-process maps: for tests, demos and trying the API; nothing survives the process. */
export const memoryBackend = defineBackend<'memory', object>({
  type: 'memory',
  label: 'memory',
  location: { kind: 'none', scheme: 'memory' },
  migrateOnStartByDefault: true,
  migrations: '(none: the memory backend has no schema)',
  options: () => ({}),
  async open() {
    const { openMemoryStore } = await import('./memory-store.js');
    return openMemoryStore();
  },
  testing: {
    needs: 'nothing',
    kit: async () => ({
      connect: async () => ({
        create: async () => ({ config: { type: 'memory' }, drop: async () => {} }),
        close: async () => {},
      }),
    }),
  },
});

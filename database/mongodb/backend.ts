import { defineBackend, serverOptions, type ServerOptions } from '../../src/repositories/backend.js';

/** MongoDB through the official driver (DESIGN.md): transactions on replica sets, ordered steps on a standalone server. */
export const mongodbBackend = defineBackend<'mongodb', ServerOptions>({
  type: 'mongodb',
  label: 'MongoDB',
  location: { kind: 'url', schemes: ['mongodb', 'mongodb+srv'] },
  migrateOnStartByDefault: false,
  migrations: 'migrations/mongodb',
  options: serverOptions,
  async open(config, log) {
    const { openMongoStore } = await import('./mongodb-store.js');
    return openMongoStore(config, log);
  },
  testing: {
    needs: 'server',
    server: 'mongodb',
    image: 'mongo:8',
    kit: async () => (await import('./testing.js')).mongoTestKit,
  },
});

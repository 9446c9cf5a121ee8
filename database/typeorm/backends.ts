import { defineBackend, serverOptions, type ServerOptions } from '../../src/repositories/backend.js';
import type { StoreLogger } from '../../src/repositories/ports.js';
import type { SqliteOptions, TypeormConfig } from './config.js';
import { mysqlUrlParameters } from './dialects/mysql-url.js';

/**
 * The four SQL backends the TypeORM adapter serves, one descriptor each; the dialect files under
 * dialects/ hold what differs between them.
 */

const open = async (config: TypeormConfig, log: StoreLogger) =>
  (await import('./typeorm-store.js')).openTypeormStore(config, log);
const kit = async () => (await import('./testing.js')).typeormTestKit;
/** mysql:// and mariadb:// URLs: refuses query parameters the adapter would drop (dialects/mysql-url.ts). */
const checkMysqlUrl = (url: string, settings: { DATABASE_TLS: ServerOptions['tls'] }) => {
  const parsed = mysqlUrlParameters(url, settings.DATABASE_TLS);
  return 'problem' in parsed ? parsed.problem : undefined;
};

/** Where SQLite keeps its file when DATABASE_URL is not set (created on first start). */
export const DEFAULT_SQLITE_FILE = './data/polystore.db';

export const sqliteBackend = defineBackend<'sqlite', SqliteOptions>({
  type: 'sqlite',
  label: 'SQLite',
  location: { kind: 'file', schemes: ['sqlite', 'file'], default: DEFAULT_SQLITE_FILE },
  migrateOnStartByDefault: true,
  migrations: 'migrations/sqlite',
  options: (file, settings) => ({
    file,
    busyTimeoutMs: settings.SQLITE_BUSY_TIMEOUT_MS,
    synchronous: settings.SQLITE_SYNCHRONOUS,
  }),
  open,
  testing: { needs: 'nothing', kit: async () => (await kit()).sqlite },
});

export const postgresBackend = defineBackend<'postgres', ServerOptions>({
  type: 'postgres',
  label: 'PostgreSQL',
  location: { kind: 'url', schemes: ['postgres', 'postgresql'] },
  migrateOnStartByDefault: false,
  migrations: 'migrations/postgres',
  options: serverOptions,
  open,
  testing: {
    needs: 'server',
    server: 'postgres',
    image: 'postgres:16-alpine',
    kit: async () => (await kit()).postgres,
  },
});

export const mysqlBackend = defineBackend<'mysql', ServerOptions>({
  type: 'mysql',
  label: 'MySQL',
  location: { kind: 'url', schemes: ['mysql'], alsoAccepts: ['mariadb'] },
  migrateOnStartByDefault: false,
  migrations: 'migrations/mysql',
  checkLocation: checkMysqlUrl,
  options: serverOptions,
  open,
  testing: { needs: 'server', server: 'mysql', image: 'mysql:8.4', kit: async () => (await kit()).mysql },
});

export const mariadbBackend = defineBackend<'mariadb', ServerOptions>({
  type: 'mariadb',
  label: 'MariaDB',
  location: { kind: 'url', schemes: ['mariadb'], alsoAccepts: ['mysql'] },
  migrateOnStartByDefault: false,
  migrations: 'migrations/mysql',
  checkLocation: checkMysqlUrl,
  options: serverOptions,
  open,
  testing: { needs: 'server', server: 'mariadb', image: 'mariadb:11', kit: async () => (await kit()).mariadb },
});

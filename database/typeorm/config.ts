import type { ServerOptions } from '../../src/repositories/backend.js';

/** SQLite's options: the database file and how long a writer waits for another connection's lock. */
export interface SqliteOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  file: string;
  busyTimeoutMs: number;
  /** PRAGMA synchronous: FULL survives power loss; NORMAL (with WAL) only process crashes. */
  synchronous: 'FULL' | 'NORMAL';
}

export type SqliteConfig = { type: 'sqlite' } & SqliteOptions;
export type SqlServerConfig = { type: 'postgres' | 'mysql' | 'mariadb' } & ServerOptions;
/** What the TypeORM adapter opens: one of its dialects with that dialect's options. */
export type TypeormConfig = SqliteConfig | SqlServerConfig;

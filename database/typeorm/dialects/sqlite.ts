import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../../migrations/sqlite/index.js';
import type { SqliteConfig } from '../config.js';
import { mapSqliteError } from '../map-sqlite-error.js';
import { Mutex } from '../mutex.js';
import { sqliteDirectSql } from '../sqlite-sql.js';
import type { Dialect } from './dialect.js';

/**
 * SQLite through better-sqlite3: one synchronous connection. Timestamps are INTEGER epoch
 * milliseconds (SQLite has no timestamp type; integers keep exact milliseconds, compare
 * numerically and need no time-zone parsing). JSON is TEXT, stored as written.
 */
export function sqliteDialect(config: SqliteConfig): Dialect {
  const mutex = new Mutex();
  return {
    kind: 'sqlite',
    migrations: SQLITE_MIGRATIONS,

    async dataSourceOptions() {
      const file = config.file;
      if (file !== ':memory:') await makeParents(file);
      return {
        type: 'better-sqlite3',
        database: file,
        timeout: config.busyTimeoutMs,
        enableWAL: true,
        prepareDatabase: (db: Database.Database) => {
          // TypeORM sets these too; stated here because the adapter depends on them.
          db.pragma(`busy_timeout = ${Math.trunc(config.busyTimeoutMs)}`);
          db.pragma('foreign_keys = ON');
          db.pragma(`synchronous = ${config.synchronous}`);
          if (file !== ':memory:') db.pragma('journal_mode = WAL');
        },
      };
    },

    placeholders: (sql) => sql,
    time: (value) => value.getTime(),
    timeParam: '?',
    // SQLite's two-argument MAX() is its scalar GREATEST.
    greatest: (a, b) => `MAX(${a}, ${b})`,
    insertIgnore: (table, columns, source) => `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) ${source}`,
    columnTypes: {
      key: { type: 'text' },
      text: { type: 'text' },
      int: { type: 'integer' },
      time: { type: 'integer' },
      json: { type: 'text' },
    },

    translate: mapSqliteError,
    serialize: (work) => mutex.run(work),
    lockMigrations: (work) => work(),
    begin: 'BEGIN IMMEDIATE',
    afterInitialize: async () => {},
    // One synchronous connection: a statement either finishes or fails; there is no client timer.
    spoilsConnection: () => false,
    destroyConnection: () => {},
    acquireTimeoutMs: undefined,
    directSql: sqliteDirectSql,
  };
}

/**
 * Creates the folders above the database file that do not exist yet. One level at a time rather
 * than `mkdir({ recursive: true })`, which never returns for a path under a pseudo-filesystem such
 * as /proc; a parent that is a file fails with a clear message.
 */
async function makeParents(file: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = dirname(resolve(file)); ; ) {
    const found = await stat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (found && !found.isDirectory()) throw new Error(`${dir} is a file, not a folder`);
    if (found) break;
    missing.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const dir of missing) {
    await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}

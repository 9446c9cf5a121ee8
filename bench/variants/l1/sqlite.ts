import Database from 'better-sqlite3';
import { sqlL1, type SqlConn, type SqlDriver } from './sql.js';
import type { L1Db } from './types.js';

/**
 * L1 on better-sqlite3 with the adapter's settings (WAL, foreign keys, busy timeout) and cached
 * prepared statements. The driver is synchronous; each call still returns a promise so the
 * request path has the same shape as on the server databases.
 */
export async function openSqlite(file: string): Promise<L1Db> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const prepare = (text: string) => {
    let s = statements.get(text);
    if (!s) {
      s = db.prepare(text);
      statements.set(text, s);
    }
    return s;
  };
  const conn: SqlConn = {
    rows: async (text, params) => {
      const s = prepare(text);
      if (s.reader) return s.all(...params) as Record<string, unknown>[];
      s.run(...params);
      return [];
    },
    exec: async (text, params) => prepare(text).run(...params).changes,
  };
  let tail: Promise<unknown> = Promise.resolve();
  const driver: SqlDriver = {
    kind: 'sqlite',
    placeholders: (text) => text,
    time: (d) => d.getTime(),
    timeParam: '?',
    greatest: (a, b) => `MAX(${a}, ${b})`,
    read: conn,
    tx(work) {
      // One connection, so transactions take turns; BEGIN IMMEDIATE takes the write lock up front.
      const run = tail.then(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(conn);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      });
      tail = run.catch(() => undefined);
      return run;
    },
    async insertMany(table, columns, rows) {
      const insert = db.prepare(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
      db.transaction(() => {
        for (const r of rows) insert.run(...r);
      })();
    },
    async close() {
      db.close();
    },
  };
  return sqlL1(driver);
}

import type Database from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import type { Sql, WriteResult } from './db.js';
import type { DirectSql } from './dialects/dialect.js';
import type { Row } from './row-mapper.js';

/**
 * Statements straight on better-sqlite3's connection (issue 13, item 4). Its calls are
 * synchronous and take microseconds; TypeORM's query runner wrapped each in several promise hops,
 * a broadcaster and a logger call, which cost more than the query. Prepared statements are kept
 * by their text. The TypeORM DataSource still owns the connection (opening, pragmas, migrations,
 * closing); the dialect's mutex keeps units of work apart as before.
 */
export function sqliteDirectSql(dataSource: DataSource): DirectSql {
  const driver = dataSource.driver as unknown as { databaseConnection: Database.Database };
  const statements = new Map<string, Database.Statement>();
  const prepare = (text: string): Database.Statement => {
    const handle = driver.databaseConnection;
    let statement = statements.get(text);
    if (statement === undefined || statement.database !== handle) {
      statement = handle.prepare(text);
      // Our SQL texts are few; a bulk import's varying row counts are not worth keeping.
      if (statements.size > 500) statements.clear();
      statements.set(text, statement);
    }
    return statement;
  };
  const run = (text: string, params: readonly unknown[]): { rows: Row[]; changes: number } => {
    try {
      const statement = prepare(text);
      if (statement.reader) return { rows: statement.all(...params) as Row[], changes: 0 };
      return { rows: [], changes: statement.run(...params).changes };
    } catch (error) {
      throw new SqliteStatementError(text, error);
    }
  };
  const sql: Sql = {
    rows: <R extends Row>(text: string, params: readonly unknown[] = []) =>
      Promise.resolve(run(text, params).rows as R[]),
    exec: (text: string, params: readonly unknown[] = []) => Promise.resolve(run(text, params).changes),
    write: (text: string, params: readonly unknown[] = []): Promise<WriteResult> =>
      Promise.resolve({ affected: run(text, params).changes, insertId: 0 }),
  };
  return {
    ...sql,
    async transaction(work) {
      // BEGIN IMMEDIATE takes the write lock at once, so a writer in another process makes this
      // one wait on busy_timeout instead of failing when a read lock cannot be upgraded.
      run('BEGIN IMMEDIATE', []);
      let result;
      try {
        result = await work(sql);
      } catch (error) {
        rollback();
        throw error;
      }
      try {
        run('COMMIT', []);
      } catch (error) {
        // SQLite keeps the transaction open when COMMIT is refused (SQLITE_BUSY).
        rollback();
        throw error;
      }
      return result;
    },
  };

  function rollback(): void {
    try {
      if (driver.databaseConnection.inTransaction) run('ROLLBACK', []);
    } catch {
      // The connection is closed or the transaction already ended; nothing is left to undo.
    }
  }
}

/**
 * A failed statement in the shape TypeORM gives the other dialects' errors (`driverError`,
 * `query`), so map-sqlite-error.ts reads the code and the table the same way.
 */
export class SqliteStatementError extends Error {
  readonly driverError: unknown;
  readonly query: string;

  constructor(query: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'SqliteStatementError';
    this.driverError = cause;
    this.query = query;
  }
}

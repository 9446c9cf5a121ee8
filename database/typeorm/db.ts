import { setTimeout as sleep } from 'node:timers/promises';
import { QueryRunnerAlreadyReleasedError, type DataSource, type QueryResult, type QueryRunner } from 'typeorm';
import { UnavailableError } from '../../src/domain/errors.js';
import type { Dialect, DirectSql, ScriptPool } from './dialects/dialect.js';
import type { Row } from './row-mapper.js';

/** Parameterized SQL on one connection. Placeholders are `?` on every dialect. */
export interface Sql {
  rows<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a write and returns the number of rows it matched. */
  exec(text: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs a write and returns its row count with the id the server reports back: on MySQL/MariaDB
   * the statement's `LAST_INSERT_ID(expr)` (how an UPDATE hands back a counter it set without a
   * second statement); 0 where the dialect has none (the others use RETURNING).
   */
  write(text: string, params?: readonly unknown[]): Promise<WriteResult>;
}

export interface WriteResult {
  affected: number;
  insertId: number;
}

/** A deadlock or serialization failure usually clears at once; give up after this many attempts. */
const ATTEMPTS = 5;

/**
 * The adapter's edge: every statement runs through here, and every error leaving here is a domain
 * error (drivers' errors are translated by the dialect's map-<dialect>-error.ts).
 */
export class Db {
  /**
   * SQLite only: better-sqlite3's connection itself, so statements skip TypeORM's query runner
   * (see sqlite-sql.ts). Units of work are still queued by the dialect's mutex.
   */
  private readonly direct: DirectSql | undefined;
  /** MySQL/MariaDB only: the multi-statement pool (see Dialect.scripts and `script`). */
  private readonly scripts: ScriptPool | undefined;

  constructor(
    readonly dataSource: DataSource,
    readonly dialect: Dialect,
  ) {
    this.direct = dialect.directSql?.(dataSource);
    this.scripts = dialect.scripts?.(dataSource);
  }

  /**
   * Sends several statements as one query, one round trip, and returns one result per statement
   * (an array of rows, or mysql2's header with affectedRows and insertId). The script holds its own
   * START TRANSACTION … COMMIT; after any failure it was rolled back (see ScriptPool.run). Run
   * again from the start after a deadlock, like `tx`. Only for texts built from constants.
   */
  async script(text: string, params: readonly unknown[]): Promise<unknown[]> {
    const scripts = this.scripts;
    if (!scripts) throw new Error(`${this.dialect.kind} runs no multi-statement scripts`);
    return this.retried(() => scripts.run(text, params));
  }

  /** Ends what the Db opened besides the DataSource (the multi-statement pool). */
  async close(): Promise<void> {
    await this.scripts?.close();
  }

  /** Reads on one pooled connection, without a transaction. */
  read<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    const direct = this.direct;
    if (direct) return this.guard(() => work(direct));
    return this.guard(() => this.withRunner((runner) => work(this.sql(runner))));
  }

  /**
   * One statement that changes data, on its own: atomic by itself, so it runs without BEGIN and
   * COMMIT (one round trip), and is run again like a transaction after a deadlock.
   */
  once<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.retried(() => this.dialect.serialize(() => this.withRunner((runner) => work(this.sql(runner)))));
  }

  /**
   * Runs `work` in one transaction, retried from the start when the database aborts it for a
   * deadlock or serialization failure. Domain errors thrown by `work` roll it back unchanged.
   */
  tx<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    const direct = this.direct;
    if (direct) return this.retried(() => this.dialect.serialize(() => direct.transaction(work)));
    return this.retried(() =>
      this.dialect.serialize(() => this.withRunner((runner) => this.inTransaction(runner, work))),
    );
  }

  /**
   * Runs `attempt`, and again from the start (up to ATTEMPTS times, with a growing random pause)
   * while the database aborts it for a deadlock or serialization failure; errors translated.
   */
  private async retried<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const { error: translated, retryable } = this.dialect.translate(error);
        if (!retryable || n >= ATTEMPTS) throw translated;
        await sleep(Math.random() * 10 * 2 ** n);
      }
    }
  }

  /** Runs `work` exclusively (on SQLite) with errors translated; for schema operations. */
  guard<T>(work: () => Promise<T>): Promise<T> {
    return this.dialect.serialize(work).catch((error: unknown) => {
      throw this.dialect.translate(error).error;
    });
  }

  private async withRunner<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      // Taking a pooled connection can fail with any code the server sends before a session
      // exists (PostgreSQL: 55000 for a database not accepting connections; MariaDB: 4151 for a
      // locked account). No statement ran, so whatever the reason, the database is unavailable.
      await this.connect(runner).catch((error: unknown) => {
        throw asUnavailable(this.dialect, error, `cannot connect to ${this.dialect.kind}`);
      });
      return await work(runner);
    } catch (error) {
      if (this.dialect.spoilsConnection(error)) {
        this.dialect.destroyConnection(runner, error);
        throw new UnavailableError(`${this.dialect.kind} did not answer in time`, 2, error);
      }
      // TypeORM releases a runner itself when its connection fails while we hold it (PostgreSQL:
      // the server ended the session between two statements of a transaction); the next
      // statement, COMMIT included, then throws this. The session and its transaction are gone.
      if (error instanceof QueryRunnerAlreadyReleasedError)
        throw new UnavailableError(`the ${this.dialect.kind} connection was lost`, 2, error);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * Takes a pooled connection for the runner, within the dialect's acquire timeout where the pool
   * has none of its own. A connection that arrives after the deadline goes straight back.
   */
  private async connect(runner: QueryRunner): Promise<void> {
    const limit = this.dialect.acquireTimeoutMs;
    const connecting = runner.connect();
    if (limit === undefined) {
      await connecting;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), limit);
    });
    try {
      if ((await Promise.race([connecting, deadline])) === 'late') {
        connecting.then(
          () => runner.release(),
          () => undefined,
        );
        throw new UnavailableError(`no ${this.dialect.kind} connection became free within ${limit} ms`, 2);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async inTransaction<T>(runner: QueryRunner, work: (sql: Sql) => Promise<T>): Promise<T> {
    const { begin } = this.dialect;
    // A dialect with its own BEGIN (SQLite: BEGIN IMMEDIATE) ends the transaction with plain SQL
    // too, since TypeORM's transaction methods did not start it.
    const rollback = () => (begin ? runner.query('ROLLBACK') : runner.rollbackTransaction());
    if (begin) await runner.query(begin);
    else await runner.startTransaction();
    let result: T;
    try {
      result = await work(this.sql(runner));
    } catch (error) {
      // A broken connection cannot roll back; the server discards the transaction anyway. A
      // spoiled one (see Dialect.spoilsConnection) would queue the ROLLBACK behind the statement.
      if (!this.dialect.spoilsConnection(error)) await rollback().catch(() => undefined);
      throw error;
    }
    try {
      if (begin) await runner.query('COMMIT');
      else await runner.commitTransaction();
    } catch (error) {
      // SQLite keeps the transaction open when COMMIT is refused (SQLITE_BUSY).
      await rollback().catch(() => undefined);
      throw error;
    }
    return result;
  }

  private sql(runner: QueryRunner): Sql {
    const run = async (text: string, params: readonly unknown[]) =>
      (await runner.query(this.dialect.placeholders(text), [...params], true)) as QueryResult;
    return {
      rows: async <R extends Row>(text: string, params: readonly unknown[] = []) =>
        ((await run(text, params)).records ?? []) as R[],
      exec: async (text: string, params: readonly unknown[] = []) => (await run(text, params)).affected ?? 0,
      write: async (text: string, params: readonly unknown[] = []) => {
        const result = await run(text, params);
        const raw = result.raw as { insertId?: unknown } | null | undefined;
        return { affected: result.affected ?? 0, insertId: Number(raw?.insertId ?? 0) };
      },
    };
  }
}

/** Whatever stops us reaching the database (refused, closed, misconfigured) is "unavailable" to callers. */
export function asUnavailable(dialect: Dialect, error: unknown, message: string): UnavailableError {
  if (error instanceof UnavailableError) return error;
  const translated = dialect.translate(error).error;
  return translated instanceof UnavailableError
    ? translated
    : new UnavailableError(`${message}: ${translated.message}`, 2, error);
}

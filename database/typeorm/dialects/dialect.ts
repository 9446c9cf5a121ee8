import type { DataSource, DataSourceOptions, MigrationInterface, QueryRunner } from 'typeorm';
import type { StoreLogger } from '../../../src/repositories/ports.js';
import type { Sql } from '../db.js';

/**
 * Everything that differs between the SQL databases, in one small object per dialect. The
 * repositories share one code path and ask the dialect only for these pieces; the reasons behind
 * each choice are in DIALECTS.md.
 */
export interface Dialect {
  /** The store's `kind`: sqlite, postgres, mysql or mariadb. */
  readonly kind: string;
  /** This dialect's migrations (migrations/<dialect>/index.ts), oldest first. */
  readonly migrations: ReadonlyArray<new () => MigrationInterface>;

  /**
   * TypeORM's connection options (driver, pool, TLS, timeouts) for the config the dialect was made
   * with; entities and migrations are added by the caller.
   */
  dataSourceOptions(log: StoreLogger): Promise<DataSourceOptions>;
  /** Rewrites the `?` placeholders our SQL is written with into the driver's own syntax. */
  placeholders(sql: string): string;
  /** A bound timestamp as the driver wants it. */
  time(value: Date): unknown;
  /** SQL for one bound timestamp parameter (a cast where the database would otherwise compare text). */
  readonly timeParam: string;
  /** The later of two timestamp expressions (neither is NULL). */
  greatest(a: string, b: string): string;
  /**
   * `INSERT INTO table (columns) <source>` (`VALUES (…)` or a `SELECT`) that skips rows whose key
   * exists instead of failing; the statement's row count says how many were inserted.
   */
  insertIgnore(table: string, columns: readonly string[], source: string): string;
  /** Column types for the TypeORM entity schemas, matching what the migrations create. */
  readonly columnTypes: ColumnTypes;

  /** Turns a driver error into a domain error, and says whether running the transaction again may succeed. */
  translate(error: unknown): TranslatedError;
  /**
   * Runs database work exclusively when the driver cannot overlap it (SQLite has one connection
   * and TypeORM one query runner for it); a plain call elsewhere.
   */
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs migrations holding a lock other processes migrating the same database wait for
   * (PostgreSQL: an advisory lock; MySQL/MariaDB: GET_LOCK), on a connection of its own so the
   * pool stays free for the migrations themselves. SQLite has none: see convergeMigrations.
   */
  lockMigrations<T>(work: () => Promise<T>): Promise<T>;

  /**
   * The statement that opens a write transaction, where the dialect needs other than TypeORM's.
   * SQLite: BEGIN IMMEDIATE takes the write lock at the start, so a writer waits on the busy
   * timeout instead of failing at once when its read lock cannot be upgraded.
   */
  readonly begin: string | undefined;
  /** Runs once the DataSource is up (session settings on every pooled connection, for instance). */
  afterInitialize(dataSource: DataSource): Promise<void>;
  /**
   * Whether a failure leaves the connection in an unknown state: a client-side timeout, after
   * which the statement may still run on the server and anything sent next would queue behind
   * it. Such a connection is destroyed (see destroyConnection) and gets no ROLLBACK.
   */
  spoilsConnection(error: unknown): boolean;
  /** Takes the runner's connection out of the pool for good instead of returning it. */
  destroyConnection(runner: QueryRunner, error: unknown): void;
  /**
   * How long a request may wait for a pooled connection before it is answered 503, where the
   * driver's pool does not bound that wait itself (mysql2); undefined where it does or need not.
   */
  readonly acquireTimeoutMs: number | undefined;
  /**
   * Where the driver is in-process and synchronous (SQLite), statements on its connection without
   * TypeORM's query runner; units of work still go through `serialize`.
   */
  readonly directSql?: (dataSource: DataSource) => DirectSql;
  /**
   * MySQL/MariaDB only: a pool of its own whose connections accept several statements in one
   * query, for the few units of work sent as one script (the post; DIALECTS.md, "Posting a
   * message"). The DataSource's own pool keeps refusing them.
   */
  readonly scripts?: (dataSource: DataSource) => ScriptPool;
}

/** Multi-statement scripts on connections of their own (see Dialect.scripts). */
export interface ScriptPool {
  /**
   * Runs `text` (statements separated by `;`, values bound client-side to its `?`) and returns
   * one result per statement. After a failure, the open transaction is rolled back before the
   * connection goes back to the pool (or the connection is destroyed when spoiled).
   */
  run(text: string, params: readonly unknown[]): Promise<unknown[]>;
  close(): Promise<void>;
}

/** Statements straight on the driver's connection, and transactions on it (see Dialect.directSql). */
export interface DirectSql extends Sql {
  /** Runs `work` between BEGIN and COMMIT (ROLLBACK when it throws); the caller serializes. */
  transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
}

/**
 * How much longer than DATABASE_STATEMENT_TIMEOUT_MS the client waits for an answer: the server
 * ends a long statement itself (and keeps the connection usable); the client's own timer is for
 * a server that stopped answering at all.
 */
export const CLIENT_TIMEOUT_GRACE_MS = 2000;

/** How long a migrating process waits for another one's migration lock. */
export const MIGRATION_LOCK_TIMEOUT_S = 120;

export interface TranslatedError {
  error: Error;
  /** A deadlock, serialization failure or busy database: the whole transaction may be retried. */
  retryable: boolean;
}

/** TypeORM column types for each kind of value we store. */
export interface ColumnTypes {
  key: { type: string; collation?: string };
  text: { type: string; collation?: string };
  int: { type: string };
  time: { type: string; precision?: number };
  json: { type: string };
}

/** Rewrites `?` into `$1, $2, …` (PostgreSQL); our SQL never has `?` inside literals. */
export function numberedPlaceholders(): (sql: string) => string {
  const cache = new Map<string, string>();
  return (sql) => {
    let out = cache.get(sql);
    if (out === undefined) {
      let n = 0;
      out = sql.replace(/\?/g, () => `$${++n}`);
      if (cache.size > 500) cache.clear();
      cache.set(sql, out);
    }
    return out;
  };
}

import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapSqliteError } from '../../database/typeorm/map-sqlite-error.js';
import { SQLITE_MIGRATIONS } from '../../migrations/sqlite/index.js';
import { ValidationError } from '../../src/domain/errors.js';
import { duplicate, expectTranslated, failure, notFound, unavailable, viaTypeorm, type Row } from './expect.js';

/** better-sqlite3's own error class: the extended result code in `code`, SQLite's message. */
const sqlite = (code: string, message: string) => new Database.SqliteError(message, code);
const unique = (columns: string, code = 'SQLITE_CONSTRAINT_UNIQUE') =>
  sqlite(code, `UNIQUE constraint failed: ${columns}`);
const pk = (columns: string) => unique(columns, 'SQLITE_CONSTRAINT_PRIMARYKEY');
const checkFailed = (expression: string) => sqlite('SQLITE_CONSTRAINT_CHECK', `CHECK constraint failed: ${expression}`);

const INSERT_USER =
  'INSERT INTO users (id, handle, display_name, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?)';
const INSERT_PARTICIPANT = 'INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)';
const INSERT_MESSAGE =
  'INSERT INTO messages (id, conversation_id, author_id, role, content, metadata, client_message_id, created_at,' +
  ' version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)';

const rows: Row[] = [
  // SQLite names the key's columns, `table.column, …` (migrations/sqlite/0001), never the index.
  {
    name: 'users.handle',
    error: viaTypeorm(unique('users.handle'), INSERT_USER),
    expected: duplicate('user', 'handle'),
  },
  { name: 'users.id (PRIMARYKEY)', error: viaTypeorm(pk('users.id'), INSERT_USER), expected: duplicate('user', 'id') },
  { name: 'conversations.id', error: pk('conversations.id'), expected: duplicate('conversation', 'id') },
  {
    name: 'participants.conversation_id, participants.user_id',
    error: viaTypeorm(pk('participants.conversation_id, participants.user_id'), INSERT_PARTICIPANT),
    expected: duplicate('participant', 'userId'),
  },
  { name: 'messages.id', error: viaTypeorm(pk('messages.id'), INSERT_MESSAGE), expected: duplicate('message', 'id') },
  {
    name: 'messages.conversation_id, messages.client_message_id',
    error: viaTypeorm(unique('messages.conversation_id, messages.client_message_id'), INSERT_MESSAGE),
    expected: duplicate('message', 'clientMessageId'),
  },
  { name: 'audit_entries.id', error: pk('audit_entries.id'), expected: duplicate('audit', 'id') },
  {
    name: 'a key the schema does not have: a failure, not an invented conflict',
    error: viaTypeorm(unique('users.email'), INSERT_USER),
    expected: failure({
      constraint: 'users.email',
      message: "sqlite refused a duplicate on unique key users.email, which is not one of the schema's keys",
    }),
  },
  {
    name: 'the columns of one of our keys in another order are not that key',
    error: unique('messages.client_message_id, messages.conversation_id'),
    expected: failure({ constraint: 'messages.client_message_id, messages.conversation_id' }),
  },
  {
    name: 'an expression index, which SQLite reports by name',
    error: unique("index 'uq_users_lower_handle'"),
    expected: failure({ constraint: "index 'uq_users_lower_handle'" }),
  },
  // Foreign keys: SQLite names none; every one of ours points at conversations.
  {
    name: 'FOREIGN KEY constraint failed',
    error: viaTypeorm(sqlite('SQLITE_CONSTRAINT_FOREIGNKEY', 'FOREIGN KEY constraint failed'), INSERT_MESSAGE),
    expected: notFound('conversation', 'unknown'),
  },
  // CHECK: our checks are unnamed column checks; SQLite reports the expression, the statement the table.
  {
    name: 'json_valid(content) on INSERT INTO messages',
    error: viaTypeorm(checkFailed('json_valid(content)'), INSERT_MESSAGE),
    expected: failure({
      constraint: 'json_valid(content)',
      entity: 'message',
      field: 'content',
      message: 'sqlite refused message.content: CHECK constraint json_valid(content) failed',
    }),
  },
  {
    name: 'json_valid(metadata) on UPDATE conversations',
    error: viaTypeorm(checkFailed('json_valid(metadata)'), 'UPDATE conversations SET metadata = ? WHERE id = ?'),
    expected: failure({ entity: 'conversation', field: 'metadata' }),
  },
  {
    name: 'json_valid(diff) on INSERT INTO audit_entries',
    error: viaTypeorm(checkFailed('json_valid(diff)'), 'INSERT INTO audit_entries (id, diff) VALUES (?, ?)'),
    expected: failure({ entity: 'audit', field: 'diff' }),
  },
  {
    name: 'json_valid(metadata) with no statement to tell the table',
    error: checkFailed('json_valid(metadata)'),
    expected: failure({
      constraint: 'json_valid(metadata)',
      entity: undefined,
      message: 'sqlite refused the row: CHECK constraint json_valid(metadata) failed',
    }),
  },
  {
    name: 'a named CHECK reports its name',
    error: viaTypeorm(checkFailed('ck_messages_content'), INSERT_MESSAGE),
    expected: failure({ constraint: 'ck_messages_content', entity: 'message', field: 'content' }),
  },
  // Another process holds the file: the transaction may run again.
  { name: 'SQLITE_BUSY', error: sqlite('SQLITE_BUSY', 'database is locked'), expected: unavailable(1, true) },
  {
    name: 'SQLITE_BUSY_SNAPSHOT',
    error: sqlite('SQLITE_BUSY_SNAPSHOT', 'database is locked'),
    expected: unavailable(1, true),
  },
  { name: 'SQLITE_LOCKED', error: sqlite('SQLITE_LOCKED', 'database table is locked'), expected: unavailable(1, true) },
  // The file cannot be written: 503, not retried.
  {
    name: 'SQLITE_CANTOPEN',
    error: sqlite('SQLITE_CANTOPEN', 'unable to open database file'),
    expected: unavailable(5, false, 'the SQLite database cannot be written (SQLITE_CANTOPEN)'),
  },
  { name: 'SQLITE_FULL', error: sqlite('SQLITE_FULL', 'database or disk is full'), expected: unavailable(5, false) },
  {
    name: 'SQLITE_READONLY',
    error: sqlite('SQLITE_READONLY', 'attempt to write a readonly database'),
    expected: unavailable(5, false),
  },
  {
    name: 'a closed store (better-sqlite3 throws a TypeError)',
    error: new TypeError('The database connection is not open'),
    expected: unavailable(2, false, 'the SQLite database is closed'),
  },
  // Anything else is a bug.
  {
    name: 'SQLITE_CONSTRAINT_NOTNULL',
    error: viaTypeorm(sqlite('SQLITE_CONSTRAINT_NOTNULL', 'NOT NULL constraint failed: users.handle'), INSERT_USER),
    expected: failure({
      message: 'sqlite query failed (SQLITE_CONSTRAINT_NOTNULL): NOT NULL constraint failed: users.handle',
    }),
  },
  {
    name: 'SQLITE_CONSTRAINT_DATATYPE (a STRICT table)',
    error: sqlite('SQLITE_CONSTRAINT_DATATYPE', 'cannot store TEXT value in INTEGER column users.version'),
    expected: failure({ message: expect.stringContaining('(SQLITE_CONSTRAINT_DATATYPE)') }),
  },
  {
    name: 'SQLITE_ERROR',
    error: sqlite('SQLITE_ERROR', 'no such table: users'),
    expected: failure({ message: 'sqlite query failed (SQLITE_ERROR): no such table: users' }),
  },
];

describe('mapSqliteError', () => {
  it.each(rows)('$name', ({ error, expected }) => {
    expectTranslated(mapSqliteError(error), error, expected);
  });

  it('passes domain errors through', () => {
    const error = ValidationError.field('content', 'bad');
    expect(mapSqliteError(error)).toEqual({ error, retryable: false });
  });
});

// ---------------------------------------------------------------------------------------------
// The same rows on a real SQLite database: errors provoked on the migrated schema, mapped as they come.

describe('mapSqliteError on errors from a real SQLite database', () => {
  let dir: string;
  let db: Database.Database;
  const now = Date.now();
  const message = (id: string, conversationId: string, clientMessageId: string | null, content = '[]') =>
    [id, conversationId, 'u1', 'user', content, '{}', clientMessageId, now] as const;

  /** Runs a statement that must fail, and hands back its error as TypeORM would. */
  function failing(sql: string, params: unknown[] = [], on: Database.Database = db) {
    try {
      on.prepare(sql).run(...params);
    } catch (error) {
      expect(error).toBeInstanceOf(Database.SqliteError);
      return viaTypeorm(error as Error, sql, params);
    }
    throw new Error(`expected to fail: ${sql}`);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polystore-errors-'));
    db = new Database(join(dir, 'store.db'));
    db.pragma('foreign_keys = ON');
    db.pragma('journal_mode = WAL');
    const runner = { query: async (sql: string) => db.exec(sql) } as unknown as QueryRunner;
    for (const Migration of SQLITE_MIGRATIONS) await new Migration().up(runner);
    db.prepare(INSERT_USER).run('u1', 'ada', 'Ada', now, now, 1);
    db.prepare(
      `INSERT INTO conversations
         (id, title, metadata, created_by, created_at, updated_at, activity_at, message_count, version)
       VALUES ('c1', NULL, '{}', 'u1', ?, ?, ?, 0, 1)`,
    ).run(now, now, now);
    db.prepare(INSERT_PARTICIPANT).run('c1', 'u1', 'owner', now);
    db.prepare(INSERT_MESSAGE).run('m1', 'c1', 'u1', 'user', '[]', '{}', 'k1', now);
  });

  afterAll(async () => {
    db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a taken handle', INSERT_USER, ['u2', 'ada', 'Ada', now, now, 1], duplicate('user', 'handle')],
    ['a taken user id', INSERT_USER, ['u1', 'grace', 'Grace', now, now, 1], duplicate('user', 'id')],
    ['a second participant row', INSERT_PARTICIPANT, ['c1', 'u1', 'member', now], duplicate('participant', 'userId')],
    ['a repeated clientMessageId', INSERT_MESSAGE, message('m2', 'c1', 'k1'), duplicate('message', 'clientMessageId')],
    ['a taken message id', INSERT_MESSAGE, message('m1', 'c1', null), duplicate('message', 'id')],
    ['a missing conversation', INSERT_MESSAGE, message('m3', 'c404', null), notFound('conversation', 'unknown')],
    [
      'content that is not JSON',
      INSERT_MESSAGE,
      message('m4', 'c1', null, 'not json'),
      failure({ constraint: 'json_valid(content)', entity: 'message', field: 'content' }),
    ],
    [
      'metadata that is not JSON',
      "UPDATE conversations SET metadata = ? WHERE id = 'c1'",
      ['{'],
      failure({ constraint: 'json_valid(metadata)', entity: 'conversation', field: 'metadata' }),
    ],
  ] as const)('%s', (_name, sql, params, expected) => {
    const error = failing(sql, [...params]);
    expectTranslated(mapSqliteError(error), error, expected);
  });

  it('a file locked by another connection is SQLITE_BUSY, retryable', () => {
    const other = new Database(join(dir, 'store.db'), { timeout: 0 });
    try {
      db.exec('BEGIN IMMEDIATE');
      const error = failing(INSERT_USER, ['u9', 'zoe', 'Zoe', now, now, 1], other);
      expect(error).toMatchObject({ code: 'SQLITE_BUSY' });
      expectTranslated(mapSqliteError(error), error, unavailable(1, true));
    } finally {
      db.exec('ROLLBACK');
      other.close();
    }
  });
});

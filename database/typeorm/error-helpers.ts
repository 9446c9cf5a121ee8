import { DomainError, DuplicateError, NotFoundError, type EntityName } from '../../src/domain/errors.js';

/**
 * What the three SQL error maps share: the schema's constraints (as migrations/<dialect>/0001-*
 * name them) with the domain field each stands for, and the two errors a mapper may produce
 * besides domain errors.
 */

/** One unique key of the schema: its table and columns, and the domain field a duplicate is about. */
export interface UniqueKey {
  name: string;
  table: string;
  columns: readonly string[];
  entity: EntityName;
  field: string;
}

const byName = <T extends { name: string }>(entries: T[]): Record<string, T> =>
  Object.fromEntries(entries.map((entry) => [entry.name, entry]));

/**
 * Every unique key of the migrations, by constraint name. The drivers report a violated key
 * differently — PostgreSQL: the constraint name; MariaDB: the key name, `PRIMARY` for any primary
 * key; MySQL 8: `table.key`; SQLite: `table.column, …` — so each mapper reads what its driver
 * gives and looks the key up with one of the functions below.
 */
const UNIQUE_KEYS = byName<UniqueKey>([
  { name: 'pk_users', table: 'users', columns: ['id'], entity: 'user', field: 'id' },
  { name: 'uq_users_handle', table: 'users', columns: ['handle'], entity: 'user', field: 'handle' },
  { name: 'pk_conversations', table: 'conversations', columns: ['id'], entity: 'conversation', field: 'id' },
  // A user is a participant of a conversation once.
  {
    name: 'pk_participants',
    table: 'participants',
    columns: ['conversation_id', 'user_id'],
    entity: 'participant',
    field: 'userId',
  },
  { name: 'pk_messages', table: 'messages', columns: ['id'], entity: 'message', field: 'id' },
  {
    name: 'uq_messages_client_message',
    table: 'messages',
    columns: ['conversation_id', 'client_message_id'],
    entity: 'message',
    field: 'clientMessageId',
  },
  { name: 'pk_audit_entries', table: 'audit_entries', columns: ['id'], entity: 'audit', field: 'id' },
]);

const own = <T>(table: Record<string, T>, name: string | undefined): T | undefined =>
  name !== undefined && Object.hasOwn(table, name) ? table[name] : undefined;

/** A unique key by its constraint name (PostgreSQL, MariaDB, MySQL 8 without the `table.` prefix). */
export const uniqueKeyNamed = (name: string | undefined): UniqueKey | undefined => own(UNIQUE_KEYS, name);

/** The primary key of a table: MySQL and MariaDB call every primary key `PRIMARY`, whatever its name. */
export const primaryKeyOf = (table: string | undefined): UniqueKey | undefined => own(UNIQUE_KEYS, `pk_${table}`);

/** A unique key by SQLite's column list: `users.handle`, `messages.conversation_id, messages.client_message_id`. */
export function uniqueKeyOnColumns(list: string | undefined): UniqueKey | undefined {
  return Object.values(UNIQUE_KEYS).find((k) => k.columns.map((c) => `${k.table}.${c}`).join(', ') === list);
}

/**
 * A violated unique key. One of the schema's keys is a DuplicateError (409) naming its field. A key
 * the schema does not have is a DatabaseFailure (500): the database is not the one our migrations
 * made, and no field can honestly be named.
 * @param reported the key as the driver reported it, for the failure's message
 */
export function duplicateError(
  dialect: string,
  key: UniqueKey | undefined,
  reported: string | undefined,
  cause: unknown,
): DuplicateError | DatabaseFailure {
  if (key) return new DuplicateError(key.entity, key.field);
  const name = reported ?? '(unnamed)';
  const message = `${dialect} refused a duplicate on unique key ${name}, which is not one of the schema's keys`;
  return new DatabaseFailure(message, { cause, constraint: reported });
}

/** One CHECK constraint of the schema (MySQL/MariaDB and SQLite check that JSON text is JSON). */
export interface CheckConstraint {
  name: string;
  table: string;
  column: string;
  entity: EntityName;
  field: string;
}

/** The CHECK constraints of migrations/mysql (named), and of migrations/sqlite (unnamed, on the same columns). */
const CHECKS = byName<CheckConstraint>([
  {
    name: 'ck_conversations_metadata',
    table: 'conversations',
    column: 'metadata',
    entity: 'conversation',
    field: 'metadata',
  },
  { name: 'ck_messages_content', table: 'messages', column: 'content', entity: 'message', field: 'content' },
  { name: 'ck_messages_metadata', table: 'messages', column: 'metadata', entity: 'message', field: 'metadata' },
  { name: 'ck_audit_entries_diff', table: 'audit_entries', column: 'diff', entity: 'audit', field: 'diff' },
]);

export const checkNamed = (name: string | undefined): CheckConstraint | undefined => own(CHECKS, name);

/** SQLite's checks are unnamed and reported by their expression: the column and the statement's table tell them. */
export function checkOnColumn(table: string | undefined, column: string | undefined): CheckConstraint | undefined {
  return Object.values(CHECKS).find((c) => c.table === table && c.column === column);
}

/**
 * A CHECK constraint refused a row. The value passed the domain's validation, so the client did
 * nothing wrong and cannot fix it: this is a DatabaseFailure (500, logged), never a 400. The message
 * names the constraint and, when it is one of ours, the field it guards.
 * @param reported the constraint (or, on SQLite, the expression) as the driver reported it
 */
export function checkFailure(
  dialect: string,
  constraint: CheckConstraint | undefined,
  reported: string | undefined,
  cause: unknown,
): DatabaseFailure {
  const name = reported ?? '(unnamed)';
  if (!constraint) {
    const message = `${dialect} refused the row: CHECK constraint ${name} failed`;
    return new DatabaseFailure(message, { cause, constraint: reported });
  }
  const { entity, field } = constraint;
  return new DatabaseFailure(`${dialect} refused ${entity}.${field}: CHECK constraint ${name} failed`, {
    cause,
    constraint: reported,
    entity,
    field,
  });
}

/** The schema's foreign keys; every one of them points at conversations. */
const FOREIGN_KEYS = new Set(['fk_participants_conversation', 'fk_messages_conversation']);

/**
 * A failed reference. Every foreign key of the schema points at conversations, so the conversation
 * is gone (404). A foreign key the schema does not have is a DatabaseFailure (500).
 * @param constraint the foreign key the driver named; SQLite names none
 */
export function missingReference(
  dialect: string,
  constraint: string | undefined,
  conversationId: string | undefined,
  cause: unknown,
): NotFoundError | DatabaseFailure {
  if (constraint === undefined || FOREIGN_KEYS.has(constraint)) return missingConversation(conversationId);
  const message = `${dialect} refused a row for foreign key ${constraint}, which is not one of the schema's keys`;
  return new DatabaseFailure(message, { cause, constraint });
}

/** Every foreign key points at conversations: a failed reference means the conversation is gone. */
export function missingConversation(id: string | undefined): NotFoundError {
  return new NotFoundError('conversation', id ?? 'unknown');
}

/** The table a failed INSERT or UPDATE wrote to, read from its SQL. */
export function tableOfStatement(sql: unknown): string | undefined {
  if (typeof sql !== 'string') return undefined;
  return /^\s*(?:INSERT\s+INTO|UPDATE)\s+["`]?(\w+)/i.exec(sql)?.[1];
}

/** The driver's own error inside TypeORM's QueryFailedError (or the error itself). */
export function driverErrorOf(error: unknown): Record<string, unknown> & { message?: string } {
  const e = error as { driverError?: unknown } | null;
  const inner =
    e && typeof e === 'object' && e.driverError && typeof e.driverError === 'object' ? e.driverError : error;
  return (inner && typeof inner === 'object' ? inner : { message: String(inner) }) as Record<string, unknown> & {
    message?: string;
  };
}

/** The SQL of the failed statement: TypeORM's QueryFailedError has it as `query`, mysql2's own error as `sql`. */
export function statementOf(error: unknown): unknown {
  const e = error as { query?: unknown } | null;
  return (e && typeof e === 'object' ? e.query : undefined) ?? driverErrorOf(error).sql;
}

/** Which constraint a DatabaseFailure is about, when it is about one. */
export interface FailureDetails {
  /** The constraint (key, check) as the driver reported it. */
  constraint?: string | undefined;
  entity?: EntityName | undefined;
  field?: string | undefined;
}

/**
 * A database failure with no domain meaning (a bug, or a schema that is not ours): a 500, never a
 * driver type. The driver error stays only as `cause`, for logs.
 */
export class DatabaseFailure extends Error {
  override readonly name = 'DatabaseFailure';
  readonly constraint: string | undefined;
  readonly entity: EntityName | undefined;
  readonly field: string | undefined;

  constructor(message: string, options: { cause?: unknown } & FailureDetails = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.constraint = options.constraint;
    this.entity = options.entity;
    this.field = options.field;
  }
}

/** Keeps the driver's code and first message line; the driver error itself stays only as `cause`, for logs. */
export function unexpected(dialect: string, code: unknown, error: unknown): Error {
  const message = (driverErrorOf(error).message ?? String(error)).split('\n')[0];
  return new DatabaseFailure(`${dialect} query failed${code === undefined ? '' : ` (${String(code)})`}: ${message}`, {
    cause: error,
  });
}

/** Errors that are already ours pass through a mapper unchanged. */
export const alreadyTranslated = (error: unknown): error is Error =>
  error instanceof DomainError || error instanceof DatabaseFailure;

/** Node's socket errors: the database host cannot be reached or dropped the connection. */
export const SOCKET_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'] as const;

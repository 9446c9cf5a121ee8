import { DomainError, DuplicateError, NotFoundError, type EntityName } from '../../src/domain/errors.js';

/**
 * Which domain field a violated unique key stands for. The migrations name every key; the
 * drivers report them differently (PostgreSQL: constraint name; MySQL 8: `table.key`; MariaDB:
 * only the key, `PRIMARY` for a primary key; SQLite: `table.column, …`), so each error mapper
 * passes what it has and this table decides.
 */
const NAMED_KEYS: Record<string, [EntityName, string]> = {
  uq_users_handle: ['user', 'handle'],
  'users.handle': ['user', 'handle'],
  uq_messages_client_message: ['message', 'clientMessageId'],
  'messages.conversation_id, messages.client_message_id': ['message', 'clientMessageId'],
};

/** The primary key of each table, for keys reported only as `PRIMARY` or by their columns. */
const PRIMARY_KEYS: Record<string, [EntityName, string]> = {
  users: ['user', 'id'],
  conversations: ['conversation', 'id'],
  participants: ['participant', 'userId'],
  messages: ['message', 'id'],
  audit_entries: ['audit', 'id'],
};

/**
 * @param table the table written to, when known (from the error or the failed statement)
 * @param key the constraint name, `table.key`, or SQLite's column list
 */
export function duplicateError(table: string | undefined, key: string | undefined): DuplicateError {
  const named = key === undefined ? undefined : NAMED_KEYS[key] ?? NAMED_KEYS[key.replace(/^\w+\./, '')];
  if (named) return new DuplicateError(...named);
  const owner = table ?? key?.match(/^(?:pk_)?(\w+?)(?:\.|$)/)?.[1];
  const primary = owner === undefined ? undefined : PRIMARY_KEYS[owner];
  // Not reached with our schema: every unique key is named above or is a primary key.
  return primary ? new DuplicateError(...primary) : new DuplicateError('message', 'id', `unique key ${key ?? '?'} is already taken`);
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
  const inner = e && typeof e === 'object' && e.driverError && typeof e.driverError === 'object' ? e.driverError : error;
  return (inner && typeof inner === 'object' ? inner : { message: String(inner) }) as Record<string, unknown> & { message?: string };
}

/** A database failure with no domain meaning (a bug, or a schema that is not ours): a 500, never a driver type. */
export class DatabaseFailure extends Error {
  override readonly name = 'DatabaseFailure';
}

/** Keeps the driver's code and first message line; the driver error itself stays only as `cause`, for logs. */
export function unexpected(dialect: string, code: unknown, error: unknown): Error {
  const message = (driverErrorOf(error).message ?? String(error)).split('\n')[0];
  return new DatabaseFailure(`${dialect} query failed${code === undefined ? '' : ` (${String(code)})`}: ${message}`, { cause: error });
}

/** Errors that are already ours pass through a mapper unchanged. */
export const alreadyTranslated = (error: unknown): error is Error => error instanceof DomainError || error instanceof DatabaseFailure;

/** Node's socket errors: the database host cannot be reached or dropped the connection. */
export const SOCKET_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'] as const;

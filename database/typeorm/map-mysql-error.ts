import { UnavailableError } from '../../src/domain/errors.js';
import type { TranslatedError } from './dialects/dialect.js';
import { alreadyTranslated, driverErrorOf, duplicateError, missingConversation, tableOfStatement, unexpected, SOCKET_ERRORS } from './error-helpers.js';

/**
 * MySQL/MariaDB server error numbers and mysql2 client codes we give a meaning to.
 * @see https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html
 * @see https://mariadb.com/kb/en/mariadb-error-code-reference/
 */
export const MYSQL = {
  ER_DUP_ENTRY: 1062,
  ER_NO_REFERENCED_ROW_2: 1452,
  ER_LOCK_DEADLOCK: 1213,
  ER_LOCK_WAIT_TIMEOUT: 1205,
  ER_CON_COUNT_ERROR: 1040,
  ER_SERVER_SHUTDOWN: 1053,
  ER_QUERY_INTERRUPTED: 1317,
  /** MySQL's max_execution_time. */
  ER_QUERY_TIMEOUT: 3024,
  /** MariaDB's max_statement_time. */
  ER_STATEMENT_TIMEOUT: 1969,
} as const;

const UNREACHABLE_NUMBERS = new Set<number>([
  MYSQL.ER_LOCK_WAIT_TIMEOUT,
  MYSQL.ER_CON_COUNT_ERROR,
  MYSQL.ER_SERVER_SHUTDOWN,
  MYSQL.ER_QUERY_INTERRUPTED,
  MYSQL.ER_QUERY_TIMEOUT,
  MYSQL.ER_STATEMENT_TIMEOUT,
]);

/** mysql2's client-side codes for a lost, refused or timed-out connection or query. */
const UNREACHABLE_CODES = new Set<string>([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'POOL_CLOSED',
  ...SOCKET_ERRORS,
]);

/**
 * mysql2 reports a command issued on a connection that has just died with no code at all
 * ("Can't add new command when connection is in closed state"); the message is all there is.
 */
const closedConnection = (message: unknown) => typeof message === 'string' && /connection is in closed state/i.test(message);

export function mapMysqlError(error: unknown): TranslatedError {
  if (alreadyTranslated(error)) return { error, retryable: false };
  const e = driverErrorOf(error);
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  switch (errno) {
    case MYSQL.ER_DUP_ENTRY: {
      // "Duplicate entry 'x' for key 'users.uq_users_handle'" (MySQL 8) or "... for key 'uq_users_handle'" (MariaDB).
      const key = /for key '([^']+)'\s*$/.exec(String(e.sqlMessage ?? e.message ?? ''))?.[1];
      return { error: duplicateError(tableOfStatement((error as { query?: unknown }).query), key), retryable: false };
    }
    case MYSQL.ER_NO_REFERENCED_ROW_2:
      return { error: missingConversation(undefined), retryable: false };
    case MYSQL.ER_LOCK_DEADLOCK:
      return { error: new UnavailableError('MySQL aborted the transaction (deadlock)', 1, error), retryable: true };
  }
  if ((errno !== undefined && UNREACHABLE_NUMBERS.has(errno)) || (code !== undefined && UNREACHABLE_CODES.has(code)) || closedConnection(e.message)) {
    return { error: new UnavailableError(`MySQL is unavailable (${code ?? errno})`, 2, error), retryable: false };
  }
  return { error: unexpected('mysql', code ?? errno, error), retryable: false };
}

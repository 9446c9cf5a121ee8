import { UnavailableError } from '../../src/domain/errors.js';
import type { TranslatedError } from './dialects/dialect.js';
import {
  alreadyTranslated,
  checkFailure,
  checkNamed,
  driverErrorOf,
  duplicateError,
  missingReference,
  primaryKeyOf,
  statementOf,
  tableOfStatement,
  uniqueKeyNamed,
  unexpected,
  SOCKET_ERRORS,
} from './error-helpers.js';

/**
 * MySQL/MariaDB server error numbers and mysql2 client codes we give a meaning to.
 *
 * Numbers below 1900 mean the same on both servers; from 1900 up each numbers its own errors, and
 * the same number can mean different things (MariaDB's 4025 is a failed CHECK constraint, MySQL's
 * an InnoDB tablespace option). mysql2 names every number after MySQL, so its `code` is wrong for
 * MariaDB's own errors: names here come from this table, not from mysql2. Numbers of one server
 * are listed only when the other server's meaning of the number cannot come from our statements.
 * @see https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html
 * @see https://mariadb.com/kb/en/mariadb-error-code-reference/
 */
export const MYSQL = {
  ER_SERVER_SHUTDOWN: 1053,
  ER_CON_COUNT_ERROR: 1040,
  ER_DUP_ENTRY: 1062,
  ER_LOCK_WAIT_TIMEOUT: 1205,
  ER_LOCK_DEADLOCK: 1213,
  /** `read_only` / `super_read_only`: a replica, or a primary demoted by a failover. */
  ER_OPTION_PREVENTS_STATEMENT: 1290,
  ER_QUERY_INTERRUPTED: 1317,
  ER_NO_REFERENCED_ROW_2: 1452,
  /** MariaDB's max_statement_time. */
  ER_STATEMENT_TIMEOUT: 1969,
  /** MySQL's max_execution_time. */
  ER_QUERY_TIMEOUT: 3024,
  /** MySQL 8: Group Replication rolled the transaction back at commit (a certification conflict). */
  ER_TRANSACTION_ROLLBACK_DURING_COMMIT: 3101,
  /** MySQL 8's failed CHECK constraint: "Check constraint 'ck_messages_content' is violated." */
  ER_CHECK_CONSTRAINT_VIOLATED: 3819,
  /**
   * MariaDB's failed CHECK constraint: "CONSTRAINT `ck_messages_content` failed for `db`.`messages`".
   * (MySQL's 4025 concerns CREATE/ALTER TABLESPACE, which we never run.)
   */
  ER_CONSTRAINT_FAILED: 4025,
  /**
   * MySQL 8: the server closed a connection idle past wait_timeout. (MariaDB's 4031 concerns
   * CREATE TRIGGER, which we never run.)
   */
  ER_CLIENT_INTERACTION_TIMEOUT: 4031,
} as const;

const NAMES = new Map<number, string>(Object.entries(MYSQL).map(([name, errno]) => [errno, name]));

/** Aborted for a conflict with another transaction: running the transaction again may succeed. */
const RETRYABLE = new Set<number>([MYSQL.ER_LOCK_DEADLOCK, MYSQL.ER_TRANSACTION_ROLLBACK_DURING_COMMIT]);

const UNREACHABLE_NUMBERS = new Set<number>([
  MYSQL.ER_LOCK_WAIT_TIMEOUT,
  MYSQL.ER_CON_COUNT_ERROR,
  MYSQL.ER_SERVER_SHUTDOWN,
  MYSQL.ER_OPTION_PREVENTS_STATEMENT,
  MYSQL.ER_QUERY_INTERRUPTED,
  MYSQL.ER_QUERY_TIMEOUT,
  MYSQL.ER_STATEMENT_TIMEOUT,
  MYSQL.ER_CLIENT_INTERACTION_TIMEOUT,
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
const closedConnection = (message: unknown) =>
  typeof message === 'string' && /connection is in closed state/i.test(message);

/**
 * The last 'quoted' token of a message. The server's messages follow `lc_messages`, but the
 * arguments keep their order in every language: the key is the last one of "Duplicate entry 'x'
 * for key 'users.uq_users_handle'" ("Doppelter Eintrag 'x' für Schlüssel '…'", "'x' は索引 '…' で重複しています。"),
 * and the constraint the last one of "Check constraint 'ck_…' is violated.". Anchored at the end,
 * so a quote inside the duplicate value does not matter.
 */
const lastQuoted = (message: string): string | undefined => /'([^']*)'[^']*$/.exec(message)?.[1];

/** The `backticked` identifiers of a message, in order. */
const backticked = (message: string): string[] => [...message.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);

/** The server error number (mysql2 puts Node's negative errno on socket errors too). */
function serverErrno(e: Record<string, unknown>): number | undefined {
  return typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined;
}

/** A name to log: ours, else mysql2's where the number means the same on both servers, else the number alone. */
function nameOf(errno: number | undefined, code: string | undefined): string | undefined {
  if (errno === undefined) return code;
  const name = NAMES.get(errno) ?? (errno < 1900 ? code : undefined);
  return name === undefined ? String(errno) : `${errno} ${name}`;
}

function duplicate(error: unknown, message: string): TranslatedError {
  // MariaDB: 'uq_users_handle' or 'PRIMARY'; MySQL 8: 'users.uq_users_handle' or 'users.PRIMARY'.
  const reported = lastQuoted(message);
  const dot = reported?.indexOf('.') ?? -1;
  const table = dot > 0 ? reported!.slice(0, dot) : tableOfStatement(statementOf(error));
  const name = dot > 0 ? reported!.slice(dot + 1) : reported;
  const key = name === 'PRIMARY' ? primaryKeyOf(table) : uniqueKeyNamed(name);
  return { error: duplicateError('mysql', key, reported, error), retryable: false };
}

function checkViolation(errno: number, error: unknown, message: string): TranslatedError {
  // MySQL 8: the last 'quoted' token; MariaDB: the first `backticked` one (then `database`.`table`).
  const reported = errno === MYSQL.ER_CHECK_CONSTRAINT_VIOLATED ? lastQuoted(message) : backticked(message)[0];
  return { error: checkFailure('mysql', checkNamed(reported), reported, error), retryable: false };
}

export function mapMysqlError(error: unknown): TranslatedError {
  if (alreadyTranslated(error)) return { error, retryable: false };
  const e = driverErrorOf(error);
  const errno = serverErrno(e);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = String(e.sqlMessage ?? e.message ?? '');
  switch (errno) {
    case MYSQL.ER_DUP_ENTRY:
      return duplicate(error, message);
    case MYSQL.ER_NO_REFERENCED_ROW_2: {
      // "… (`db`.`messages`, CONSTRAINT `fk_messages_conversation` FOREIGN KEY (`conversation_id`) REFERENCES …)":
      // that part is SQL, the same in every language.
      const constraint = /CONSTRAINT `([^`]+)`/.exec(message)?.[1];
      return { error: missingReference('mysql', constraint, undefined, error), retryable: false };
    }
    case MYSQL.ER_CHECK_CONSTRAINT_VIOLATED:
    case MYSQL.ER_CONSTRAINT_FAILED:
      return checkViolation(errno, error, message);
  }
  if (errno !== undefined && RETRYABLE.has(errno)) {
    const what = errno === MYSQL.ER_LOCK_DEADLOCK ? 'deadlock' : 'rolled back at commit by replication';
    return { error: new UnavailableError(`MySQL aborted the transaction (${what})`, 1, error), retryable: true };
  }
  const unreachable =
    (errno !== undefined && UNREACHABLE_NUMBERS.has(errno)) ||
    (code !== undefined && UNREACHABLE_CODES.has(code)) ||
    closedConnection(e.message);
  if (unreachable) {
    const reason = nameOf(errno, code) ?? 'connection closed';
    return { error: new UnavailableError(`MySQL is unavailable (${reason})`, 2, error), retryable: false };
  }
  return { error: unexpected('mysql', nameOf(errno, code), error), retryable: false };
}

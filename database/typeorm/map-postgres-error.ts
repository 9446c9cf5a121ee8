import { UnavailableError } from '../../src/domain/errors.js';
import type { TranslatedError } from './dialects/dialect.js';
import {
  alreadyTranslated,
  checkFailure,
  checkNamed,
  driverErrorOf,
  duplicateError,
  missingReference,
  uniqueKeyNamed,
  unexpected,
  SOCKET_ERRORS,
} from './error-helpers.js';

/**
 * PostgreSQL error codes we give a meaning to (SQLSTATE, Appendix A of the PostgreSQL manual).
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export const PG = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  queryCanceled: '57014', // statement_timeout
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  tooManyConnections: '53300',
  /** A standby, or a primary demoted by a failover: "cannot execute INSERT in a read-only transaction". */
  readOnlySqlTransaction: '25006',
} as const;

/**
 * "Not now": shutdown, too many connections, statement timeout, read-only after a failover; with
 * class 08 (connection exception, below) and the socket errors of node-postgres.
 */
const UNREACHABLE = new Set<string>([
  PG.adminShutdown,
  PG.crashShutdown,
  PG.cannotConnectNow,
  PG.tooManyConnections,
  PG.queryCanceled,
  PG.readOnlySqlTransaction,
  ...SOCKET_ERRORS,
]);

/** node-postgres reports a lost or timed-out connection without a code. */
const UNREACHABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i;

export function mapPostgresError(error: unknown): TranslatedError {
  if (alreadyTranslated(error)) return { error, retryable: false };
  const e = driverErrorOf(error);
  const code = typeof e.code === 'string' ? e.code : undefined;
  switch (code) {
    // The error names the constraint (`constraint`) and its table; `detail` is "Key (handle)=(x) already exists.".
    case PG.uniqueViolation: {
      const constraint = str(e.constraint);
      return { error: duplicateError('postgres', uniqueKeyNamed(constraint), constraint, error), retryable: false };
    }
    // detail: 'Key (conversation_id)=(c1) is not present in table "conversations".'
    case PG.foreignKeyViolation: {
      const conversationId = /\(conversation_id\)=\(([^)]*)\)/.exec(str(e.detail) ?? '')?.[1];
      return { error: missingReference('postgres', str(e.constraint), conversationId, error), retryable: false };
    }
    // Our PostgreSQL schema has no CHECK constraints (`json` columns refuse bad JSON themselves); one is not ours.
    case PG.checkViolation: {
      const constraint = str(e.constraint);
      return { error: checkFailure('postgres', checkNamed(constraint), constraint, error), retryable: false };
    }
    case PG.serializationFailure:
    case PG.deadlockDetected:
      return {
        error: new UnavailableError('PostgreSQL aborted the transaction (serialization failure or deadlock)', 1, error),
        retryable: true,
      };
  }
  if (
    (code !== undefined && (UNREACHABLE.has(code) || code.startsWith('08'))) ||
    UNREACHABLE_MESSAGE.test(e.message ?? '')
  ) {
    return {
      error: new UnavailableError(`PostgreSQL is unavailable (${code ?? (e.message ?? '').split('\n')[0]})`, 2, error),
      retryable: false,
    };
  }
  return { error: unexpected('postgres', code, error), retryable: false };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

import { UnavailableError } from '../../src/domain/errors.js';
import type { TranslatedError } from './dialects/dialect.js';
import {
  alreadyTranslated,
  checkFailure,
  checkNamed,
  checkOnColumn,
  driverErrorOf,
  duplicateError,
  missingReference,
  statementOf,
  tableOfStatement,
  uniqueKeyOnColumns,
  unexpected,
} from './error-helpers.js';

/**
 * SQLite extended result codes as better-sqlite3 reports them in `code`.
 * @see https://www.sqlite.org/rescode.html
 */
export const SQLITE = {
  SQLITE_CONSTRAINT_UNIQUE: 'SQLITE_CONSTRAINT_UNIQUE',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'SQLITE_CONSTRAINT_PRIMARYKEY',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  SQLITE_CONSTRAINT_CHECK: 'SQLITE_CONSTRAINT_CHECK',
  SQLITE_BUSY: 'SQLITE_BUSY',
  SQLITE_BUSY_SNAPSHOT: 'SQLITE_BUSY_SNAPSHOT',
  SQLITE_LOCKED: 'SQLITE_LOCKED',
  SQLITE_CANTOPEN: 'SQLITE_CANTOPEN',
  SQLITE_FULL: 'SQLITE_FULL',
  SQLITE_READONLY: 'SQLITE_READONLY',
} as const;

export function mapSqliteError(error: unknown): TranslatedError {
  if (alreadyTranslated(error)) return { error, retryable: false };
  const e = driverErrorOf(error);
  const code = typeof e.code === 'string' ? e.code : undefined;
  switch (code) {
    case SQLITE.SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE.SQLITE_CONSTRAINT_PRIMARYKEY: {
      // "UNIQUE constraint failed: users.handle" — SQLite names the columns, not the index (its
      // messages are English only).
      const columns = failed(e.message);
      return { error: duplicateError('sqlite', uniqueKeyOnColumns(columns), columns, error), retryable: false };
    }
    // "FOREIGN KEY constraint failed", naming no key.
    case SQLITE.SQLITE_CONSTRAINT_FOREIGNKEY:
      return { error: missingReference('sqlite', undefined, undefined, error), retryable: false };
    case SQLITE.SQLITE_CONSTRAINT_CHECK: {
      // "CHECK constraint failed: json_valid(content)": our checks are unnamed column checks, so
      // SQLite reports the expression; the statement says which table. A named check reports its name.
      const reported = failed(e.message);
      const column = /^json_valid\((\w+)\)$/.exec(reported ?? '')?.[1];
      const constraint = checkNamed(reported) ?? checkOnColumn(tableOfStatement(statementOf(error)), column);
      return { error: checkFailure('sqlite', constraint, reported, error), retryable: false };
    }
    case SQLITE.SQLITE_BUSY:
    case SQLITE.SQLITE_BUSY_SNAPSHOT:
    case SQLITE.SQLITE_LOCKED:
      // Another process holds the file past busy_timeout; our own connection is serialized.
      return {
        error: new UnavailableError('the SQLite database is locked by another process', 1, error),
        retryable: true,
      };
    case SQLITE.SQLITE_CANTOPEN:
    case SQLITE.SQLITE_FULL:
    case SQLITE.SQLITE_READONLY:
      return {
        error: new UnavailableError(`the SQLite database cannot be written (${code})`, 5, error),
        retryable: false,
      };
  }
  // better-sqlite3 throws a plain TypeError once the store is closed.
  if (/database connection is not open/i.test(e.message ?? ''))
    return { error: new UnavailableError('the SQLite database is closed', 2, error), retryable: false };
  return { error: unexpected('sqlite', code, error), retryable: false };
}

/** What follows "… constraint failed: " in SQLite's message. */
const failed = (message: string | undefined): string | undefined => /constraint failed: (.+)$/.exec(message ?? '')?.[1];

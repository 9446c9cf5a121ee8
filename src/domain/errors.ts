/**
 * Domain errors. Adapters translate driver errors into these at their edge; the HTTP layer maps
 * each `code` to one status. Nothing above the adapters ever sees a driver error.
 */

/**
 * Every code a domain error carries. `DomainError.code` is typed with this union, so a new code
 * must be added here, and src/http/errors.ts must then give it a row (a `Record` over this union).
 * `precondition_failed` belongs to conditional requests (`If-Match`, 412): its class lives
 * outside this file, its code here, so that the one table keyed on codes covers it too.
 */
export const DOMAIN_ERROR_CODES = [
  'not_found',
  'conflict',
  'version_conflict',
  'precondition_failed',
  'validation_failed',
  'payload_too_large',
  'forbidden',
  'unauthorized',
  'unavailable',
  'schema_mismatch',
  'offset_gap',
  'offset_conflict',
  'message_in_progress',
  'message_not_in_progress',
  'stream_capacity',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `metadata.color` or `content[0].text`. */
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export type EntityName = 'user' | 'conversation' | 'participant' | 'message' | 'audit';

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
  constructor(
    readonly entity: EntityName,
    readonly id: string,
  ) {
    super(`${entity} ${id} was not found`, { entity, id });
  }
}

/** A unique key is already taken (handle, clientMessageId, participant, id). */
export class DuplicateError extends DomainError {
  readonly code = 'conflict';
  constructor(
    readonly entity: EntityName,
    readonly field: string,
    message?: string,
  ) {
    super(message ?? `${entity} with this ${field} already exists`, { entity, field });
  }
}

/** Optimistic concurrency: the caller's `version` is not the stored one. Nothing was changed. */
export class VersionConflictError extends DomainError {
  readonly code = 'version_conflict';
  constructor(
    readonly entity: EntityName,
    readonly id: string,
    readonly expectedVersion: number,
    readonly actualVersion?: number,
  ) {
    super(
      `${entity} ${id} is not at version ${expectedVersion}${actualVersion === undefined ? '' : ` (it is at ${actualVersion})`}`,
      {
        entity,
        id,
        expectedVersion,
        ...(actualVersion === undefined ? {} : { actualVersion }),
      },
    );
  }
}

/** A rule of the domain forbids the change (for example the owner leaving their own conversation). */
export class RuleViolationError extends DomainError {
  readonly code = 'conflict';
}

export class ValidationError extends DomainError {
  readonly code = 'validation_failed';
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('; '), { fields: issues });
  }

  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

/**
 * A change the database cannot store in one record, though it passed the domain's limits (a
 * conversation with so many participants that its MongoDB document would exceed 16 MiB, say).
 * `field` names what grew too large.
 */
export class TooLargeError extends DomainError {
  readonly code = 'payload_too_large';
  constructor(
    readonly entity: EntityName,
    readonly field: string,
    message = `the ${entity} would be larger than the database stores in one record; make ${field} smaller`,
  ) {
    super(message, { entity, field });
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'forbidden';
}

export class UnauthorizedError extends DomainError {
  readonly code = 'unauthorized';
}

/** The database cannot be reached or is overloaded; the request may be retried. */
export class UnavailableError extends DomainError {
  readonly code = 'unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 2,
    override readonly cause?: unknown,
    /** What cannot be reached, in words a client may see: the database unless said otherwise. */
    readonly dependency: 'database' | 'identity provider' = 'database',
  ) {
    super(message);
  }
}

/** The database schema is not the one this build expects (pending or unknown migrations). */
export class SchemaMismatchError extends DomainError {
  readonly code = 'schema_mismatch';
}

/**
 * Appending to a streamed message (src/services/streams.ts) went wrong in a way the producer can
 * act on; `details.expectedOffset` (where there is one) is where the message's text ends now.
 * - `offset_gap`: the append starts beyond the end (text before it is missing, or this instance
 *   lost its place: another instance wrote the message); resend from `expectedOffset`.
 * - `offset_conflict`: the append overlaps text already there, and the overlap differs.
 * - `message_not_in_progress`: the message is completed or incomplete; nothing appends to it.
 * - `message_in_progress`: an edit of content while the message still streams (finish it first).
 */
export class StreamError extends DomainError {
  constructor(
    readonly code: 'offset_gap' | 'offset_conflict' | 'message_in_progress' | 'message_not_in_progress',
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message, details);
  }
}

/** The instance holds as many live streams as STREAM_MAX_ACTIVE allows; retry shortly (or on another instance). */
export class StreamCapacityError extends DomainError {
  readonly code = 'stream_capacity';
  constructor(readonly limit: number) {
    super(`this instance already streams ${limit} messages (STREAM_MAX_ACTIVE); retry shortly`, { limit });
  }
}

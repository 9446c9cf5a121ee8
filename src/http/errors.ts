import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, UnavailableError, type DomainErrorCode, type FieldIssue } from '../domain/errors.js';
import { ajvIssues } from './validation.js';

/**
 * The one error representation of the API, `{ error: { code, message, details } }`, and the one
 * place that decides which status each failure gets. 5xx bodies never carry internals; the error
 * is logged with the request instead.
 */

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> | null };
}

export interface HttpFailure {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown> | null;
  headers?: Record<string, string>;
}

export const REALM = 'polystore';

function wwwAuthenticate(error: DomainError): string {
  const invalid = error.details?.invalidToken === true;
  // Header values must be visible ASCII; messages may hold other characters.
  const description = error.message
    .replace(/[^\x20-\x7e]/g, '-')
    .replaceAll('"', "'")
    .replaceAll('\\', '/');
  return invalid
    ? `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`
    : `Bearer realm="${REALM}"`;
}

/** How the responses for one domain error code are built. The body's `code` is always the error's. */
interface CodeRow {
  status: number;
  /** A fixed message in place of the error's own (which, on a 5xx, may tell internals). */
  message?: string;
  /** The body's `details`; the error's own `details` when absent. */
  details?: (error: DomainError) => Record<string, unknown> | null;
  headers?: (error: DomainError) => Record<string, string>;
}

const noDetails = (): null => null;
/** Only UnavailableError carries `unavailable`; its constructor's default stands in for any other. */
const retryAfter = (error: DomainError): number => (error instanceof UnavailableError ? error.retryAfterSeconds : 2);

/**
 * One row per domain error code (the `Record` makes a missing code a type error). Validation
 * details are the error's `{ fields }`; 403 and 401 bodies never echo details; 503s have fixed
 * messages.
 */
const BY_CODE: Record<DomainErrorCode, CodeRow> = {
  validation_failed: { status: 400 },
  not_found: { status: 404 },
  version_conflict: { status: 409 },
  // DuplicateError and RuleViolationError.
  conflict: { status: 409 },
  // PreconditionFailedError: an `If-Match` that names no current version.
  precondition_failed: { status: 412 },
  forbidden: { status: 403, details: noDetails },
  unauthorized: {
    status: 401,
    details: noDetails,
    headers: (error) => ({ 'www-authenticate': wwwAuthenticate(error) }),
  },
  unavailable: {
    status: 503,
    message: 'the database is unavailable; retry later',
    details: (error) => ({ retryAfterSeconds: retryAfter(error) }),
    headers: (error) => ({ 'retry-after': String(retryAfter(error)) }),
  },
  schema_mismatch: {
    status: 503,
    message: 'the database schema does not match this version of the service',
    details: noDetails,
  },
};

function fromDomain(error: DomainError): HttpFailure {
  // A code outside the union can only come from a cast; it is a bug, reported as one.
  const row: CodeRow | undefined = Object.hasOwn(BY_CODE, error.code) ? BY_CODE[error.code] : undefined;
  if (!row) return internal();
  return {
    status: row.status,
    code: error.code,
    message: row.message ?? error.message,
    details: row.details ? row.details(error) : (error.details ?? null),
    ...(row.headers ? { headers: row.headers(error) } : {}),
  };
}

function internal(): HttpFailure {
  return { status: 500, code: 'internal', message: 'an internal error occurred', details: null };
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
};

/** Maps any error to its HTTP failure. */
export function toHttpFailure(error: unknown): HttpFailure {
  if (error instanceof DomainError) return fromDomain(error);
  const fe = error as Partial<FastifyError>;
  if (fe && Array.isArray(fe.validation)) {
    const issues: FieldIssue[] = ajvIssues(fe.validation as Parameters<typeof ajvIssues>[0], fe.validationContext);
    return {
      status: 400,
      code: 'validation_failed',
      message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      details: { fields: issues },
    };
  }
  switch (fe?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'invalid_json', message: 'the request body is not valid JSON', details: null };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'invalid_json',
        message: "the request body is empty but Content-Type is 'application/json'",
        details: null,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'payload_too_large',
        message: 'the request body is larger than this server accepts',
        details: null,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'unsupported_media_type',
        message: 'send the request body as application/json',
        details: null,
      };
  }
  // Other client errors raised by Fastify itself (bad URL, bad content length, ...) carry safe messages.
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500)
    return { status, code: STATUS_CODES[status] ?? 'bad_request', message: fe.message ?? 'bad request', details: null };
  return internal();
}

export function errorBody(failure: Pick<HttpFailure, 'code' | 'message' | 'details'>): ErrorBody {
  return { error: { code: failure.code, message: failure.message, details: failure.details } };
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const failure = toHttpFailure(error);
  if (failure.status >= 500) {
    request.log.error({ err: error }, 'request failed');
    if (failure.status === 500) failure.details = { requestId: request.id };
  } else {
    request.log.info({ code: failure.code, status: failure.status, reason: failure.message }, 'request refused');
  }
  if (failure.headers) reply.headers(failure.headers);
  return reply.status(failure.status).send(errorBody(failure));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.status(404).send(
    errorBody({
      code: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
      details: null,
    }),
  );
}

import { STATUS_CODES as HTTP_REASONS } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
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
  message?: string | ((error: DomainError) => string);
  /** The body's `details`; the error's own `details` when absent. */
  details?: (error: DomainError) => Record<string, unknown> | null;
  headers?: (error: DomainError) => Record<string, string>;
}

const noDetails = (): null => null;
/** Only UnavailableError carries `unavailable`; its constructor's default stands in for any other. */
const retryAfter = (error: DomainError): number => (error instanceof UnavailableError ? error.retryAfterSeconds : 2);
const dependencyOf = (error: DomainError): string =>
  error instanceof UnavailableError ? error.dependency : 'database';

/**
 * One row per domain error code (the `Record` makes a missing code a type error). Validation
 * details are the error's `{ fields }`; 403 and 401 bodies never echo details; 503s have fixed
 * messages.
 */
const BY_CODE: Record<DomainErrorCode, CodeRow> = {
  validation_failed: { status: 400 },
  // TooLargeError: what the database cannot store in one record.
  payload_too_large: { status: 413 },
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
    message: (error) => `the ${dependencyOf(error)} is unavailable; retry later`,
    details: (error) => ({ retryAfterSeconds: retryAfter(error), dependency: dependencyOf(error) }),
    headers: (error) => ({ 'retry-after': String(retryAfter(error)) }),
  },
  schema_mismatch: {
    status: 503,
    message: 'the database schema does not match this version of the service',
    details: noDetails,
  },
  // StreamError: appends and edits of streamed messages (src/services/streams.ts).
  offset_gap: { status: 409 },
  offset_conflict: { status: 409 },
  message_in_progress: { status: 409 },
  message_not_in_progress: { status: 409 },
  stream_capacity: { status: 503, headers: () => ({ 'retry-after': '1' }) },
};

function fromDomain(error: DomainError): HttpFailure {
  // A code outside the union can only come from a cast; it is a bug, reported as one.
  const row: CodeRow | undefined = Object.hasOwn(BY_CODE, error.code) ? BY_CODE[error.code] : undefined;
  if (!row) return internal();
  return {
    status: row.status,
    code: error.code,
    message: typeof row.message === 'function' ? row.message(error) : (row.message ?? error.message),
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
  // Outside the domain, only the static files of /docs refuse with 403 (a path that climbs out of
  // their folder, a dotfile): as far as the client can tell, nothing is there.
  if (status === 403)
    return { status: 404, code: 'not_found', message: 'no file is served at this path', details: null };
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

/**
 * A complete HTTP/1.1 response carrying the error body, with `Connection: close`, for answers
 * written straight to a socket (parse errors, timeouts: Node's `clientError` event).
 */
export function rawErrorResponse(failure: Pick<HttpFailure, 'status' | 'code' | 'message' | 'details'>): string {
  const body = JSON.stringify(errorBody(failure));
  return [
    `HTTP/1.1 ${failure.status} ${HTTP_REASONS[failure.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

export interface RequestTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** The failure for an error Node's HTTP parser or its timeouts raised before any route saw the request. */
export function clientFailure(code: string | undefined, timeouts: RequestTimeouts): HttpFailure {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return {
        status: 408,
        code: 'request_timeout',
        message: `the request did not arrive in time: its headers must arrive within ${timeouts.headersTimeoutMs} ms and all of it within ${timeouts.requestTimeoutMs} ms`,
        details: { headersTimeoutMs: timeouts.headersTimeoutMs, requestTimeoutMs: timeouts.requestTimeoutMs },
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'headers_too_large',
        message: 'the request line and headers are larger than this server accepts',
        details: null,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        code: 'payload_too_large',
        message: 'the chunk extensions of the request body are larger than this server accepts',
        details: null,
      };
    default:
      return { status: 400, code: 'bad_request', message: 'the request is not valid HTTP/1.1', details: null };
  }
}

/**
 * Sockets whose current request was answered before its body had arrived (a 401 from onRequest,
 * say): Node keeps reading that body, and should it not arrive in time, the request timeout fires
 * for a request that already has its answer. Then the connection is closed without a second one.
 */
export const answeredBeforeBody = new WeakSet<object>();

/**
 * The server's `clientError` handler (Fastify's `clientErrorHandler` option): answers in the API's
 * error shape, then closes the connection. Nothing is written once a response has begun, or to a
 * socket that is gone (a reset).
 * @see https://nodejs.org/api/http.html#event-clienterror
 */
export function createClientErrorHandler(timeouts: RequestTimeouts) {
  return function clientErrorHandler(
    this: { log: FastifyBaseLogger },
    error: Error & { code?: string },
    socket: Duplex,
  ): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const failure = clientFailure(error.code, timeouts);
    this.log.info(
      { code: failure.code, status: failure.status, reason: error.code ?? error.message },
      'request refused before routing',
    );
    const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && !pending?.headersSent && !answeredBeforeBody.has(socket))
      socket.write(rawErrorResponse(failure));
    socket.destroy();
  };
}

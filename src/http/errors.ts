import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  DomainError,
  DuplicateError,
  ForbiddenError,
  NotFoundError,
  RuleViolationError,
  SchemaMismatchError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  VersionConflictError,
  type FieldIssue,
} from '../domain/errors.js';
import { PreconditionFailedError } from './preconditions.js';
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

function wwwAuthenticate(error: UnauthorizedError): string {
  const invalid = error.details?.invalidToken === true;
  // Header values must be visible ASCII; messages may hold other characters.
  const description = error.message.replace(/[^\x20-\x7e]/g, '-').replaceAll('"', "'").replaceAll('\\', '/');
  return invalid ? `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"` : `Bearer realm="${REALM}"`;
}

function fromDomain(error: DomainError): HttpFailure {
  const details = error.details ?? null;
  if (error instanceof ValidationError) return { status: 400, code: 'validation_failed', message: error.message, details: { fields: error.issues } };
  if (error instanceof NotFoundError) return { status: 404, code: 'not_found', message: error.message, details };
  if (error instanceof VersionConflictError) return { status: 409, code: 'version_conflict', message: error.message, details };
  if (error instanceof DuplicateError || error instanceof RuleViolationError) return { status: 409, code: 'conflict', message: error.message, details };
  if (error instanceof PreconditionFailedError) return { status: 412, code: 'precondition_failed', message: error.message, details };
  if (error instanceof ForbiddenError) return { status: 403, code: 'forbidden', message: error.message, details: null };
  if (error instanceof UnauthorizedError) {
    return { status: 401, code: 'unauthorized', message: error.message, details: null, headers: { 'www-authenticate': wwwAuthenticate(error) } };
  }
  if (error instanceof UnavailableError) {
    return {
      status: 503,
      code: 'unavailable',
      message: 'the database is unavailable; retry later',
      details: { retryAfterSeconds: error.retryAfterSeconds },
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof SchemaMismatchError) {
    return { status: 503, code: 'schema_mismatch', message: 'the database schema does not match this version of the service', details: null };
  }
  return internal();
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
    return { status: 400, code: 'validation_failed', message: issues.map((i) => `${i.field}: ${i.message}`).join('; '), details: { fields: issues } };
  }
  switch (fe?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'invalid_json', message: 'the request body is not valid JSON', details: null };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'invalid_json', message: "the request body is empty but Content-Type is 'application/json'", details: null };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large', message: 'the request body is larger than this server accepts', details: null };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'send the request body as application/json', details: null };
  }
  // Other client errors raised by Fastify itself (bad URL, bad content length, ...) carry safe messages.
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) return { status, code: STATUS_CODES[status] ?? 'bad_request', message: fe.message ?? 'bad request', details: null };
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
  return reply.status(404).send(errorBody({ code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`, details: null }));
}

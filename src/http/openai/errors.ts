import type { FieldIssue } from '../../domain/errors.js';
import type { ErrorBody } from '../errors.js';

/**
 * Errors in OpenAI's shape, `{ error: { message, type, param, code } }`, for everything under
 * /openai/v1. The status stays the one the rest of the API gives (src/http/errors.ts decides
 * it), which is what the SDK turns into its error classes: 400 BadRequestError, 401
 * AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 409 ConflictError, 422, 429
 * RateLimitError, 5xx InternalServerError. The body is rewritten from the API's own error body as
 * it is sent, so every way a request can fail here (the error handler, the rate limiter, the
 * shutdown 503) answers in this shape.
 */

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Domain names of request fields, as OpenAI's API names them. */
const PARAMS: Record<string, string> = {
  conversationId: 'conversation_id',
  messageId: 'item_id',
  cursor: 'after',
};

/** `messages[2].content` (the service's batch) is `items[2]`; path parameters keep OpenAI's names. */
export function paramOf(field: string): string {
  const batch = /^messages\[(\d+)\]/.exec(field);
  if (batch) return `items[${batch[1]}]`;
  return PARAMS[field] ?? field;
}

function typeOf(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** OpenAI's conventional codes where it has one; the API's own code otherwise. */
function codeOf(status: number, code: string): string {
  if (status === 401) return 'invalid_api_key';
  if (status === 429) return 'rate_limit_exceeded';
  return code;
}

export function openAiErrorBody(status: number, body: ErrorBody): OpenAiErrorBody {
  const { code, message, details } = body.error;
  const fields = Array.isArray(details?.fields) ? (details.fields as FieldIssue[]) : [];
  const requestId = typeof details?.requestId === 'string' ? details.requestId : undefined;
  const text =
    fields.length > 0
      ? fields.map((f) => `${paramOf(f.field)}: ${f.message}`).join('; ')
      : requestId
        ? `${message} (request id ${requestId})`
        : message;
  return {
    error: {
      message: text,
      type: typeOf(status),
      param: fields[0] ? paramOf(fields[0].field) : null,
      code: codeOf(status, code),
    },
  };
}

/** The API's error body in a serialized payload, or undefined for anything else. */
export function parseErrorBody(payload: unknown): ErrorBody | undefined {
  if (typeof payload !== 'string' || !payload.startsWith('{"error":')) return undefined;
  try {
    const body = JSON.parse(payload) as Partial<ErrorBody>;
    const error = body.error;
    return error && typeof error.code === 'string' && typeof error.message === 'string'
      ? (body as ErrorBody)
      : undefined;
  } catch {
    return undefined;
  }
}

import { Type, type TSchema } from 'typebox';
import { USER_ID_PATTERN, UUID_PATTERN } from '../../domain/ids.js';
import { LIMITS, METADATA_KEY_PATTERN } from '../../domain/limits.js';

/**
 * Building blocks of the request and response schemas. Limits come from src/domain/limits.ts so
 * the documentation, the HTTP validation and the domain validation cannot drift apart. Every object
 * schema sets `additionalProperties: false`: unknown fields are rejected (requests) or never
 * serialized (responses). Header schemas are the one exception, since clients send many headers.
 */

export const closed = { additionalProperties: false } as const;

export const Uuid = Type.String({
  pattern: UUID_PATTERN.source,
  description: 'A lower-case UUID (v7 for ids this service creates).',
});
export const UserId = Type.String({
  pattern: USER_ID_PATTERN.source,
  maxLength: LIMITS.userIdMax,
  description: "A user id: the identity provider's `sub`.",
});
export const Timestamp = Type.String({
  format: 'date-time',
  description: 'ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.000Z.',
});
export const NullableTimestamp = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  format: 'date-time',
  description: 'ISO-8601 UTC with milliseconds, or null.',
});
export const Version = (description = 'Optimistic-concurrency version; also sent as the ETag.') =>
  Type.Integer({
    minimum: 1,
    maximum: LIMITS.integerMax,
    description: `${description} An integer from 1 to ${LIMITS.integerMax}.`,
  });
/** The `version` of a PATCH body. */
export const ExpectedVersion = () =>
  Version('The version the change applies to; a stale one gives 409 version_conflict.');

const METADATA_DOC = `String→string map: at most ${LIMITS.metadataKeys} keys of 1–${LIMITS.metadataKeyMax} of letters, digits and _.:- (not starting with . : or -), values up to ${LIMITS.metadataValueMax} characters.`;
/**
 * A map, so its keys are checked with `propertyNames` and every value must be a string: no key is
 * accepted that the domain would refuse.
 */
export const Metadata = (extraDoc = '') =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    propertyNames: { pattern: METADATA_KEY_PATTERN.source },
    additionalProperties: { type: 'string', maxLength: LIMITS.metadataValueMax },
    maxProperties: LIMITS.metadataKeys,
    description: `${METADATA_DOC}${extraDoc}`,
  });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({
          description:
            'Machine-readable: validation_failed, invalid_json, unauthorized, forbidden, not_found, conflict, version_conflict, precondition_failed, payload_too_large, unsupported_media_type, too_many_requests, unavailable, schema_mismatch, internal, ...',
        }),
        message: Type.String(),
        details: Type.Unsafe<Record<string, unknown> | null>({
          type: ['object', 'null'],
          additionalProperties: true,
          description:
            'Specifics, e.g. `{ fields: [{ field: "metadata.color", message }] }` for validation_failed; null when there are none.',
        }),
      },
      closed,
    ),
  },
  { ...closed, description: 'Every error has this shape.' },
);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: validation_failed names the field(s); invalid_json for a malformed body.',
  401: 'Missing, malformed or expired credentials (see WWW-Authenticate).',
  403: 'The caller takes part but may not do this.',
  404: 'No such resource — or one the caller does not take part in.',
  409: 'conflict (taken unique key, forbidden by a rule) or version_conflict (stale `version`).',
  412: 'If-Match names no current version.',
  413: 'payload_too_large: the body is larger than BODY_LIMIT_BYTES, or the change would make a record larger than the database stores (details name the entity and field).',
  415: 'The body is not application/json.',
  429: 'too_many_requests: over the rate limit of the caller or its address (Retry-After, X-RateLimit-* headers); details carry scope, limit and retryAfterSeconds.',
  500: 'An unexpected failure; details carry the request id to quote.',
  503: 'The database (or the identity provider) is unavailable (Retry-After; details.dependency says which), or the schema does not match.',
};

/** Error responses for a route, with their descriptions; every route may also answer 429, 500 and 503. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of [...statuses, 429, 500, 503])
    out[status] = Type.Unsafe({ ...ErrorResponse, description: ERROR_DESCRIPTIONS[status] ?? 'Error.' });
  return out;
}

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 1024,
      description: 'Strong ETag(s) of the version the change applies to, e.g. `"3"`; a stale one gives 412.',
    }),
  ),
});

export const ListQuery = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'An opaque cursor from an earlier page (`nextCursor` or `prevCursor`).',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: LIMITS.pageMax,
        description: `Page size, 1–${LIMITS.pageMax}; default ${LIMITS.pageDefault}.`,
      }),
    ),
  },
  closed,
);

export const PAGINATION_DOC =
  'Keyset pagination. The response is `{ data, nextCursor, hasMore, prevCursor }`. `nextCursor` continues after the last item in the same direction ' +
  '(null only when the page is empty); `hasMore` tells whether more items exist now, so stop when it is false. `prevCursor` starts from the first ' +
  'item in the opposite direction (null when the page is empty). Cursors are opaque; a cursor not issued by this service is a 400.';

export function Page<T extends TSchema>(item: T, prevCursorDoc: string) {
  return Type.Object(
    {
      data: Type.Array(item),
      nextCursor: Type.Unsafe<string | null>({
        type: ['string', 'null'],
        description: 'Continue after the last item (same direction); null on an empty page.',
      }),
      prevCursor: Type.Unsafe<string | null>({ type: ['string', 'null'], description: prevCursorDoc }),
      hasMore: Type.Boolean({ description: 'Whether another page exists in the direction of travel.' }),
    },
    closed,
  );
}

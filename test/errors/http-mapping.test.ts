import { describe, expect, it } from 'vitest';
import {
  DOMAIN_ERROR_CODES,
  DomainError,
  DuplicateError,
  ForbiddenError,
  NotFoundError,
  RuleViolationError,
  SchemaMismatchError,
  StreamCapacityError,
  StreamError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  VersionConflictError,
  type DomainErrorCode,
} from '../../src/domain/errors.js';
import { REALM, toHttpFailure, type HttpFailure } from '../../src/http/errors.js';
import { PreconditionFailedError } from '../../src/http/preconditions.js';
import { DatabaseFailure } from '../../database/typeorm/error-helpers.js';

const INTERNAL: HttpFailure = { status: 500, code: 'internal', message: 'an internal error occurred', details: null };

/** Every domain error → the exact failure the API answers with (status, code, message, details, headers). */
const rows: Array<[string, DomainError, HttpFailure]> = [
  [
    'ValidationError',
    ValidationError.field('handle', 'must not be empty'),
    {
      status: 400,
      code: 'validation_failed',
      message: 'handle: must not be empty',
      details: { fields: [{ field: 'handle', message: 'must not be empty' }] },
    },
  ],
  [
    'TooLargeError',
    new TooLargeError('conversation', 'participants'),
    {
      status: 413,
      code: 'payload_too_large',
      message: 'the conversation would be larger than the database stores in one record; make participants smaller',
      details: { entity: 'conversation', field: 'participants' },
    },
  ],
  [
    'NotFoundError',
    new NotFoundError('conversation', 'c1'),
    {
      status: 404,
      code: 'not_found',
      message: 'conversation c1 was not found',
      details: { entity: 'conversation', id: 'c1' },
    },
  ],
  [
    'VersionConflictError',
    new VersionConflictError('message', 'm1', 2, 3),
    {
      status: 409,
      code: 'version_conflict',
      message: 'message m1 is not at version 2 (it is at 3)',
      details: { entity: 'message', id: 'm1', expectedVersion: 2, actualVersion: 3 },
    },
  ],
  [
    'DuplicateError',
    new DuplicateError('user', 'handle'),
    {
      status: 409,
      code: 'conflict',
      message: 'user with this handle already exists',
      details: { entity: 'user', field: 'handle' },
    },
  ],
  [
    'RuleViolationError',
    new RuleViolationError('the owner cannot leave', { rule: 'owner_stays' }),
    { status: 409, code: 'conflict', message: 'the owner cannot leave', details: { rule: 'owner_stays' } },
  ],
  [
    'PreconditionFailedError',
    new PreconditionFailedError('If-Match names no current version', { etag: '"3"' }),
    {
      status: 412,
      code: 'precondition_failed',
      message: 'If-Match names no current version',
      details: { etag: '"3"' },
    },
  ],
  [
    'ForbiddenError (details never shown)',
    new ForbiddenError('not a participant', { userId: 'u1' }),
    { status: 403, code: 'forbidden', message: 'not a participant', details: null },
  ],
  [
    'UnauthorizedError without a token',
    new UnauthorizedError('a bearer token is required'),
    {
      status: 401,
      code: 'unauthorized',
      message: 'a bearer token is required',
      details: null,
      headers: { 'www-authenticate': `Bearer realm="${REALM}"` },
    },
  ],
  [
    'UnauthorizedError with an invalid token (header made ASCII)',
    new UnauthorizedError('token "expired" \\ ü', { invalidToken: true }),
    {
      status: 401,
      code: 'unauthorized',
      message: 'token "expired" \\ ü',
      details: null,
      headers: {
        'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="token 'expired' / -"`,
      },
    },
  ],
  [
    'UnavailableError (internals hidden)',
    new UnavailableError('PostgreSQL is unavailable (ECONNREFUSED)', 5),
    {
      status: 503,
      code: 'unavailable',
      message: 'the database is unavailable; retry later',
      details: { retryAfterSeconds: 5, dependency: 'database' },
      headers: { 'retry-after': '5' },
    },
  ],
  [
    'SchemaMismatchError (internals hidden)',
    new SchemaMismatchError('pending: 0002-indexes'),
    {
      status: 503,
      code: 'schema_mismatch',
      message: 'the database schema does not match this version of the service',
      details: null,
    },
  ],
  ...(['offset_gap', 'offset_conflict', 'message_not_in_progress', 'message_in_progress'] as const).map(
    (code): [string, DomainError, HttpFailure] => [
      `StreamError ${code}`,
      new StreamError(code, `about ${code}`, { expectedOffset: 7 }),
      { status: 409, code, message: `about ${code}`, details: { expectedOffset: 7 } },
    ],
  ),
  [
    'StreamCapacityError',
    new StreamCapacityError(3),
    {
      status: 503,
      code: 'stream_capacity',
      message: 'this instance already streams 3 messages (STREAM_MAX_ACTIVE); retry shortly',
      details: { limit: 3 },
      headers: { 'retry-after': '1' },
    },
  ],
];

describe('HTTP mapping keyed on the domain error code', () => {
  it.each(rows)('%s', (_name, error, expected) => {
    expect(toHttpFailure(error)).toStrictEqual(expected);
  });

  it('has a row for every code: none falls through to the internal 500, each answers with its own code', () => {
    const covered = new Set(rows.map(([, error]) => error.code));
    expect([...covered].sort()).toEqual([...DOMAIN_ERROR_CODES].sort());
    for (const code of DOMAIN_ERROR_CODES) {
      const error = new (class extends DomainError {
        readonly code: DomainErrorCode = code;
      })('x');
      const failure = toHttpFailure(error);
      expect(failure.code, code).toBe(code);
      expect(failure.status, code).not.toBe(500);
    }
  });

  it.each([
    [
      'a code outside the union (only a cast makes one)',
      new (class extends DomainError {
        readonly code = 'teapot' as DomainErrorCode;
      })('x'),
    ],
    [
      'a code named like an Object member',
      new (class extends DomainError {
        readonly code = 'constructor' as DomainErrorCode;
      })('x'),
    ],
    ['a DatabaseFailure', new DatabaseFailure('mysql query failed (1064): syntax')],
    ['a driver error', Object.assign(new Error('duplicate key'), { code: '23505' })],
  ])('%s is a 500 that shows nothing', (_name, error) => {
    expect(toHttpFailure(error)).toStrictEqual(INTERNAL);
  });
});

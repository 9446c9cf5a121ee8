import { QueryFailedError } from 'typeorm';
import { expect } from 'vitest';
import { DatabaseFailure } from '../../database/typeorm/error-helpers.js';
import type { TranslatedError } from '../../database/typeorm/dialects/dialect.js';
import { DuplicateError, NotFoundError, UnavailableError, type EntityName } from '../../src/domain/errors.js';
import { toHttpFailure } from '../../src/http/errors.js';

/**
 * What one row of an error-map table expects: the class of the translated error, some of its
 * fields, whether the transaction may be retried, and the status and code the API answers with.
 */
export interface Expected {
  type: abstract new (...args: never[]) => Error;
  fields: Record<string, unknown>;
  retryable: boolean;
  status: number;
  code: string;
}

export const duplicate = (entity: EntityName, field: string): Expected => ({
  type: DuplicateError,
  fields: { entity, field, code: 'conflict', details: { entity, field } },
  retryable: false,
  status: 409,
  code: 'conflict',
});

export const notFound = (entity: EntityName, id: string): Expected => ({
  type: NotFoundError,
  fields: { entity, id, code: 'not_found' },
  retryable: false,
  status: 404,
  code: 'not_found',
});

export const unavailable = (retryAfterSeconds: number, retryable: boolean, message?: string): Expected => ({
  type: UnavailableError,
  fields: { retryAfterSeconds, code: 'unavailable', ...(message === undefined ? {} : { message }) },
  retryable,
  status: 503,
  code: 'unavailable',
});

/** A DatabaseFailure: logged, and answered as the internal 500. */
export const failure = (fields: Record<string, unknown>): Expected => ({
  type: DatabaseFailure,
  fields,
  retryable: false,
  status: 500,
  code: 'internal',
});

export interface Row {
  name: string;
  error: unknown;
  expected: Expected;
}

/** Asserts one mapper result against its row, down to the HTTP status and code. */
export function expectTranslated(actual: TranslatedError, original: unknown, expected: Expected): void {
  expect(actual.error).toBeInstanceOf(expected.type);
  expect(actual.error).toMatchObject(expected.fields);
  expect(actual.retryable).toBe(expected.retryable);
  // Errors that stand for a driver error keep it for the logs, and only there.
  if (actual.error instanceof UnavailableError || actual.error instanceof DatabaseFailure) {
    expect(actual.error.cause).toBe(original);
  }
  const http = toHttpFailure(actual.error);
  expect({ status: http.status, code: http.code }).toEqual({ status: expected.status, code: expected.code });
}

/** The driver error as TypeORM hands it on: wrapped in a QueryFailedError with the statement. */
export function viaTypeorm(driverError: Error, query: string, parameters: unknown[] = []): QueryFailedError {
  return new QueryFailedError(query, parameters, driverError);
}

/** A Node socket error as net.Socket raises it. */
export function socketError(code: string, errno: number, syscall: string, message: string): Error {
  return Object.assign(new Error(message), { errno, code, syscall });
}

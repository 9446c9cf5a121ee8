import { ValidationError } from '../../src/domain/errors.js';

/**
 * Type checks for the two ports no service stands in front of: the bulk port's scan positions
 * (mongodb-bulk.ts) and audit listing (mongodb-audit-repository.ts). A value that is not the
 * primitive it claims to be (say `{ "$gt": "" }`) is refused there, so it cannot become a query
 * operator. The other repositories take values the domain has checked (src/repositories/ports.ts).
 */

export function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw ValidationError.field(field, 'must be a string');
  return value;
}

export function wholeNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw ValidationError.field(field, 'must be an integer');
  return value;
}

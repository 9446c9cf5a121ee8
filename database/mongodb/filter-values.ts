import { ValidationError } from '../../src/domain/errors.js';

/**
 * Every value the adapter puts into a filter or an update passes through one of these. The
 * services validate input long before, but a value that is not the primitive it claims to be
 * (say `{ "$gt": "" }` where an id belongs) is refused here too, so no client-supplied object can
 * become a query operator whatever path it took.
 */

export function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw ValidationError.field(field, 'must be a string');
  return value;
}

export function textOrNull(value: unknown, field: string): string | null {
  return value === null ? null : text(value, field);
}

export function wholeNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw ValidationError.field(field, 'must be an integer');
  return value;
}

export function instant(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw ValidationError.field(field, 'must be a date');
  return value;
}

export function instantOrNull(value: unknown, field: string): Date | null {
  return value === null ? null : instant(value, field);
}

/** A keyset position: a date and an id. */
export function position(value: { at: unknown; id: unknown } | undefined, field = 'cursor'): { at: Date; id: string } | undefined {
  if (value === undefined) return undefined;
  return { at: instant(value.at, `${field}.at`), id: text(value.id, `${field}.id`) };
}

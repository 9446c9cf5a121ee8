import { ValidationError } from './errors.js';
import { UUID_PATTERN } from './ids.js';
import { LIMITS } from './limits.js';

/**
 * Keyset position: the (timestamp, id) of the last item a client saw. Clients get it as an
 * opaque string; only this module knows the encoding.
 */
export interface CursorKey {
  at: Date;
  id: string;
}

const PREFIX = 'c1.';

export function encodeCursor(key: CursorKey): string {
  return PREFIX + Buffer.from(`${key.at.getTime()}.${key.id}`, 'utf8').toString('base64url');
}

/** Decodes a cursor or throws a ValidationError naming `field`. */
export function decodeCursor(value: unknown, field = 'cursor'): CursorKey {
  const invalid = () => ValidationError.field(field, 'is not a cursor this service issued');
  if (typeof value !== 'string' || !value.startsWith(PREFIX) || value.length > 128) throw invalid();
  const body = value.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw invalid();
  const text = Buffer.from(body, 'base64url').toString('utf8');
  const [, digits, id] = /^(\d{1,15})\.(.+)$/.exec(text) ?? [];
  if (digits === undefined || id === undefined || !UUID_PATTERN.test(id)) throw invalid();
  // Within what every backend's timestamp column holds (SQL DATETIME ends in the year 9999).
  const ms = Number(digits);
  if (ms > LIMITS.cursorTimeMax) throw invalid();
  const at = new Date(ms);
  return { at, id };
}

import { ValidationError } from './errors.js';
import { UUID_PATTERN } from './ids.js';

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
  const match = /^(\d{1,15})\.(.+)$/.exec(text);
  if (!match || !UUID_PATTERN.test(match[2]!)) throw invalid();
  const ms = Number(match[1]);
  const at = new Date(ms);
  if (Number.isNaN(at.getTime())) throw invalid();
  return { at, id: match[2]! };
}

import { randomBytes } from 'node:crypto';

/**
 * Identifier rules shared by every backend. Ids are generated here, in the domain layer, so a
 * record keeps its id when it moves between databases.
 */

/** A user id is the identity provider's `sub`: 1–128 of letters, digits and `._:@|-`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@|-]{1,128}$/;

/** Canonical lower-case UUID text (any version; we generate v7). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lastMillis = -1;
let counter = 0;

/**
 * UUIDv7 (RFC 9562 §5.7) with a 12-bit counter in `rand_a` (method 1 of §6.2), so ids minted by
 * one process in the same millisecond still sort in creation order. When the counter overflows
 * the timestamp is advanced by one millisecond rather than breaking monotonicity.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    // Start each millisecond at a random point in the lower half so the counter rarely overflows.
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
  } else {
    counter += 1;
    if (counter > 0xfff) {
      lastMillis += 1;
      counter = 0;
    }
  }
  const bytes = randomBytes(16);
  bytes[6] = (counter >>> 8) & 0x0f;
  bytes[7] = counter & 0xff;
  return formatUuidv7(lastMillis, bytes);
}

/**
 * Lays out a UUIDv7 from a millisecond timestamp and 16 bytes whose last ten supply the other
 * bits (bytes 6–7 carry `rand_a`, or a counter): sets the version and variant, writes the time.
 */
export function formatUuidv7(ms: number, bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

export function isUserId(value: string): boolean {
  return USER_ID_PATTERN.test(value);
}

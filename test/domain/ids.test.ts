import { describe, expect, it } from 'vitest';
import { formatUuidv7, UUID_PATTERN, uuidv7 } from '../../src/domain/ids.js';

describe('UUIDv7', () => {
  it('carries the timestamp, version 7 and the RFC 9562 variant', () => {
    const ms = Date.parse('2026-11-22T04:55:27.754Z');
    const id = uuidv7(ms);
    expect(id).toMatch(UUID_PATTERN);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]!);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts in creation order within one millisecond', () => {
    const ms = Date.parse('2030-01-01T00:00:00.000Z');
    const ids = Array.from({ length: 5000 }, () => uuidv7(ms));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lays out given bytes exactly', () => {
    expect(formatUuidv7(0x0123456789ab, new Uint8Array(16).fill(0xff))).toBe('01234567-89ab-7fff-bfff-ffffffffffff');
  });
});

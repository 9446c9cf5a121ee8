import { describe, expect, it } from 'vitest';
import { escapeJson, escapeKey, unescapeJson, unescapeKey } from '../../database/mongodb/document-mapper.js';
import { compareCodePoints } from '../../database/mongodb/keys.js';

describe('mongodb document mapper: free-form JSON keys', () => {
  const alphabet = ['%', '.', '$', '\u0000', '2', '4', 'E', '5', 'F', 'a', '_', 'é', '😀'];
  const randomKey = (seed: number) => {
    let s = '';
    let x = seed;
    for (let i = 0; i < 1 + (seed % 7); i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      s += alphabet[x % alphabet.length];
    }
    return s;
  };

  it('escapes reversibly, leaving no $, dot or NUL in a stored key', () => {
    const keys = [
      '$gt',
      'a.b',
      '%24gt',
      '%',
      '%%2E',
      '_bsontype',
      '%5Fbsontype',
      '__proto__',
      '',
      '$',
      '.',
      'plain',
      ...Array.from({ length: 2000 }, (_, i) => randomKey(i)),
    ];
    for (const key of keys) {
      const stored = escapeKey(key);
      expect(unescapeKey(stored)).toBe(key);
      expect(stored).not.toMatch(/[.$]/);
      expect(stored).not.toContain('\u0000');
      expect(stored).not.toBe('_bsontype');
    }
    expect(new Set(keys.map(escapeKey)).size).toBe(new Set(keys).size);
    expect(escapeKey('plain_key-1:x')).toBe('plain_key-1:x');
  });

  it('round-trips nested JSON exactly, key order included', () => {
    const value = JSON.parse('{"z":1,"$where":{"a.b":[{"$gt":""},null,true,2.5]},"__proto__":{"x":1},"%":"%24"}');
    const back = unescapeJson(escapeJson(value));
    expect(JSON.stringify(back)).toBe(JSON.stringify(value));
    expect(Object.keys(escapeJson(value) as object)).toEqual(['z', '%24where', '__proto__', '%25']);
  });
});

describe('code-point order', () => {
  it('orders by code point, not UTF-16 code unit', () => {
    const words = ['😀', '\uFF5E', 'a', 'B', 'é', 'aa', ''];
    expect([...words].sort(compareCodePoints)).toEqual(['', 'B', 'a', 'aa', 'é', '\uFF5E', '😀']);
  });
});

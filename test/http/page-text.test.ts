import { describe, expect, it } from 'vitest';
import { messageJson } from '../../src/domain/encoding.js';
import type { Message } from '../../src/domain/models.js';
import { pageJson, pageText } from '../../src/http/representation.js';
import { encodedWithinBudget, toPaged } from '../../src/services/pagination.js';

/**
 * A page is serialized once: the service encodes its items (as one array, or item by item when
 * the page is over its byte budget) and the route splices that text into the page. The text must
 * be exactly what serializing the page as an object gives, with the budget's cut applied too.
 */

const message = (i: number, text: string): Message => ({
  id: `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
  conversationId: '0190f0a0-0000-7000-8000-0000000000ff',
  authorId: 'alice',
  role: i % 2 === 0 ? 'user' : 'assistant',
  content: [{ type: 'text', text }],
  metadata: i % 3 === 0 ? { k: `v${i}` } : {},
  clientMessageId: i === 1 ? 'c-1' : null,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  editedAt: null,
  deletedAt: null,
  version: 1,
  status: i === 4 ? 'in_progress' : 'completed',
  statusReason: null,
});

const keyOf = (m: Message) => ({ at: m.createdAt, id: m.id });
const encode = (m: Message) => JSON.stringify(messageJson(m));

describe('pageText', () => {
  it('equals the page serialized as an object, for whole pages, cut pages and empty ones', () => {
    const items = Array.from({ length: 6 }, (_, i) => message(i, `text ${i} — "quoted" \u2028 ${'x'.repeat(i * 40)}`));
    const bytes = (m: Message) => Buffer.byteLength(encode(m));
    const two = bytes(items[0]!) + bytes(items[1]!);
    const all = items.reduce((a, m) => a + bytes(m), 0);
    for (const [budget, kept] of [
      [1_000_000, 6],
      // The items alone fit, the array with its brackets and commas does not: nothing is cut.
      [all, 6],
      [all - 1, 5],
      [two, 2],
      [1, 1],
    ] as const) {
      const { page, encoded } = encodedWithinBudget({ items, hasMore: false }, messageJson, budget);
      expect(page.items).toHaveLength(kept);
      expect(JSON.parse(encoded)).toEqual(items.slice(0, kept).map(messageJson));
      const paged = { ...toPaged(page, keyOf, { reversible: true }), encoded };
      const text = pageText(paged, messageJson);
      expect(text).toBe(JSON.stringify(pageJson(paged, messageJson)));
      expect(JSON.parse(text)).toMatchObject({ hasMore: kept < 6, data: items.slice(0, kept).map(messageJson) });
    }
    const { encoded } = encodedWithinBudget({ items: [] as Message[], hasMore: false }, messageJson, 10);
    const empty = { ...toPaged({ items: [], hasMore: false }, keyOf, { reversible: true }), encoded };
    expect(pageText(empty, messageJson)).toBe('{"data":[],"nextCursor":null,"prevCursor":null,"hasMore":false}');
  });

  it('serializes the items itself when the service did not', () => {
    const items = [message(1, 'a'), message(2, 'b')];
    const paged = toPaged({ items, hasMore: true }, keyOf, { reversible: true });
    expect(pageText(paged, messageJson)).toBe(JSON.stringify(pageJson(paged, messageJson)));
  });
});

import { expect } from 'vitest';
import type { CursorKey } from '../../../src/domain/cursor.js';
import type { Message } from '../../../src/domain/models.js';
import type { Direction, Store } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import { createConversation, createUser, newMessage } from '../fixtures.js';

const key = (m: Message): CursorKey => ({ at: m.createdAt, id: m.id });

async function walk(
  store: Store,
  conversationId: string,
  direction: Direction,
  limit: number,
  start?: CursorKey,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after = start;
  let pages = 0;
  for (; pages < 1000; ) {
    const page = await store.messages.list({ conversationId, limit, direction, after });
    pages += 1;
    ids.push(...page.items.map((m) => m.id));
    if (!page.hasMore) break;
    expect(page.items).toHaveLength(limit);
    after = key(page.items.at(-1)!);
  }
  return { ids, pages };
}

/** Posts `n` messages a millisecond apart, three of them sharing one timestamp. */
async function seed(store: Store, n: number) {
  const owner = await createUser(store);
  const c = await createConversation(store, owner);
  const base = Date.parse('2026-08-08T00:00:00.000Z');
  const posted: Message[] = [];
  for (let i = 0; i < n; i++) {
    const ms = i >= 3 && i <= 5 ? base + 3 : base + i;
    posted.push((await store.messages.post(newMessage(c.id, owner.id, { createdAt: new Date(ms) }))).message);
  }
  const ordered = [...posted].sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return { owner, c, ordered };
}

export function paginationSpec(test: StoreTest): void {
  test('pagination: older pages run newest first by (createdAt, id), newer pages oldest first', async (store) => {
    const { c, ordered } = await seed(store, 11);
    const ids = ordered.map((m) => m.id);
    const newest = await store.messages.list({ conversationId: c.id, limit: 4, direction: 'older' });
    expect(newest.items.map((m) => m.id)).toEqual(ids.slice(-4).reverse());
    expect(newest.hasMore).toBe(true);
    expect(newest.items[0]).toEqual(ordered.at(-1));

    const older = await walk(store, c.id, 'older', 4);
    expect(older.ids).toEqual([...ids].reverse());
    expect(older.pages).toBe(3);
    const newer = await walk(store, c.id, 'newer', 4);
    expect(newer.ids).toEqual(ids);

    // From the middle, in both directions, exclusive of the cursor.
    const middle = ordered[5]!;
    expect((await walk(store, c.id, 'newer', 3, key(middle))).ids).toEqual(ids.slice(6));
    expect((await walk(store, c.id, 'older', 3, key(middle))).ids).toEqual(ids.slice(0, 5).reverse());
    // At the ends.
    const end = await store.messages.list({
      conversationId: c.id,
      limit: 4,
      direction: 'newer',
      after: key(ordered.at(-1)!),
    });
    expect(end).toEqual({ items: [], hasMore: false });
    const exact = await store.messages.list({ conversationId: c.id, limit: 11, direction: 'older' });
    expect(exact.hasMore).toBe(false);
    expect(exact.items).toHaveLength(11);
  });

  test('pagination: an empty conversation gives an empty page', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    expect(await store.messages.list({ conversationId: c.id, limit: 50, direction: 'older' })).toEqual({
      items: [],
      hasMore: false,
    });
    expect(await store.messages.list({ conversationId: c.id, limit: 50, direction: 'newer' })).toEqual({
      items: [],
      hasMore: false,
    });
  });

  test('pagination: no gaps and no duplicates while other clients insert', async (store) => {
    const { owner, c, ordered } = await seed(store, 30);
    const seen: string[] = [];
    let after: CursorKey | undefined;
    let newestSeen: CursorKey | undefined;
    for (let round = 0; round < 100; round++) {
      const page = await store.messages.list({ conversationId: c.id, limit: 7, direction: 'older', after });
      if (round === 0) newestSeen = key(page.items[0]!);
      seen.push(...page.items.map((m) => m.id));
      // Another client posts between every page.
      await store.messages.post(
        newMessage(c.id, owner.id, { createdAt: new Date(Date.parse('2026-09-09T00:00:00.000Z') + round) }),
      );
      if (!page.hasMore) break;
      after = key(page.items.at(-1)!);
    }
    expect(seen).toEqual(ordered.map((m) => m.id).reverse());
    // Catching up from the newest seen item returns exactly what arrived meanwhile, in order.
    const caughtUp = await walk(store, c.id, 'newer', 2, newestSeen);
    const all = (await walk(store, c.id, 'newer', 200)).ids;
    expect(caughtUp.ids).toEqual(all.slice(30));
    expect(caughtUp.ids.length).toBeGreaterThanOrEqual(5);
  });
}

import { expect } from 'vitest';
import { DuplicateError, NotFoundError, VersionConflictError } from '../../../src/domain/errors.js';
import type { StoreTest } from '../harness.js';
import {
  at,
  audit,
  AWKWARD_METADATA,
  createConversation,
  createUser,
  newConversation,
  newMessage,
} from '../fixtures.js';

export function conversationsSpec(test: StoreTest): void {
  test('conversations: create then get returns exactly what was stored', async (store) => {
    const owner = await createUser(store);
    const c = newConversation(owner.id, {
      title: null,
      metadata: AWKWARD_METADATA,
      createdAt: at('2025-01-02T03:04:05.678Z'),
      updatedAt: at('2025-01-02T03:04:05.678Z'),
    });
    const created = await store.conversations.create(
      c,
      [{ conversationId: c.id, userId: owner.id, role: 'owner', joinedAt: c.createdAt }],
      audit(owner.id, 'conversation', c.id),
    );
    expect(created).toEqual(c);
    const loaded = await store.conversations.get(c.id);
    expect(loaded).toEqual(c);
    expect(JSON.stringify(loaded.metadata)).toBe(JSON.stringify(AWKWARD_METADATA));
    expect(loaded.lastMessageAt).toBeNull();
    expect(loaded.messageCount).toBe(0);
    expect(await store.audit.listForEntity('conversation', c.id)).toHaveLength(1);
  });

  test('conversations: a missing conversation is a typed NotFound', async (store) => {
    const missing = newConversation('x').id;
    await expect(store.conversations.get(missing)).rejects.toMatchObject({
      constructor: NotFoundError,
      entity: 'conversation',
      id: missing,
    });
    await expect(
      store.conversations.delete(missing, audit('x', 'conversation', missing, 'delete')),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      store.conversations.update({
        id: missing,
        expectedVersion: 1,
        patch: { title: 't' },
        updatedAt: new Date(),
        audit: audit('x', 'conversation', missing, 'update'),
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  test('conversations: update without expectedVersion applies to whatever version is stored', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const when = at('2031-07-08T09:10:11.121Z');
    const audited = () => audit(owner.id, 'conversation', c.id, 'update');
    await store.conversations.update({
      id: c.id,
      expectedVersion: 1,
      patch: { title: 'v2' },
      updatedAt: when,
      audit: audited(),
    });
    const change = { id: c.id, patch: { title: 'v3' }, updatedAt: when };
    const updated = await store.conversations.update({ ...change, audit: audited() });
    expect(updated).toEqual({ ...c, title: 'v3', updatedAt: when, version: 3 });
    expect(await store.conversations.get(c.id)).toEqual(updated);
    const missing = newConversation('x').id;
    const gone = store.conversations.update({
      id: missing,
      patch: { title: 't' },
      updatedAt: when,
      audit: audit('x', 'conversation', missing, 'update'),
    });
    await expect(gone).rejects.toBeInstanceOf(NotFoundError);
  });

  test('conversations: a duplicate id is a typed conflict', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const again = newConversation(owner.id, { id: c.id, title: 'other' });
    await expect(
      store.conversations.create(
        again,
        [{ conversationId: c.id, userId: owner.id, role: 'owner', joinedAt: new Date() }],
        audit(owner.id, 'conversation', c.id),
      ),
    ).rejects.toBeInstanceOf(DuplicateError);
    expect((await store.conversations.get(c.id)).title).toBe(c.title);
  });

  test('conversations: update applies the patch and bumps the version', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner, [], { metadata: { keep: 'no' } });
    const when = at('2031-06-07T08:09:10.111Z');
    const updated = await store.conversations.update({
      id: c.id,
      expectedVersion: 1,
      patch: { title: 'Renamed ✨', metadata: {} },
      updatedAt: when,
      audit: audit(owner.id, 'conversation', c.id, 'update', { title: 'Renamed ✨' }),
    });
    expect(updated).toEqual({ ...c, title: 'Renamed ✨', metadata: {}, updatedAt: when, version: 2 });
    expect(await store.conversations.get(c.id)).toEqual(updated);
    const cleared = await store.conversations.update({
      id: c.id,
      expectedVersion: 2,
      patch: { title: null },
      updatedAt: when,
      audit: audit(owner.id, 'conversation', c.id, 'update'),
    });
    expect(cleared.title).toBeNull();
    expect(cleared.metadata).toEqual({});
    expect(cleared.version).toBe(3);
    expect(await store.audit.listForEntity('conversation', c.id)).toHaveLength(3);
  });

  test('conversations: a stale version is a typed conflict and changes nothing', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    await store.conversations.update({
      id: c.id,
      expectedVersion: 1,
      patch: { title: 'v2' },
      updatedAt: new Date(),
      audit: audit(owner.id, 'conversation', c.id, 'update'),
    });
    const before = await store.conversations.get(c.id);
    await expect(
      store.conversations.update({
        id: c.id,
        expectedVersion: 1,
        patch: { title: 'stale' },
        updatedAt: new Date(),
        audit: audit(owner.id, 'conversation', c.id, 'update'),
      }),
    ).rejects.toMatchObject({
      constructor: VersionConflictError,
      expectedVersion: 1,
    });
    expect(await store.conversations.get(c.id)).toEqual(before);
    expect(await store.audit.listForEntity('conversation', c.id)).toHaveLength(2);
  });

  test('conversations: delete removes the conversation, its messages and its participants', async (store) => {
    const owner = await createUser(store);
    const member = await createUser(store);
    const c = await createConversation(store, owner, [member]);
    const other = await createConversation(store, owner, [member]);
    const { message } = await store.messages.post(newMessage(c.id, owner.id));
    const { message: kept } = await store.messages.post(newMessage(other.id, owner.id));
    await store.conversations.delete(c.id, audit(owner.id, 'conversation', c.id, 'delete'));
    await expect(store.conversations.get(c.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.messages.get(c.id, message.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.conversations.findParticipant(c.id, member.id)).toBeNull();
    await expect(store.conversations.listParticipants(c.id)).rejects.toBeInstanceOf(NotFoundError);
    const page = await store.conversations.listForUser({ userId: member.id, limit: 10 });
    expect(page.items.map((x) => x.id)).toEqual([other.id]);
    expect(await store.messages.get(other.id, kept.id)).toEqual(kept);
    const counts = await store.bulk.counts();
    expect(counts).toMatchObject({ conversations: 1, participants: 2, messages: 1 });
    expect((await store.audit.listForEntity('conversation', c.id)).map((a) => a.action)).toEqual(['create', 'delete']);
  });

  test('conversations: a user lists only theirs, by most recent activity, by cursor', async (store) => {
    const me = await createUser(store);
    const stranger = await createUser(store);
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const mine = [];
    for (let i = 0; i < 5; i++)
      mine.push(
        await createConversation(store, me, [], {
          createdAt: new Date(base + i * 1000),
          updatedAt: new Date(base + i * 1000),
        }),
      );
    const invited = await createConversation(store, stranger, [me], {
      createdAt: new Date(base + 10_000),
      updatedAt: new Date(base + 10_000),
    });
    await createConversation(store, stranger, [], { createdAt: new Date(base + 20_000) });
    // A message makes the oldest conversation the most recent.
    await store.messages.post(newMessage(mine[0]!.id, me.id, { createdAt: new Date(base + 30_000) }));

    const expected = [mine[0]!.id, invited.id, mine[4]!.id, mine[3]!.id, mine[2]!.id, mine[1]!.id];
    const first = await store.conversations.listForUser({ userId: me.id, limit: 4 });
    expect(first.items.map((c) => c.id)).toEqual(expected.slice(0, 4));
    expect(first.hasMore).toBe(true);
    expect(first.items[0]!.messageCount).toBe(1);
    const last = first.items.at(-1)!;
    const second = await store.conversations.listForUser({
      userId: me.id,
      limit: 4,
      after: { at: last.lastMessageAt ?? last.createdAt, id: last.id },
    });
    expect(second.items.map((c) => c.id)).toEqual(expected.slice(4));
    expect(second.hasMore).toBe(false);
    const exact = await store.conversations.listForUser({ userId: me.id, limit: 6 });
    expect(exact.hasMore).toBe(false);
    expect((await store.conversations.listForUser({ userId: 'nobody', limit: 10 })).items).toEqual([]);
  });

  test('conversations: ties in activity are ordered by id, and a cursor never repeats or skips', async (store) => {
    const me = await createUser(store);
    const when = at('2026-02-02T02:02:02.222Z');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await createConversation(store, me, [], { createdAt: when, updatedAt: when })).id);
    const expected = [...ids].sort().reverse();
    const seen: string[] = [];
    let after;
    for (let guard = 0; guard < 10; guard++) {
      const page = await store.conversations.listForUser({ userId: me.id, limit: 3, after });
      seen.push(...page.items.map((c) => c.id));
      if (!page.hasMore) break;
      const last = page.items.at(-1)!;
      after = { at: last.createdAt, id: last.id };
    }
    expect(seen).toEqual(expected);
  });
}

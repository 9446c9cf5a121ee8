import { expect } from 'vitest';
import type { InboxPosition, Store } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import { audit, createConversation, createUser, newMessage } from '../fixtures.js';

const START: InboxPosition = { at: new Date(0), id: '' };

/** Every change of the user's inbox after `after`, through pages of `pageSize`. */
async function allChanges(store: Store, userId: string, after = START, pageSize = 2) {
  const out: { id: string; changedAt: number; messageCount: number; title: string | null }[] = [];
  let position = after;
  for (let guard = 0; guard < 100; guard++) {
    const page = await store.inbox.changes(userId, position, pageSize);
    for (const x of page.items)
      out.push({
        id: x.conversation.id,
        changedAt: x.changedAt.getTime(),
        messageCount: x.conversation.messageCount,
        title: x.conversation.title,
      });
    if (!page.hasMore) break;
    const last = page.items.at(-1)!;
    position = { at: last.changedAt, id: last.conversation.id };
  }
  return out;
}

export function inboxSpec(test: StoreTest): void {
  test('inbox: a user sees their conversations ordered by the latest change, and only theirs', async (store) => {
    const me = await createUser(store);
    const other = await createUser(store);
    const t0 = Date.now() - 60_000;
    const a = await createConversation(store, me, [], { createdAt: new Date(t0), updatedAt: new Date(t0) });
    const b = await createConversation(store, me, [other], {
      createdAt: new Date(t0 + 1000),
      updatedAt: new Date(t0 + 1000),
    });
    const c = await createConversation(store, other, [], {
      createdAt: new Date(t0 + 2000),
      updatedAt: new Date(t0 + 2000),
    });
    // A post moves `a` to the end; pages of two must still give every conversation once.
    await store.messages.post(newMessage(a.id, me.id, { createdAt: new Date(t0 + 3000) }));

    expect(await allChanges(store, me.id)).toEqual([
      { id: b.id, changedAt: t0 + 1000, messageCount: 0, title: b.title },
      { id: a.id, changedAt: t0 + 3000, messageCount: 1, title: a.title },
    ]);
    expect((await allChanges(store, other.id)).map((x) => x.id)).toEqual([b.id, c.id]);
    // After a position: strictly later changes only (the same time with a greater id counts as later).
    expect((await allChanges(store, me.id, { at: new Date(t0 + 1000), id: b.id })).map((x) => x.id)).toEqual([a.id]);
    expect((await allChanges(store, me.id, { at: new Date(t0 + 1000), id: '' })).map((x) => x.id)).toEqual([
      b.id,
      a.id,
    ]);
    expect(await allChanges(store, me.id, { at: new Date(t0 + 3000), id: a.id })).toEqual([]);
  });

  test('inbox: a rename, and joining later, are changes; the joined time counts for the one who joined', async (store) => {
    const owner = await createUser(store);
    const late = await createUser(store);
    const t0 = Date.now() - 60_000;
    const c = await createConversation(store, owner, [], { createdAt: new Date(t0), updatedAt: new Date(t0) });
    await store.conversations.addParticipant(
      { conversationId: c.id, userId: late.id, role: 'member', joinedAt: new Date(t0 + 5000) },
      audit(owner.id, 'participant', `${c.id}/${late.id}`),
    );
    expect(await allChanges(store, late.id)).toEqual([
      { id: c.id, changedAt: t0 + 5000, messageCount: 0, title: c.title },
    ]);
    expect((await allChanges(store, owner.id)).map((x) => x.changedAt)).toEqual([t0]);

    await store.conversations.update({
      id: c.id,
      expectedVersion: 1,
      patch: { title: 'renamed' },
      updatedAt: new Date(t0 + 9000),
      audit: audit(owner.id, 'conversation', c.id, 'update'),
    });
    for (const user of [owner, late])
      expect(await allChanges(store, user.id, { at: new Date(t0 + 5000), id: c.id })).toEqual([
        { id: c.id, changedAt: t0 + 9000, messageCount: 0, title: 'renamed' },
      ]);
  });

  test('inbox: removals and deletions are recorded for every participant who left, in order', async (store) => {
    const owner = await createUser(store);
    const member = await createUser(store);
    const a = await createConversation(store, owner, [member]);
    const b = await createConversation(store, owner, [member]);
    const removedAt = new Date(Date.now() - 2000);
    await store.conversations.removeParticipant(a.id, member.id, {
      ...audit(owner.id, 'participant', 'x', 'delete'),
      at: removedAt,
    });
    const deletedAt = new Date(Date.now() - 1000);
    await store.conversations.delete(b.id, { ...audit(owner.id, 'conversation', b.id, 'delete'), at: deletedAt });

    const mine = await store.inbox.removals(member.id, START, 10);
    expect(mine).toEqual({
      items: [
        { userId: member.id, conversationId: a.id, at: removedAt, reason: 'removed' },
        { userId: member.id, conversationId: b.id, at: deletedAt, reason: 'deleted' },
      ],
      hasMore: false,
    });
    expect((await store.inbox.removals(owner.id, START, 10)).items).toEqual([
      { userId: owner.id, conversationId: b.id, at: deletedAt, reason: 'deleted' },
    ]);
    // Paging and positions.
    expect(await store.inbox.removals(member.id, START, 1)).toEqual({ items: [mine.items[0]], hasMore: true });
    expect((await store.inbox.removals(member.id, { at: removedAt, id: a.id }, 10)).items).toEqual([mine.items[1]]);
    // The member no longer sees either conversation as a change.
    expect(await allChanges(store, member.id)).toEqual([]);
  });

  test('inbox: a removal that fails records nothing; pruning forgets old removals', async (store) => {
    const owner = await createUser(store);
    const stranger = await createUser(store);
    const c = await createConversation(store, owner);
    await expect(
      store.conversations.removeParticipant(c.id, stranger.id, audit(owner.id, 'participant', 'x', 'delete')),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.inbox.removals(stranger.id, START, 10)).items).toEqual([]);

    const member = await createUser(store);
    await store.conversations.addParticipant(
      { conversationId: c.id, userId: member.id, role: 'member', joinedAt: new Date() },
      audit(owner.id, 'participant', `${c.id}/${member.id}`),
    );
    await store.conversations.removeParticipant(c.id, member.id, audit(owner.id, 'participant', 'x', 'delete'));
    expect((await store.inbox.removals(member.id, START, 10)).items).toHaveLength(1);
    await store.events.prune(new Date(Date.now() + 60_000));
    expect((await store.inbox.removals(member.id, START, 10)).items).toEqual([]);
  });

  test('ticket uses: a nonce is claimed once; expired uses are forgotten', async (store) => {
    const soon = new Date(Date.now() + 60_000);
    expect(await store.ticketUses.claim('nonce-a', soon)).toBe(true);
    expect(await store.ticketUses.claim('nonce-a', soon)).toBe(false);
    expect(await store.ticketUses.claim('nonce-b', new Date(Date.now() - 1000))).toBe(true);
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.ticketUses.claim('nonce-c', soon)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.ticketUses.prune(new Date())).toBe(1);
    expect(await store.ticketUses.claim('nonce-a', soon)).toBe(false);
    expect(await store.ticketUses.claim('nonce-b', soon)).toBe(true);
  });
}

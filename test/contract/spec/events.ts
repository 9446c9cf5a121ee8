import { expect } from 'vitest';
import { VersionConflictError } from '../../../src/domain/errors.js';
import { conversationJson, messageJson, participantJson } from '../../../src/domain/encoding.js';
import type { ConversationEvent } from '../../../src/domain/events.js';
import type { Store } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import { audit, createConversation, createUser, newMessage, text } from '../fixtures.js';

async function all(store: Store, conversationId: string, after = 0): Promise<ConversationEvent[]> {
  const out: ConversationEvent[] = [];
  let from = after;
  for (let guard = 0; guard < 100; guard++) {
    const page = await store.events.list(conversationId, from, 200);
    out.push(...page.items);
    if (!page.hasMore) break;
    from = page.items.at(-1)!.seq;
  }
  return out;
}

export function eventsSpec(test: StoreTest): void {
  test('events: every change appends one event with the next seq and the stored payload', async (store) => {
    const owner = await createUser(store);
    const member = await createUser(store);
    const late = await createUser(store);
    const c = await createConversation(store, owner, [member]);
    const { message } = await store.messages.post(newMessage(c.id, owner.id, { content: text('hi') }));
    const edited = await store.messages.update({
      conversationId: c.id,
      messageId: message.id,
      expectedVersion: 1,
      patch: { content: text('hi, edited') },
      editedAt: new Date(),
      audit: audit(owner.id, 'message', message.id, 'update'),
    });
    const tomb = await store.messages.softDelete({
      conversationId: c.id,
      messageId: message.id,
      deletedAt: new Date(),
      audit: audit(owner.id, 'message', message.id, 'delete'),
    });
    const joined = { conversationId: c.id, userId: late.id, role: 'member' as const, joinedAt: new Date() };
    await store.conversations.addParticipant(joined, audit(owner.id, 'participant', `${c.id}/${late.id}`));
    await store.conversations.removeParticipant(c.id, member.id, audit(member.id, 'participant', 'x', 'delete'));
    const updated = await store.conversations.update({
      id: c.id,
      expectedVersion: 1,
      patch: { title: 'renamed' },
      updatedAt: new Date(),
      audit: audit(owner.id, 'conversation', c.id, 'update'),
    });

    const events = await all(store, c.id);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'conversation.created'],
      [2, 'message.created'],
      [3, 'message.updated'],
      [4, 'message.deleted'],
      [5, 'participant.added'],
      [6, 'participant.removed'],
      [7, 'conversation.updated'],
    ]);
    expect(events[0]!.data).toEqual({
      conversation: conversationJson(c),
      participants: [owner, member].map((u, i) =>
        participantJson({
          conversationId: c.id,
          userId: u.id,
          role: i === 0 ? 'owner' : 'member',
          joinedAt: c.createdAt,
        }),
      ),
    });
    expect(events[1]).toMatchObject({
      actorId: owner.id,
      subject: message.id,
      data: { message: messageJson(message) },
    });
    expect(events[2]!.data).toEqual({ message: messageJson(edited) });
    expect(events[3]!.data).toEqual({ message: messageJson(tomb) });
    expect(events[4]).toMatchObject({ subject: late.id, data: { participant: participantJson(joined) } });
    expect(events[5]).toMatchObject({ actorId: member.id, subject: member.id, data: { userId: member.id } });
    expect(events[6]!.data).toEqual({
      changes: { title: 'renamed' },
      updatedAt: updated.updatedAt.toISOString(),
      version: 2,
    });
    for (const e of events) expect(e.conversationId).toBe(c.id);
    expect(await store.events.latestSeq(c.id)).toBe(7);
    expect(await store.events.joinedSeq(c.id, late.id)).toBe(5);
    expect(await store.events.joinedSeq(c.id, owner.id)).toBe(0);
  });

  test('events: seq stays gapless under 50 concurrent posts, in the order of the log', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.messages.post(newMessage(c.id, owner.id, { content: text(`m${i}`) }))),
    );
    const events = await all(store, c.id);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    const created = events.filter((e) => e.type === 'message.created');
    expect(new Set(created.map((e) => e.subject)).size).toBe(50);
    expect(await store.events.latestSeq(c.id)).toBe(51);
  });

  test('events: a failed change or a repeated clientMessageId appends nothing', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const first = await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'once' }));
    const again = await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'once' }));
    expect(again.created).toBe(false);
    await expect(
      store.conversations.update({
        id: c.id,
        expectedVersion: 7,
        patch: { title: 'stale' },
        updatedAt: new Date(),
        audit: audit(owner.id, 'conversation', c.id, 'update'),
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    await expect(
      store.messages.update({
        conversationId: c.id,
        messageId: first.message.id,
        expectedVersion: 9,
        patch: { content: text('stale') },
        editedAt: new Date(),
        audit: audit(owner.id, 'message', first.message.id, 'update'),
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    await expect(
      store.conversations.removeParticipant(c.id, 'nobody', audit(owner.id, 'participant', 'x', 'delete')),
    ).rejects.toThrow();
    expect((await all(store, c.id)).map((e) => e.type)).toEqual(['conversation.created', 'message.created']);
    expect(await store.events.latestSeq(c.id)).toBe(2);
    // The next change takes the next seq: nothing was given out by the failures.
    await store.messages.post(newMessage(c.id, owner.id));
    expect((await all(store, c.id)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  test('events: resume after N gives N+1… exactly once, in pages', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    for (let i = 0; i < 12; i++) await store.messages.post(newMessage(c.id, owner.id, { content: text(`m${i}`) }));
    const page = await store.events.list(c.id, 4, 5);
    expect(page.items.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(page.hasMore).toBe(true);
    const rest = await store.events.list(c.id, 9, 5);
    expect(rest.items.map((e) => e.seq)).toEqual([10, 11, 12, 13]);
    expect(rest.hasMore).toBe(false);
    expect((await store.events.list(c.id, 13, 5)).items).toEqual([]);
    expect((await store.events.list(c.id, 99, 5)).items).toEqual([]);
    const other = await createConversation(store, owner);
    expect((await all(store, other.id)).map((e) => e.seq)).toEqual([1]);
  });

  test('events: the log outlives a deleted conversation, ending with conversation.deleted', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    await store.messages.post(newMessage(c.id, owner.id));
    await store.conversations.delete(c.id, audit(owner.id, 'conversation', c.id, 'delete'));
    const events = await all(store, c.id);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'conversation.created'],
      [2, 'message.created'],
      [3, 'conversation.deleted'],
    ]);
    expect(events[2]).toMatchObject({ actorId: owner.id, subject: c.id, data: {} });
    expect(await store.events.latestSeq(c.id)).toBe(3);
    expect(await store.events.latestSeq('0190a0a0-0000-7000-8000-000000000000')).toBe(0);
  });

  test('events: prune removes events older than the cutoff and keeps the seq counter', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    await store.messages.post(newMessage(c.id, owner.id));
    const cutoff = new Date(Date.now() + 60_000);
    expect(await store.events.prune(new Date(0))).toBe(0);
    expect(await store.events.prune(cutoff)).toBeGreaterThanOrEqual(2);
    expect((await all(store, c.id)).length).toBe(0);
    expect(await store.events.latestSeq(c.id)).toBe(2);
    await store.messages.post(newMessage(c.id, owner.id));
    expect((await all(store, c.id)).map((e) => e.seq)).toEqual([3]);
  });
}

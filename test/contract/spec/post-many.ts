import { expect } from 'vitest';
import { messageJson } from '../../../src/domain/encoding.js';
import { DuplicateError, NotFoundError } from '../../../src/domain/errors.js';
import type { ConversationEvent } from '../../../src/domain/events.js';
import { uuidv7 } from '../../../src/domain/ids.js';
import type { Message } from '../../../src/domain/models.js';
import type { Store } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import {
  at,
  AWKWARD_CONTENT,
  AWKWARD_METADATA,
  createConversation,
  createUser,
  newConversation,
  newMessage,
  text,
} from '../fixtures.js';

/** Messages of one batch: one instant, ids in creation order (as the service makes them). */
function batch(conversationId: string, authorId: string, n: number, createdAt = new Date()): Message[] {
  return Array.from({ length: n }, (_, i) =>
    newMessage(conversationId, authorId, {
      id: uuidv7(createdAt.getTime()),
      createdAt,
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: i === 1 ? AWKWARD_CONTENT : text(`batch message ${i}`),
      metadata: i === 1 ? AWKWARD_METADATA : {},
    }),
  );
}

async function everything(store: Store, conversationId: string): Promise<Message[]> {
  return (await store.messages.list({ conversationId, limit: 200, direction: 'newer' })).items;
}

async function log(store: Store, conversationId: string): Promise<ConversationEvent[]> {
  return (await store.events.list(conversationId, 0, 500)).items;
}

export function postManySpec(test: StoreTest): void {
  test('postMany: every message is stored exactly, in order, counted, each with its event', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const { message: before } = await store.messages.post(newMessage(c.id, owner.id, { content: text('before') }));
    const messages = batch(c.id, owner.id, 5, at('2027-01-02T03:04:05.678Z'));
    const stored = await store.messages.postMany(c.id, messages);
    expect(stored).toEqual(messages);
    expect(await everything(store, c.id)).toEqual([before, ...messages]);
    const loaded = await store.messages.get(c.id, messages[1]!.id);
    expect(JSON.stringify(loaded.content)).toBe(JSON.stringify(AWKWARD_CONTENT));
    expect(await store.conversations.get(c.id)).toEqual({
      ...c,
      messageCount: 6,
      lastMessageAt: at('2027-01-02T03:04:05.678Z'),
    });
    const events = await log(store, c.id);
    expect(events.map((e) => [e.seq, e.type, e.subject])).toEqual([
      [1, 'conversation.created', c.id],
      [2, 'message.created', before.id],
      ...messages.map((m, i) => [3 + i, 'message.created', m.id]),
    ]);
    for (const [i, m] of messages.entries()) {
      expect(events[2 + i]).toMatchObject({ actorId: owner.id, at: m.createdAt, data: { message: messageJson(m) } });
    }
    expect(await store.events.latestSeq(c.id)).toBe(7);
    // Reading through the page API keeps the batch's order in both directions.
    const newest = await store.messages.list({ conversationId: c.id, limit: 3, direction: 'older' });
    expect(newest.items.map((m) => m.id)).toEqual(
      messages
        .slice(2)
        .reverse()
        .map((m) => m.id),
    );
  });

  test('postMany: a taken id fails the whole batch: nothing stored, counted or logged', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const { message: existing } = await store.messages.post(newMessage(c.id, owner.id));
    const before = await store.conversations.get(c.id);
    // The last message collides with a stored one: the first four were written when it fails.
    const clashing = [...batch(c.id, owner.id, 4), newMessage(c.id, owner.id, { id: existing.id })];
    await expect(store.messages.postMany(c.id, clashing)).rejects.toMatchObject({
      constructor: DuplicateError,
      field: 'id',
    });
    // Two messages of the batch with one id.
    const twice = batch(c.id, owner.id, 3);
    twice[2] = { ...twice[2]!, id: twice[0]!.id };
    await expect(store.messages.postMany(c.id, twice)).rejects.toBeInstanceOf(DuplicateError);

    expect(await everything(store, c.id)).toEqual([existing]);
    expect(await store.conversations.get(c.id)).toEqual(before);
    expect((await store.bulk.counts()).messages).toBe(1);
    expect((await log(store, c.id)).map((e) => e.seq)).toEqual([1, 2]);
    for (const m of clashing.slice(0, 4))
      await expect(store.messages.get(c.id, m.id)).rejects.toBeInstanceOf(NotFoundError);
    // The seqs the failures claimed were given back: the next change takes the next one.
    const next = batch(c.id, owner.id, 2);
    await store.messages.postMany(c.id, next);
    expect((await log(store, c.id)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect((await store.conversations.get(c.id)).messageCount).toBe(3);
  });

  test('postMany: a missing conversation is NotFound and stores nothing', async (store) => {
    const owner = await createUser(store);
    const ghost = newConversation(owner.id).id;
    await expect(store.messages.postMany(ghost, batch(ghost, owner.id, 3))).rejects.toMatchObject({
      constructor: NotFoundError,
      entity: 'conversation',
    });
    expect((await store.bulk.counts()).messages).toBe(0);
    expect(await store.events.latestSeq(ghost)).toBe(0);
  });

  test('postMany: concurrent batches and posts lose nothing; each batch keeps consecutive seqs', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const batches = Array.from({ length: 8 }, () => batch(c.id, owner.id, 4));
    await Promise.all([
      ...batches.map((b) => store.messages.postMany(c.id, b)),
      ...Array.from({ length: 8 }, (_, i) =>
        store.messages.post(newMessage(c.id, owner.id, { content: text(`${i}`) })),
      ),
    ]);
    expect((await store.conversations.get(c.id)).messageCount).toBe(40);
    expect((await everything(store, c.id)).length).toBe(40);
    const events = await log(store, c.id);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    const seqOf = new Map(events.map((e) => [e.subject, e.seq]));
    for (const b of batches) {
      const first = seqOf.get(b[0]!.id)!;
      expect(b.map((m) => seqOf.get(m.id))).toEqual([first, first + 1, first + 2, first + 3]);
    }
  });
}

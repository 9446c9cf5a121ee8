import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import { sharedEventReads } from '../../src/services/shared-reads.js';
import { createConversation, createUser, newMessage } from '../contract/fixtures.js';

/** A real (memory) store whose event-log reads are counted on their way to it. */
function countedStore() {
  const store = openMemoryStore();
  const calls = { list: 0, latestSeq: 0 };
  const list = store.events.list.bind(store.events);
  const latestSeq = store.events.latestSeq.bind(store.events);
  store.events.list = (...args) => {
    calls.list++;
    return list(...args);
  };
  store.events.latestSeq = (...args) => {
    calls.latestSeq++;
    return latestSeq(...args);
  };
  return { store, calls };
}

async function conversationWithEvents(store: ReturnType<typeof openMemoryStore>) {
  return (await createConversation(store, await createUser(store))).id;
}

describe('shared event-log reads', () => {
  it('answers identical reads of one batch of wake-ups with one query, and later ones with their own', async () => {
    const { store, calls } = countedStore();
    const id = await conversationWithEvents(store);
    const shared = sharedEventReads(store);
    const readers = await new Promise<unknown[]>((resolve) => {
      const results: Promise<unknown>[] = [];
      // As the notifier wakes a conversation's streams: ten microtasks queued together.
      for (let i = 0; i < 10; i++) queueMicrotask(() => results.push(shared.events.list(id, 0, 200)));
      queueMicrotask(() => resolve(Promise.all(results)));
    });
    expect(calls.list).toBe(1);
    expect(new Set(readers).size).toBe(1);
    expect((readers[0] as { items: { seq: number }[] }).items.map((e) => e.seq)).toEqual([1]);
    // Other arguments are other questions; a later batch asks again and sees later writes.
    await Promise.all([shared.events.list(id, 1, 200), shared.events.latestSeq(id), shared.events.latestSeq(id)]);
    expect(calls).toEqual({ list: 2, latestSeq: 1 });
    const owner = (await store.conversations.get(id))!.createdBy;
    await store.messages.post(newMessage(id, owner));
    const later = await shared.events.list(id, 0, 200);
    expect(calls.list).toBe(3);
    expect(later.items.map((e) => e.type)).toEqual(['conversation.created', 'message.created']);
  });
});

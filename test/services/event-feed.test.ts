import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import type { Store } from '../../src/repositories/ports.js';
import { EventService } from '../../src/services/events.js';
import { createConversation, createUser, newMessage } from '../contract/fixtures.js';

describe('event feed reads', () => {
  it('a change committing between the read of the log and the read of its counter is no reset', async () => {
    const store = openMemoryStore();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const list = store.events.list.bind(store.events);
    let interleave = true;
    // The first read of the log sees nothing new; a post commits right after it, before the
    // service asks how far the log goes.
    const racing: Store = {
      ...store,
      events: {
        ...store.events,
        latestSeq: store.events.latestSeq.bind(store.events),
        joinedSeq: store.events.joinedSeq.bind(store.events),
        prune: store.events.prune.bind(store.events),
        async list(conversationId, afterSeq, limit) {
          const page = await list(conversationId, afterSeq, limit);
          if (interleave) {
            interleave = false;
            await store.messages.post(newMessage(c.id, owner.id));
          }
          return page;
        },
      },
    };
    const events = new EventService(racing);
    const feed = await events.open(owner.id, c.id);
    const page = await events.read(feed, 1, 10);
    expect(page.reset).toBeNull();
    expect(page.events.map((e) => [e.seq, e.type])).toEqual([[2, 'message.created']]);
    expect(page.lastSeq).toBe(2);
  });

  it('events gone on a second look were pruned: a reset naming the last seq', async () => {
    const store = openMemoryStore();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    await store.messages.post(newMessage(c.id, owner.id));
    await store.events.prune(new Date(Date.now() + 60_000));
    const events = new EventService(store);
    const page = await events.read(await events.open(owner.id, c.id), 0, 10);
    expect(page).toMatchObject({ events: [], reset: { reason: 'expired', lastSeq: 2 }, lastSeq: 2 });
  });
});

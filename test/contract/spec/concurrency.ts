import { expect } from 'vitest';
import { VersionConflictError } from '../../../src/domain/errors.js';
import type { StoreTest } from '../harness.js';
import { audit, createConversation, createUser, newMessage, text } from '../fixtures.js';

export function concurrencySpec(test: StoreTest): void {
  test('concurrency: 50 concurrent posts to one conversation leave exactly 50 messages', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.messages.post(newMessage(c.id, owner.id, { content: text(`m${i}`) }))),
    );
    expect(results.every((r) => r.created)).toBe(true);
    const conversation = await store.conversations.get(c.id);
    expect(conversation.messageCount).toBe(50);
    const page = await store.messages.list({ conversationId: c.id, limit: 200, direction: 'newer' });
    expect(new Set(page.items.map((m) => m.id)).size).toBe(50);
    expect(page.items.map((m) => (m.content[0] as { text: string }).text).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `m${i}`).sort(),
    );
    const latest = Math.max(...results.map((r) => r.message.createdAt.getTime()));
    expect(conversation.lastMessageAt!.getTime()).toBe(latest);
  });

  test('concurrency: 8 parallel clients × 50 posts leave exactly 400 messages', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const client = async (n: number) => {
      for (let i = 0; i < 50; i++)
        await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: `c${n}-${i}` }));
    };
    await Promise.all(Array.from({ length: 8 }, (_, n) => client(n)));
    expect((await store.conversations.get(c.id)).messageCount).toBe(400);
    let total = 0;
    let after;
    for (let guard = 0; guard < 10; guard++) {
      const page = await store.messages.list({ conversationId: c.id, limit: 200, direction: 'newer', after });
      total += page.items.length;
      if (!page.hasMore) break;
      const last = page.items.at(-1)!;
      after = { at: last.createdAt, id: last.id };
    }
    expect(total).toBe(400);
  }, 120_000);

  test('concurrency: racing posts with one clientMessageId create exactly one message', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'retry-storm', content: text(`try ${i}`) })),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const winner = results.find((r) => r.created)!.message;
    for (const r of results) expect(r.message).toEqual(winner);
    expect((await store.conversations.get(c.id)).messageCount).toBe(1);
  });

  test('concurrency: two updates racing on one version — exactly one wins', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const outcomes = await Promise.allSettled([
      store.conversations.update({
        id: c.id,
        expectedVersion: 1,
        patch: { title: 'left' },
        updatedAt: new Date(),
        audit: audit(owner.id, 'conversation', c.id, 'update'),
      }),
      store.conversations.update({
        id: c.id,
        expectedVersion: 1,
        patch: { title: 'right' },
        updatedAt: new Date(),
        audit: audit(owner.id, 'conversation', c.id, 'update'),
      }),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
    const stored = await store.conversations.get(c.id);
    expect(stored.version).toBe(2);
    expect(stored.title).toBe((won[0] as PromiseFulfilledResult<{ title: string }>).value.title);
    expect(await store.audit.listForEntity('conversation', c.id)).toHaveLength(2);

    const { message } = await store.messages.post(newMessage(c.id, owner.id));
    const edits = await Promise.allSettled(
      [1, 2].map((n) =>
        store.messages.update({
          conversationId: c.id,
          messageId: message.id,
          expectedVersion: 1,
          patch: { content: text(`edit ${n}`) },
          editedAt: new Date(),
          audit: audit(owner.id, 'message', message.id, 'update'),
        }),
      ),
    );
    expect(edits.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((await store.messages.get(c.id, message.id)).version).toBe(2);
  });
}

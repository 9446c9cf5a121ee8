import { expect } from 'vitest';
import type { Store } from '../../src/repositories/ports.js';
import { describeBackend, type StoreTest } from '../contract/harness.js';
import { audit, createConversation, createUser, newMessage } from '../contract/fixtures.js';
import { initializerFor } from '../support/initializer.js';

/**
 * "Returned objects are fresh copies; mutating them never changes stored state" (ports.ts), for
 * every kind of object a read returns, nested values and dates included: the memory backend keeps
 * it without structuredClone (frozen conversation records, typed copies), so it is checked here on
 * memory, and on SQLite and MongoDB for comparison.
 */

/** Changes everything reachable in `value`: strings, numbers, dates, arrays, nested objects. */
function vandalize(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) vandalize(item);
    value.push('extra');
    return;
  }
  if (value instanceof Date) {
    value.setTime(0);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v === 'string') record[key] = `${v}!`;
    else if (typeof v === 'number') record[key] = v + 1;
    else vandalize(v);
  }
  record.added = true;
}

function copiesSpec(test: StoreTest): void {
  test('mutating anything a read returned, nested values and dates included, changes nothing stored', async (store: Store) => {
    const owner = await createUser(store);
    const member = await createUser(store);
    const c = await createConversation(store, owner, [member], { metadata: { topic: 'x' } });
    const content = [
      { type: 'text' as const, text: 'hi' },
      { type: 'tool_call' as const, callId: 'c1', name: 'f', arguments: { a: [1, { b: 'c' }], d: { e: null } } },
    ];
    const input = newMessage(c.id, owner.id, {
      content: structuredClone(content),
      metadata: { k: 'v' },
      clientMessageId: 'k1',
    });
    const posted = await store.messages.post(input);
    const messageId = posted.message.id;
    // The caller's own input stays theirs too.
    vandalize(input);
    const reads = async () => ({
      user: await store.users.get(owner.id),
      conversation: await store.conversations.get(c.id),
      list: await store.conversations.listForUser({ userId: owner.id, limit: 5 }),
      participants: await store.conversations.listParticipants(c.id),
      participant: await store.conversations.findParticipant(c.id, member.id),
      message: await store.messages.get(c.id, messageId),
      messages: await store.messages.list({ conversationId: c.id, limit: 5, direction: 'older' }),
      again: (await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'k1' }))).message,
      events: await store.events.list(c.id, 0, 10),
      audit: await store.audit.listForEntity('conversation', c.id),
      inbox: await store.inbox.changes(owner.id, { at: new Date(0), id: '' }, 5),
      scan: await store.bulk.scan('messages', null, 5),
    });
    const before = await reads();
    expect(before.message.content).toEqual(content);
    const snapshot = structuredClone(before);
    vandalize(before);
    vandalize(posted);
    expect(await reads()).toEqual(snapshot);
    // Changes through the ports still work on what is stored (not on a vandalized copy).
    const edited = await store.messages.update({
      conversationId: c.id,
      messageId,
      expectedVersion: 1,
      patch: { metadata: { k: 'w' } },
      editedAt: new Date(),
      audit: audit(owner.id, 'message', messageId, 'update'),
    });
    expect(edited).toMatchObject({ content, metadata: { k: 'w' }, version: 2 });
  });
}

describeBackend('returned objects are copies', initializerFor('memory'), copiesSpec);
describeBackend('returned objects are copies', initializerFor('sqlite'), copiesSpec);
describeBackend('returned objects are copies', initializerFor('mongodb'), copiesSpec);

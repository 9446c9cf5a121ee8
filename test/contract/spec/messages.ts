import { expect } from 'vitest';
import { NotFoundError, VersionConflictError } from '../../../src/domain/errors.js';
import type { Message } from '../../../src/domain/models.js';
import type { StoreTest } from '../harness.js';
import {
  at,
  audit,
  AWKWARD_CONTENT,
  AWKWARD_METADATA,
  createConversation,
  createUser,
  newConversation,
  newMessage,
  text,
} from '../fixtures.js';

export function messagesSpec(test: StoreTest): void {
  test('messages: a post is stored exactly and updates the conversation atomically', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const m = newMessage(c.id, owner.id, {
      role: 'assistant',
      content: AWKWARD_CONTENT,
      metadata: AWKWARD_METADATA,
      clientMessageId: 'client-1',
      createdAt: at('2026-04-04T04:04:04.404Z'),
    });
    const result = await store.messages.post(m);
    expect(result).toEqual({ message: m, created: true });
    const loaded = await store.messages.get(c.id, m.id);
    expect(loaded).toEqual(m);
    expect(JSON.stringify(loaded.content)).toBe(JSON.stringify(AWKWARD_CONTENT));
    expect(JSON.stringify(loaded.metadata)).toBe(JSON.stringify(AWKWARD_METADATA));
    const after = await store.conversations.get(c.id);
    expect(after).toEqual({ ...c, messageCount: 1, lastMessageAt: at('2026-04-04T04:04:04.404Z') });
  });

  test('messages: lastMessageAt only moves forward, messageCount counts every arrival', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    await store.messages.post(newMessage(c.id, owner.id, { createdAt: at('2026-05-05T10:00:00.500Z') }));
    await store.messages.post(newMessage(c.id, owner.id, { createdAt: at('2026-05-05T09:00:00.000Z') }));
    const after = await store.conversations.get(c.id);
    expect(after.messageCount).toBe(2);
    expect(after.lastMessageAt).toEqual(at('2026-05-05T10:00:00.500Z'));
    expect(after.version).toBe(1);
  });

  test('messages: repeating a clientMessageId returns the stored message and creates nothing', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const other = await createConversation(store, owner);
    const original = newMessage(c.id, owner.id, { clientMessageId: 'same', content: text('first') });
    await store.messages.post(original);
    const repeat = await store.messages.post(
      newMessage(c.id, owner.id, { clientMessageId: 'same', content: text('second') }),
    );
    expect(repeat).toEqual({ message: original, created: false });
    expect((await store.conversations.get(c.id)).messageCount).toBe(1);
    expect((await store.messages.list({ conversationId: c.id, limit: 10, direction: 'older' })).items).toEqual([
      original,
    ]);
    // The key is unique per conversation only.
    const elsewhere = await store.messages.post(newMessage(other.id, owner.id, { clientMessageId: 'same' }));
    expect(elsewhere.created).toBe(true);
  });

  test('messages: posting to a missing conversation is NotFound and stores nothing', async (store) => {
    const owner = await createUser(store);
    const ghost = newConversation(owner.id).id;
    const m = newMessage(ghost, owner.id);
    await expect(store.messages.post(m)).rejects.toMatchObject({ constructor: NotFoundError, entity: 'conversation' });
    expect((await store.bulk.counts()).messages).toBe(0);
  });

  test('messages: get of a missing message, or through another conversation, is NotFound', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const other = await createConversation(store, owner);
    const { message } = await store.messages.post(newMessage(c.id, owner.id));
    await expect(store.messages.get(other.id, message.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.messages.get(c.id, newMessage(c.id, owner.id).id)).rejects.toMatchObject({
      constructor: NotFoundError,
      entity: 'message',
    });
  });

  test('messages: edit applies the patch, sets editedAt and bumps the version', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const { message } = await store.messages.post(newMessage(c.id, owner.id, { metadata: { a: '1' } }));
    const when = at('2026-06-06T06:06:06.606Z');
    const edited = await store.messages.update({
      conversationId: c.id,
      messageId: message.id,
      expectedVersion: 1,
      patch: { content: AWKWARD_CONTENT },
      editedAt: when,
      audit: audit(owner.id, 'message', message.id, 'update'),
    });
    expect(edited).toEqual({ ...message, content: AWKWARD_CONTENT, editedAt: when, version: 2 });
    expect(await store.messages.get(c.id, message.id)).toEqual(edited);
    const unconditional = await store.messages.update({
      conversationId: c.id,
      messageId: message.id,
      patch: { metadata: {} },
      editedAt: when,
      audit: audit(owner.id, 'message', message.id, 'update'),
    });
    expect(unconditional).toEqual({ ...edited, metadata: {}, version: 3 });
    expect(await store.audit.listForEntity('message', message.id)).toHaveLength(2);
  });

  test('messages: a stale version is a typed conflict and changes nothing', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const { message } = await store.messages.post(newMessage(c.id, owner.id));
    await store.messages.update({
      conversationId: c.id,
      messageId: message.id,
      expectedVersion: 1,
      patch: { content: text('v2') },
      editedAt: new Date(),
      audit: audit(owner.id, 'message', message.id, 'update'),
    });
    const before = await store.messages.get(c.id, message.id);
    await expect(
      store.messages.update({
        conversationId: c.id,
        messageId: message.id,
        expectedVersion: 1,
        patch: { content: text('stale') },
        editedAt: new Date(),
        audit: audit(owner.id, 'message', message.id, 'update'),
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    await expect(
      store.messages.softDelete({
        conversationId: c.id,
        messageId: message.id,
        expectedVersion: 1,
        deletedAt: new Date(),
        audit: audit(owner.id, 'message', message.id, 'delete'),
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(await store.messages.get(c.id, message.id)).toEqual(before);
    expect(await store.audit.listForEntity('message', message.id)).toHaveLength(1);
  });

  test('messages: delete leaves a tombstone that keeps id, author and timestamps', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const { message } = await store.messages.post(
      newMessage(c.id, owner.id, { content: AWKWARD_CONTENT, metadata: AWKWARD_METADATA, clientMessageId: 'tomb' }),
    );
    const when = at('2026-07-07T07:07:07.707Z');
    const tombstone = await store.messages.softDelete({
      conversationId: c.id,
      messageId: message.id,
      expectedVersion: 1,
      deletedAt: when,
      audit: audit(owner.id, 'message', message.id, 'delete'),
    });
    const expected: Message = { ...message, content: [], metadata: {}, deletedAt: when, version: 2 };
    expect(tombstone).toEqual(expected);
    expect(await store.messages.get(c.id, message.id)).toEqual(expected);
    expect((await store.messages.list({ conversationId: c.id, limit: 5, direction: 'newer' })).items).toEqual([
      expected,
    ]);
    await expect(
      store.messages.update({
        conversationId: c.id,
        messageId: message.id,
        patch: { content: text('zombie') },
        editedAt: new Date(),
        audit: audit(owner.id, 'message', message.id, 'update'),
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      store.messages.softDelete({
        conversationId: c.id,
        messageId: message.id,
        deletedAt: new Date(),
        audit: audit(owner.id, 'message', message.id, 'delete'),
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect((await store.conversations.get(c.id)).messageCount).toBe(1);
    // The idempotency key still points at the tombstone, so a retried post does not resurrect it.
    expect(await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'tomb' }))).toEqual({
      message: expected,
      created: false,
    });
  });
}

import { expect } from 'vitest';
import { NotFoundError, StreamError, VersionConflictError } from '../../../src/domain/errors.js';
import type { Message } from '../../../src/domain/models.js';
import type { Store, StreamFinish } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import { at, audit, AWKWARD_CONTENT, createConversation, createUser, newMessage, text } from '../fixtures.js';

/** StreamRepository (src/repositories/ports.ts): conditional writes, finish with its event, the sweep's query. */
export function streamingSpec(test: StoreTest): void {
  async function streaming(store: Store, overrides: Partial<Message> = {}) {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const m = newMessage(c.id, owner.id, {
      role: 'assistant',
      status: 'in_progress',
      content: text(''),
      ...overrides,
    });
    await store.messages.post(m);
    return { owner, c, m };
  }

  const finishOf = (m: Message, change: Partial<StreamFinish> = {}): StreamFinish => ({
    conversationId: m.conversationId,
    messageId: m.id,
    expectedVersion: m.version,
    status: 'completed',
    statusReason: null,
    content: m.content,
    audit: audit(m.authorId, 'message', m.id, 'update', { status: change.status ?? 'completed' }),
    ...change,
  });

  test('streaming: status and statusReason round-trip on post, get, list and bulk scan', async (store) => {
    const { c, m, owner } = await streaming(store, { content: AWKWARD_CONTENT });
    const done = newMessage(c.id, owner.id, { status: 'incomplete', statusReason: 'max_tokens' });
    await store.messages.post(done);
    expect(await store.messages.get(c.id, m.id)).toEqual(m);
    expect(await store.messages.get(c.id, done.id)).toEqual(done);
    const listed = await store.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' });
    expect(listed.items.map((x) => [x.status, x.statusReason])).toEqual([
      ['in_progress', null],
      ['incomplete', 'max_tokens'],
    ]);
    const scanned = await store.bulk.scan('messages', null, 10);
    expect(scanned.find((x) => x.id === m.id)).toEqual(m);
    expect(scanned.find((x) => x.id === done.id)).toEqual(done);
  });

  test('streaming: flush writes content at the expected version only, without an event or audit', async (store) => {
    const { c, m } = await streaming(store);
    const seq = await store.events.latestSeq(c.id);
    const flushed = await store.streams.flush({
      conversationId: c.id,
      messageId: m.id,
      expectedVersion: 1,
      content: text('Hello, wörld 🌍'),
      touchedAt: new Date(),
    });
    expect(flushed).toEqual({ ...m, content: text('Hello, wörld 🌍'), version: 2 });
    expect(await store.messages.get(c.id, m.id)).toEqual(flushed);
    // A writer that lost its place (it knows version 1) changes nothing and learns it by the null.
    const stale = await store.streams.flush({
      conversationId: c.id,
      messageId: m.id,
      expectedVersion: 1,
      content: text('overwritten'),
      touchedAt: new Date(),
    });
    expect(stale).toBeNull();
    expect(await store.messages.get(c.id, m.id)).toEqual(flushed);
    expect(await store.events.latestSeq(c.id)).toBe(seq);
    expect(await store.audit.listForEntity('message', m.id)).toEqual([]);
  });

  test('streaming: flush refuses completed, missing and deleted messages (null, nothing changes)', async (store) => {
    const { c, m, owner } = await streaming(store);
    const done = newMessage(c.id, owner.id, { content: text('whole') });
    await store.messages.post(done);
    const flush = (messageId: string, expectedVersion = 1) =>
      store.streams.flush({
        conversationId: c.id,
        messageId,
        expectedVersion,
        content: text('x'),
        touchedAt: new Date(),
      });
    expect(await flush(done.id)).toBeNull();
    expect(await store.messages.get(c.id, done.id)).toEqual(done);
    expect(await flush(newMessage(c.id, owner.id).id)).toBeNull();
    await store.messages.softDelete({
      conversationId: c.id,
      messageId: m.id,
      deletedAt: new Date(),
      audit: audit(owner.id, 'message', m.id, 'delete'),
    });
    expect(await flush(m.id, 2)).toBeNull();
    expect((await store.messages.get(c.id, m.id)).content).toEqual([]);
  });

  test('streaming: finish sets content and status, bumps the version, writes its audit and message.updated event', async (store) => {
    const { c, m } = await streaming(store, { content: text('partial') });
    const seq = await store.events.latestSeq(c.id);
    const change = finishOf(m, { content: text('the whole answer') });
    const finished = await store.streams.finish(change);
    const expected = { ...m, content: text('the whole answer'), status: 'completed', statusReason: null, version: 2 };
    expect(finished).toEqual(expected);
    expect(await store.messages.get(c.id, m.id)).toEqual(expected);
    expect(finished.editedAt).toBeNull();
    const events = await store.events.list(c.id, seq, 10);
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      seq: seq + 1,
      type: 'message.updated',
      subject: m.id,
      actorId: m.authorId,
    });
    expect((events.items[0]!.data.message as { status: string; version: number }).status).toBe('completed');
    expect((events.items[0]!.data.message as { status: string; version: number }).version).toBe(2);
    expect(await store.audit.listForEntity('message', m.id)).toEqual([change.audit]);
  });

  test('streaming: finish as incomplete keeps the reason; a second finish is message_not_in_progress', async (store) => {
    const { c, m } = await streaming(store, { content: text('cut') });
    const ended = await store.streams.finish(finishOf(m, { status: 'incomplete', statusReason: 'interrupted' }));
    expect(ended).toMatchObject({
      status: 'incomplete',
      statusReason: 'interrupted',
      version: 2,
      content: text('cut'),
    });
    const seq = await store.events.latestSeq(c.id);
    const again = store.streams.finish(finishOf(ended, { content: text('changed') }));
    await expect(again).rejects.toBeInstanceOf(StreamError);
    await expect(again).rejects.toMatchObject({ code: 'message_not_in_progress' });
    expect(await store.messages.get(c.id, m.id)).toEqual(ended);
    expect(await store.events.latestSeq(c.id)).toBe(seq);
  });

  test('streaming: finish with a stale version or on a missing or deleted message changes nothing', async (store) => {
    const { c, m, owner } = await streaming(store);
    const seq = await store.events.latestSeq(c.id);
    const stale = store.streams.finish(finishOf({ ...m, version: 7 }));
    await expect(stale).rejects.toBeInstanceOf(VersionConflictError);
    await expect(stale).rejects.toMatchObject({ expectedVersion: 7, actualVersion: 1 });
    await expect(store.streams.finish(finishOf(newMessage(c.id, owner.id)))).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.messages.get(c.id, m.id)).toEqual(m);
    expect(await store.events.latestSeq(c.id)).toBe(seq);
    await store.messages.softDelete({
      conversationId: c.id,
      messageId: m.id,
      deletedAt: new Date(),
      audit: audit(owner.id, 'message', m.id, 'delete'),
    });
    await expect(store.streams.finish(finishOf(m, { expectedVersion: undefined }))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await store.audit.listForEntity('message', m.id)).toHaveLength(1);
  });

  test('streaming: stale finds live in_progress messages touched before a time, oldest first, at most limit', async (store) => {
    const { c, owner } = await streaming(store, { createdAt: at('2001-01-01T00:00:03.000Z') });
    const post = async (createdAt: string, overrides: Partial<Message> = {}) => {
      const m = newMessage(c.id, owner.id, { status: 'in_progress', createdAt: at(createdAt), ...overrides });
      await store.messages.post(m);
      return m;
    };
    const oldest = await post('2001-01-01T00:00:01.000Z', { content: text('first words') });
    const second = await post('2001-01-01T00:00:02.000Z');
    const kept = await post('2001-01-01T00:00:04.000Z');
    await post('2001-01-01T00:00:00.500Z', { status: 'completed' });
    await post('2001-01-01T00:00:00.600Z', { status: 'incomplete', statusReason: 'error' });
    const gone = await post('2001-01-01T00:00:00.700Z');
    await store.messages.softDelete({
      conversationId: c.id,
      messageId: gone.id,
      deletedAt: new Date(),
      audit: audit(owner.id, 'message', gone.id, 'delete'),
    });
    // A flush moves the touch: `kept` is no longer stale, whatever its creation time.
    await store.streams.flush({
      conversationId: c.id,
      messageId: kept.id,
      expectedVersion: 1,
      content: text('alive'),
      touchedAt: at('2030-01-01T00:00:00.000Z'),
    });
    const before = at('2001-01-01T00:00:05.000Z');
    const found = await store.streams.stale(before, 10);
    expect(found.map((s) => s.messageId)).toEqual([oldest.id, second.id, found[2]!.messageId]);
    expect(found[0]).toEqual({
      conversationId: c.id,
      messageId: oldest.id,
      authorId: owner.id,
      version: 1,
      content: text('first words'),
      touchedAt: at('2001-01-01T00:00:01.000Z'),
    });
    expect(found[2]!.touchedAt).toEqual(at('2001-01-01T00:00:03.000Z'));
    expect((await store.streams.stale(before, 2)).map((s) => s.messageId)).toEqual([oldest.id, second.id]);
    expect(await store.streams.stale(at('2001-01-01T00:00:01.000Z'), 10)).toEqual([]);
    // Finished messages leave the sweep's range.
    await store.streams.finish(finishOf(oldest, { status: 'incomplete', statusReason: 'interrupted' }));
    expect((await store.streams.stale(before, 10)).map((s) => s.messageId)).toEqual([second.id, found[2]!.messageId]);
  });

  test('streaming: an in_progress message that arrives by bulk import is found by the sweep at editedAt ?? createdAt', async (store) => {
    const { c, owner } = await streaming(store, { status: 'completed', createdAt: at('2030-01-01T00:00:00.000Z') });
    const imported = newMessage(c.id, owner.id, {
      status: 'in_progress',
      createdAt: at('2001-02-02T00:00:00.000Z'),
      editedAt: at('2001-02-03T00:00:00.000Z'),
    });
    await store.bulk.insertBatch('messages', [imported], 'fail');
    expect(await store.messages.get(c.id, imported.id)).toEqual(imported);
    const found = await store.streams.stale(at('2001-03-01T00:00:00.000Z'), 10);
    expect(found.map((s) => [s.messageId, s.touchedAt])).toEqual([[imported.id, at('2001-02-03T00:00:00.000Z')]]);
  });
}

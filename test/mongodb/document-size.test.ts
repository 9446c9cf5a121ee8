import { BSON, MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAuditDoc, toMessageDoc } from '../../database/mongodb/document-mapper.js';
import { openMongoStore } from '../../database/mongodb/mongodb-store.js';
import { buildApp, type App } from '../../src/app.js';
import { TooLargeError } from '../../src/domain/errors.js';
import type { ContentPart } from '../../src/domain/models.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import type { Store } from '../../src/repositories/ports.js';
import { audit, createConversation, createUser, newMessage } from '../contract/fixtures.js';
import { testConfig } from '../http/support.js';
import { mongoTestConfig, testLogger, uniqueDatabaseName, withDatabase } from '../support/initializers/mongodb.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';

/**
 * MongoDB stores at most 16 MiB per document, and the emulator refuses more as MongoDB does.
 * MESSAGE_MAX_BYTES (at most 1 MiB of JSON) keeps every message far below that, even in the worst
 * case: JSON that grows most in BSON (a long array of small numbers, about 6×), stored twice by an
 * edit (the content, and the audit diff waiting in the outbox). What the domain does not bound — a
 * conversation with very many participants — is refused with 413 naming the field.
 */

const MiB = 1024 * 1024;
let emulator: RunningEmulator;
let raw: MongoClient;

beforeAll(async () => {
  emulator = await startMongoEmulator();
  raw = new MongoClient(emulator.url, { serverSelectionTimeoutMS: 2000 });
  await raw.connect();
});
afterAll(async () => {
  await raw?.close();
  await emulator?.stop();
});

async function freshStore(): Promise<{ store: Store; db: Db }> {
  const name = uniqueDatabaseName();
  const store = await openMongoStore(mongoTestConfig(withDatabase(emulator.url, name)), testLogger);
  await store.migrator.up();
  return { store, db: raw.db(name) };
}

/** Tool arguments of `[0, 0, …]` making content + metadata exactly `bytes` of JSON. */
function worstCaseContent(bytes: number) {
  const part = (n: number) => [{ type: 'tool_call', callId: 'c', name: 'n', arguments: new Array(n).fill(0) }];
  const overhead = Buffer.byteLength(JSON.stringify(part(0))) + Buffer.byteLength('{}');
  // Each further element adds "0," (2 bytes); the first adds 1.
  const content = part(Math.floor((bytes - overhead + 1) / 2));
  return content;
}

describe('MongoDB documents stay within 16 MiB (emulator refusing more, as MongoDB does)', () => {
  it('a message of MESSAGE_MAX_BYTES at its maximum, in the worst case for BSON, posts and edits', async () => {
    const { store, db } = await freshStore();
    const env = { MESSAGE_MAX_BYTES: String(MiB), BODY_LIMIT_BYTES: String(2 * MiB) };
    const config = testConfig(env);
    const app: App = buildApp({ config, store, ownsStore: true });
    try {
      await app.ready();
      const auth = { authorization: `Bearer ${await mintToken(config.auth, { sub: 'ada' })}` };
      const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
        app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
      expect((await call('GET', '/v1/users/me')).statusCode).toBe(200);
      const conversation = (await call('POST', '/v1/conversations', {})).json() as { id: string };
      const content = worstCaseContent(MiB);
      expect(Buffer.byteLength(JSON.stringify(content)) + 2).toBeLessThanOrEqual(MiB);
      expect(BSON.calculateObjectSize({ content })).toBeGreaterThan(5.5 * MiB);
      const posted = await call('POST', `/v1/conversations/${conversation.id}/messages`, { role: 'tool', content });
      expect(posted.statusCode).toBe(201);
      const id = (posted.json() as { id: string }).id;
      const edited = await call('PATCH', `/v1/conversations/${conversation.id}/messages/${id}`, { content });
      expect(edited.statusCode).toBe(200);
      expect((edited.json() as { version: number }).version).toBe(2);
      // One byte more is a 400 naming content, before any database sees it.
      const over = await call('POST', `/v1/conversations/${conversation.id}/messages`, {
        role: 'tool',
        content: worstCaseContent(MiB + 2),
      });
      expect(over.statusCode).toBe(400);
      expect(await db.collection('messages').countDocuments()).toBe(1);
    } finally {
      await app.close();
    }
  }, 120_000);

  it('a conversation too full to take another participant is a 413 naming participants', async () => {
    const { store, db } = await freshStore();
    const config = testConfig();
    const app: App = buildApp({ config, store, ownsStore: true });
    try {
      await app.ready();
      const as = async (sub: string) => ({ authorization: `Bearer ${await mintToken(config.auth, { sub })}` });
      for (const sub of ['owner', 'late'])
        await app.inject({ method: 'GET', url: '/v1/users/me', headers: await as(sub) });
      const created = await app.inject({
        method: 'POST',
        url: '/v1/conversations',
        headers: await as('owner'),
        payload: {},
      });
      const id = (created.json() as { id: string }).id;
      // Members written straight into the document (with long ids, so that few fill it), to just under 16 MiB.
      const joinedAt = new Date();
      const member = (i: number, length = 4000) => ({ userId: `m${i}`.padEnd(length, '.'), role: 'member', joinedAt });
      const conversations = db.collection('conversations');
      const sizeNow = async () => BSON.calculateObjectSize((await conversations.findOne({ _id: id as never }))!);
      const perMember = BSON.calculateObjectSize({ '1000': member(0) });
      let next = 0;
      for (let size = await sizeNow(); size + perMember < 16 * MiB; size = await sizeNow()) {
        const room = Math.min(1000, Math.floor((16 * MiB - size) / perMember));
        const batch = Array.from({ length: room }, () => member(next++));
        await conversations.updateOne({ _id: id as never }, { $push: { participants: { $each: batch } } as never });
      }
      // A last, shorter one leaves less room than a participant takes.
      const left = 16 * MiB - (await sizeNow());
      if (left > 200) {
        const last = member(next++, left - 150);
        await conversations.updateOne({ _id: id as never }, { $push: { participants: last } as never });
      }
      expect(16 * MiB - (await sizeNow())).toBeLessThan(200);
      const res = await app.inject({
        method: 'POST',
        url: `/v1/conversations/${id}/participants`,
        headers: await as('owner'),
        payload: { userId: 'late' },
      });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({
        error: { code: 'payload_too_large', details: { entity: 'participant', field: 'participants' } },
      });
    } finally {
      await app.close();
    }
  }, 120_000);

  it('a batch is held to 16 MiB per message, not as a whole; one message too large refuses all of it', async () => {
    const { store, db } = await freshStore();
    try {
      const owner = await createUser(store);
      const c = await createConversation(store, owner);
      // Three messages of MESSAGE_MAX_BYTES in the worst case for BSON: each well within, together far over.
      const content = worstCaseContent(MiB) as ContentPart[];
      const large = [1, 2, 3].map(() => newMessage(c.id, owner.id, { role: 'tool', content }));
      const total = large.reduce((sum, m) => sum + BSON.calculateObjectSize(toMessageDoc(m)), 0);
      expect(total).toBeGreaterThan(16 * MiB);
      expect(await store.messages.postMany(c.id, large)).toEqual(large);
      // One message over 17 MiB: refused before anything is written, and the batch with it.
      const huge = newMessage(c.id, owner.id, { content: [{ type: 'text', text: 'x'.repeat(17 * MiB) }] });
      await expect(store.messages.postMany(c.id, [newMessage(c.id, owner.id), huge])).rejects.toMatchObject({
        constructor: TooLargeError,
        field: 'content',
      });
      expect(await db.collection('messages').countDocuments()).toBe(3);
      expect((await store.conversations.get(c.id)).messageCount).toBe(3);
      expect((await db.collection('conversations').findOne({ _id: c.id as never }))?._pendingPosts).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('the repositories refuse what the domain does not bound, before or at the server', async () => {
    const { store, db } = await freshStore();
    try {
      const owner = await createUser(store);
      const c = await createConversation(store, owner);
      // Over 17 MiB: refused before sending (the driver could not build the command).
      const huge = newMessage(c.id, owner.id, { content: [{ type: 'text', text: 'x'.repeat(17 * MiB) }] });
      await expect(store.messages.post(huge)).rejects.toMatchObject({ constructor: TooLargeError, field: 'content' });
      // Just over 16 MiB: the server's refusal of the insert, mapped.
      const over = newMessage(c.id, owner.id, { content: [{ type: 'text', text: 'x'.repeat(16 * MiB) }] });
      expect(BSON.calculateObjectSize(toMessageDoc(over))).toBeLessThan(16 * MiB + 1024);
      await expect(store.messages.post(over)).rejects.toMatchObject({ constructor: TooLargeError, field: 'content' });
      // An edit whose result would be over 16 MiB (an earlier audit entry still waits in the
      // message's outbox): the server's refusal of the update, mapped.
      const { message } = await store.messages.post(newMessage(c.id, owner.id));
      const waiting = toAuditDoc(audit(owner.id, 'message', message.id, 'update', { content: 'w'.repeat(9 * MiB) }));
      await db.collection('messages').updateOne({ _id: message.id as never }, { $push: { _outbox: waiting } as never });
      await expect(
        store.messages.update({
          conversationId: c.id,
          messageId: message.id,
          expectedVersion: 1,
          patch: { content: [{ type: 'text', text: 'z'.repeat(4 * MiB) }] },
          editedAt: new Date(),
          audit: audit(owner.id, 'message', message.id, 'update', { content: 'z'.repeat(4 * MiB) }),
        }),
      ).rejects.toMatchObject({ constructor: TooLargeError, field: 'content' });
      expect((await store.messages.get(c.id, message.id)).version).toBe(1);
    } finally {
      await store.close();
    }
  }, 120_000);
});

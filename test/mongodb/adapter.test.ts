import { Long, MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toAuditDoc, toMessageDoc } from '../../database/mongodb/document-mapper.js';
import { openMongoStore } from '../../database/mongodb/mongodb-store.js';
import { INTERRUPTED_POST_MS } from '../../database/mongodb/recovery.js';
import { MONGODB_MIGRATIONS } from '../../migrations/mongodb/index.js';
import { DuplicateError, NotFoundError, SchemaMismatchError, UnavailableError } from '../../src/domain/errors.js';
import type { Store, StoreLogger } from '../../src/repositories/ports.js';
import { audit, createConversation, createUser, newMessage, newUser } from '../contract/fixtures.js';
import { mongoTestConfig, testLogger, uniqueDatabaseName, withDatabase } from '../support/initializers/mongodb.js';
import type { CommandEvent } from '../support/mongo-emulator/engine.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';
import { interpose } from './interpose.js';

/**
 * What the contract cannot see: the standalone path's repair after a crash between two writes,
 * transaction use on replica sets, migrations, and outage handling. Runs against private
 * emulators so interrupted states can be written directly and timing is under control.
 */

let emulator: RunningEmulator;
let raw: MongoClient;
let db: Db;
let url: string;
const open: Store[] = [];
/** Warnings the stores logged in this test (recovery announces what it repairs). */
let warnings: string[] = [];
const collectingLogger: StoreLogger = {
  info() {},
  warn: (_obj, msg) => void warnings.push(msg),
  error: (_obj, msg) => void warnings.push(msg),
};

async function openStore(): Promise<Store> {
  const store = await openMongoStore(mongoTestConfig(url), collectingLogger);
  open.push(store);
  return store;
}

beforeAll(async () => {
  emulator = await startMongoEmulator();
  raw = new MongoClient(emulator.url, { serverSelectionTimeoutMS: 2000 });
  await raw.connect();
});
afterAll(async () => {
  await raw?.close();
  await emulator?.stop();
});
beforeEach(() => {
  warnings = [];
  const name = uniqueDatabaseName();
  url = withDatabase(emulator.url, name);
  db = raw.db(name);
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await db.dropDatabase();
});

const longAgo = () => new Date(Date.now() - INTERRUPTED_POST_MS - 1000);

/** The state a standalone post leaves after its first steps: a reservation in the conversation, maybe its hidden message. */
async function interruptedPost(
  m: ReturnType<typeof newMessage>,
  { at, counted, inserted }: { at: Date; counted: boolean; inserted: boolean },
): Promise<void> {
  await db
    .collection('conversations')
    .updateOne({ _id: m.conversationId as never }, { $push: { _pendingPosts: { id: m.id, at, counted } } as never });
  if (inserted) await db.collection('messages').insertOne({ ...toMessageDoc(m), _uncountedAt: at } as never);
}

/**
 * The state a standalone postMany leaves after its first steps: one reservation (the first id, the
 * batch's size), and the first `inserted` messages, hidden, each naming the batch.
 */
async function interruptedBatch(
  batch: ReturnType<typeof newMessage>[],
  { at, counted, inserted }: { at: Date; counted: boolean; inserted: number },
): Promise<void> {
  const ids = batch.map((m) => m.id);
  const entry = { id: ids[0], size: ids.length, at, counted };
  await db
    .collection('conversations')
    .updateOne({ _id: batch[0]!.conversationId as never }, { $push: { _pendingPosts: entry } as never });
  const docs = batch.slice(0, inserted).map((m) => ({ ...toMessageDoc(m), _uncountedAt: at, _batch: ids }));
  if (docs.length > 0) await db.collection('messages').insertMany(docs as never);
}

const pendingPosts = async (conversationId: string) =>
  (await db.collection('conversations').findOne({ _id: conversationId as never }))?._pendingPosts;

describe('mongodb adapter: recovery of the standalone path', () => {
  it('hides a post interrupted before counting, then counts and shows it once recovery runs', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    const m = newMessage(c.id, owner.id, { createdAt: new Date('2030-01-01T00:00:00.000Z') });
    // This store's first read runs its recovery sweep; the next is SWEEP_INTERVAL_MS away.
    await writer.conversations.get(c.id);
    // The process died right after inserting the message.
    await interruptedPost(m, { at: longAgo(), counted: false, inserted: true });
    // Readers see a consistent store meanwhile: no message, no count.
    expect((await writer.messages.list({ conversationId: c.id, limit: 10, direction: 'older' })).items).toEqual([]);
    await expect(writer.messages.get(c.id, m.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await writer.conversations.get(c.id)).messageCount).toBe(0);
    // The next access of a store due for a sweep repairs it.
    const reader = await openStore();
    const conversation = await reader.conversations.get(c.id);
    expect(conversation).toMatchObject({ messageCount: 1, lastMessageAt: m.createdAt });
    expect(await reader.messages.get(c.id, m.id)).toEqual(m);
    expect(await db.collection('messages').countDocuments({ _uncountedAt: { $exists: true } })).toBe(0);
    expect((await db.collection('conversations').findOne({ _id: c.id as never }))?._pendingPosts).toEqual([]);
    expect(warnings).toEqual(['finishing an interrupted message post']);
  });

  it('gives up a reservation whose message never arrived, and a hidden message without one', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    const lost = newMessage(c.id, owner.id);
    const legacy = newMessage(c.id, owner.id);
    // One post died after reserving; a post of an older build (no reservations) died before counting.
    await interruptedPost(lost, { at: longAgo(), counted: false, inserted: false });
    await db.collection('messages').insertOne({ ...toMessageDoc(legacy), _uncountedAt: longAgo() } as never);
    const reader = await openStore();
    expect(await reader.bulk.counts()).toMatchObject({ messages: 0 });
    expect((await reader.conversations.get(c.id)).messageCount).toBe(0);
    expect(await db.collection('messages').countDocuments()).toBe(0);
    expect((await db.collection('conversations').findOne({ _id: c.id as never }))?._pendingPosts).toEqual([]);
  });

  it('never counts a message twice when the crash came after counting, however many posts follow', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    const { message } = await writer.messages.post(newMessage(c.id, owner.id));
    // As if the last two steps (reveal, release) never ran: counted, still hidden, still reserved.
    await db.collection('messages').updateOne({ _id: message.id as never }, { $set: { _uncountedAt: longAgo() } });
    await db
      .collection('conversations')
      .updateOne(
        { _id: c.id as never },
        { $push: { _pendingPosts: { id: message.id, at: longAgo(), counted: true } } as never },
      );
    // Far more posts than any window of remembered ids would hold.
    for (let i = 0; i < 100; i++) await writer.messages.post(newMessage(c.id, owner.id));
    const reader = await openStore();
    expect((await reader.conversations.get(c.id)).messageCount).toBe(101);
    expect(await reader.messages.get(c.id, message.id)).toEqual(message);
    expect((await reader.bulk.counts()).messages).toBe(101);
    // A retry of the recovery (another process, later) changes nothing.
    const again = await openStore();
    expect((await again.conversations.get(c.id)).messageCount).toBe(101);
  }, 60_000);

  it('keeps the count of a message an older build counted (its _recentPosts)', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    const { message } = await writer.messages.post(newMessage(c.id, owner.id));
    await db.collection('messages').updateOne({ _id: message.id as never }, { $set: { _uncountedAt: longAgo() } });
    await db.collection('conversations').updateOne({ _id: c.id as never }, { $set: { _recentPosts: [message.id] } });
    const reader = await openStore();
    expect((await reader.conversations.get(c.id)).messageCount).toBe(1);
    expect(await reader.messages.get(c.id, message.id)).toEqual(message);
  });

  it('removes an interrupted post whose conversation was deleted meanwhile', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    await writer.conversations.delete(c.id, audit(owner.id, 'conversation', c.id, 'delete'));
    const orphan = newMessage(c.id, owner.id);
    await db.collection('messages').insertOne({ ...toMessageDoc(orphan), _uncountedAt: longAgo() } as never);
    const reader = await openStore();
    expect((await reader.bulk.counts()).messages).toBe(0);
    expect(await db.collection('messages').countDocuments()).toBe(0);
  });

  it('lets a retried post finish an earlier attempt with the same clientMessageId, counting it once', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const first = newMessage(c.id, owner.id, { clientMessageId: 'retry-me' });
    // The first attempt stopped after its insert (a moment ago: recovery would not touch it yet).
    await interruptedPost(first, { at: new Date(), counted: false, inserted: true });
    const retry = await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'retry-me' }));
    expect(retry).toEqual({ message: first, created: false });
    expect((await store.conversations.get(c.id)).messageCount).toBe(1);
    expect((await store.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' })).items).toEqual([first]);
    expect((await db.collection('conversations').findOne({ _id: c.id as never }))?._pendingPosts).toEqual([]);
  });

  it('a post whose reservation recovery gave up while it ran removes its message and answers unavailable', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const m = newMessage(c.id, owner.id, { clientMessageId: 'stalled' });
    // Between the reservation and the insert, another process's recovery drops the reservation.
    const dropped = interpose(
      emulator,
      (e) => e.name === 'insert' && e.command.insert === 'messages',
      db.databaseName,
      {
        update: 'conversations',
        updates: [{ q: { _id: c.id }, u: { $pull: { _pendingPosts: { id: m.id } } } }],
      },
    );
    await expect(store.messages.post(m)).rejects.toBeInstanceOf(UnavailableError);
    expect(await dropped).toMatchObject({ n: 1, nModified: 1 });
    expect(await db.collection('messages').countDocuments()).toBe(0);
    expect((await store.conversations.get(c.id)).messageCount).toBe(0);
    expect(await store.messages.post(m)).toEqual({ message: m, created: true });
  });

  it('a retry that finds the earlier attempt hidden and unreserved removes it and posts anew', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const slow = newMessage(c.id, owner.id, { clientMessageId: 'slow' });
    // Recovery gave up the reservation of this post while its message was on its way: hidden, unreserved.
    await db.collection('messages').insertOne({ ...toMessageDoc(slow), _uncountedAt: new Date() } as never);
    const retry = await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'slow' }));
    expect(retry.created).toBe(true);
    expect(retry.message.id).not.toBe(slow.id);
    expect((await store.conversations.get(c.id)).messageCount).toBe(1);
    expect(await db.collection('messages').countDocuments({ _id: slow.id as never })).toBe(0);
  });

  it('finishes a batch (postMany) interrupted after its insert: counted once, all shown, events in order', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    await writer.conversations.get(c.id); // its sweep ran; the next is SWEEP_INTERVAL_MS away
    const batch = [1, 2, 3].map((i) => newMessage(c.id, owner.id, { content: [{ type: 'text', text: `b${i}` }] }));
    const ids = batch.map((m) => m.id);
    // The process died after reserving and inserting the whole batch, hidden.
    await interruptedBatch(batch, { at: longAgo(), counted: false, inserted: 3 });
    expect((await writer.messages.list({ conversationId: c.id, limit: 10, direction: 'older' })).items).toEqual([]);
    expect((await writer.conversations.get(c.id)).messageCount).toBe(0);
    // Two processes recover at once: the batch is counted once.
    const [a, b] = [await openStore(), await openStore()];
    await Promise.all([a.conversations.get(c.id), b.conversations.get(c.id)]);
    expect((await a.conversations.get(c.id)).messageCount).toBe(3);
    expect((await b.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' })).items).toEqual(batch);
    const events = (await a.events.list(c.id, 0, 10)).items;
    expect(events.map((e) => [e.seq, e.subject])).toEqual([[1, c.id], ...ids.map((id, i) => [2 + i, id])]);
    expect(await db.collection('messages').countDocuments({ _batch: { $exists: true } })).toBe(0);
    expect(await pendingPosts(c.id)).toEqual([]);
    expect(warnings).toContain('finishing an interrupted message post');
  });

  it('never counts a batch twice: counted before the crash, its reveal cut short, the rest is shown', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    const done = await writer.messages.postMany(
      c.id,
      [1, 2, 3].map(() => newMessage(c.id, owner.id)),
    );
    const ids = done.map((m) => m.id);
    await writer.conversations.get(c.id); // its sweep ran; the next is SWEEP_INTERVAL_MS away
    // As if the reveal stopped part-way (it reaches the first message last) and the release never ran.
    await db
      .collection('messages')
      .updateMany({ _id: { $in: [ids[0], ids[2]] } as never }, { $set: { _uncountedAt: longAgo(), _batch: ids } });
    await db
      .collection('conversations')
      .updateOne(
        { _id: c.id as never },
        { $push: { _pendingPosts: { id: ids[0], size: 3, at: longAgo(), counted: true } } as never },
      );
    expect((await writer.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' })).items).toEqual([
      done[1],
    ]);
    const reader = await openStore();
    expect((await reader.conversations.get(c.id)).messageCount).toBe(3);
    expect((await reader.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' })).items).toEqual(done);
    expect((await reader.events.list(c.id, 0, 10)).items.map((e) => e.subject)).toEqual([c.id, ...ids]);
    expect(await pendingPosts(c.id)).toEqual([]);
    expect(await db.collection('messages').countDocuments({ _batch: { $exists: true } })).toBe(0);
  });

  it('removes a reserved batch whose insert never finished, and gives up one that inserted nothing', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    await writer.conversations.get(c.id);
    // Two of three messages inserted when the process died; another batch died right after reserving.
    const partial = [1, 2, 3].map(() => newMessage(c.id, owner.id));
    await interruptedBatch(partial, { at: longAgo(), counted: false, inserted: 2 });
    await interruptedBatch(
      [1, 2].map(() => newMessage(c.id, owner.id)),
      { at: longAgo(), counted: false, inserted: 0 },
    );
    const reader = await openStore();
    expect((await reader.conversations.get(c.id)).messageCount).toBe(0);
    expect(await db.collection('messages').countDocuments()).toBe(0);
    expect(await pendingPosts(c.id)).toEqual([]);
    expect(await reader.events.latestSeq(c.id)).toBe(1);
    expect(warnings.filter((w) => w === 'giving up the reservation of an interrupted post')).toHaveLength(1);
  });

  it('a batch whose reservation recovery gave up while it ran removes its messages and answers unavailable', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const batch = [1, 2, 3].map(() => newMessage(c.id, owner.id));
    const dropped = interpose(
      emulator,
      (e) => e.name === 'insert' && e.command.insert === 'messages',
      db.databaseName,
      {
        update: 'conversations',
        updates: [{ q: { _id: c.id }, u: { $pull: { _pendingPosts: { id: batch[0]!.id } } } }],
      },
    );
    await expect(store.messages.postMany(c.id, batch)).rejects.toBeInstanceOf(UnavailableError);
    expect(await dropped).toMatchObject({ n: 1, nModified: 1 });
    expect(await db.collection('messages').countDocuments()).toBe(0);
    expect((await store.conversations.get(c.id)).messageCount).toBe(0);
    expect(await store.messages.postMany(c.id, batch)).toEqual(batch);
    expect(await pendingPosts(c.id)).toEqual([]);
  });

  it('a batch with a taken id leaves nothing behind: no message, no reservation', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const { message: taken } = await store.messages.post(newMessage(c.id, owner.id));
    const clashing = [
      newMessage(c.id, owner.id),
      newMessage(c.id, owner.id),
      newMessage(c.id, owner.id, { id: taken.id }),
    ];
    await expect(store.messages.postMany(c.id, clashing)).rejects.toBeInstanceOf(DuplicateError);
    expect(await db.collection('messages').countDocuments()).toBe(1);
    expect(await pendingPosts(c.id)).toEqual([]);
    expect((await store.messages.get(c.id, taken.id)).id).toBe(taken.id);
  });

  it('settles the batches an older build left (hidden, no reservation): counted ones shown, the rest removed', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    // One it counted (remembered in _recentPosts under the batch's first id) but did not reveal...
    const counted = await writer.messages.postMany(
      c.id,
      [1, 2].map(() => newMessage(c.id, owner.id)),
    );
    const countedIds = counted.map((m) => m.id);
    await db
      .collection('messages')
      .updateMany({ _id: { $in: countedIds } as never }, { $set: { _uncountedAt: longAgo(), _batch: countedIds } });
    await db.collection('conversations').updateOne({ _id: c.id as never }, { $set: { _recentPosts: [countedIds[0]] } });
    // ...and one it inserted whole and never counted: its post never answered.
    const uncounted = [1, 2].map(() => newMessage(c.id, owner.id));
    const uncountedIds = uncounted.map((m) => m.id);
    await db
      .collection('messages')
      .insertMany(
        uncounted.map((m) => ({ ...toMessageDoc(m), _uncountedAt: longAgo(), _batch: uncountedIds })) as never,
      );
    const reader = await openStore();
    expect((await reader.conversations.get(c.id)).messageCount).toBe(2);
    expect((await reader.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' })).items).toEqual(
      counted,
    );
    expect(await db.collection('messages').countDocuments()).toBe(2);
    expect((await reader.events.list(c.id, 0, 10)).items.map((e) => e.subject)).toEqual([c.id, ...countedIds]);
  });

  it('removes a batch whose insert never finished, and shows the rest of one whose reveal was cut short', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    await writer.conversations.get(c.id);
    // The states a build before reservations left. Two of three messages inserted when the
    // process died: the post never happened.
    const partial = [1, 2, 3].map(() => newMessage(c.id, owner.id));
    const partialIds = partial.map((m) => m.id);
    await db
      .collection('messages')
      .insertMany(
        partial.slice(0, 2).map((m) => ({ ...toMessageDoc(m), _uncountedAt: longAgo(), _batch: partialIds })) as never,
      );
    // A batch that was counted and logged, but whose last message was not unhidden yet.
    const done = await writer.messages.postMany(c.id, [newMessage(c.id, owner.id), newMessage(c.id, owner.id)]);
    const doneIds = done.map((m) => m.id);
    await db
      .collection('messages')
      .updateOne({ _id: doneIds[1] as never }, { $set: { _uncountedAt: longAgo(), _batch: doneIds } });
    const reader = await openStore();
    expect((await reader.conversations.get(c.id)).messageCount).toBe(2);
    expect((await reader.messages.list({ conversationId: c.id, limit: 10, direction: 'newer' })).items).toEqual(done);
    expect(await db.collection('messages').countDocuments()).toBe(2);
    expect((await reader.events.list(c.id, 0, 10)).items.map((e) => e.subject)).toEqual([c.id, ...doneIds]);
  });

  it('finishes a conversation delete that stopped after its mark; the conversation is gone at once', async () => {
    const writer = await openStore();
    await writer.migrator.up();
    const owner = await createUser(writer);
    const c = await createConversation(writer, owner);
    const { message } = await writer.messages.post(newMessage(c.id, owner.id));
    const entry = audit(owner.id, 'conversation', c.id, 'delete');
    await writer.conversations.get(c.id); // its sweep ran; the next is SWEEP_INTERVAL_MS away
    // The process died right after the marking update (which carries the audit entry).
    await db
      .collection('conversations')
      .updateOne(
        { _id: c.id as never },
        { $set: { _deletingAt: new Date() }, $push: { _outbox: toAuditDoc(entry) } as never },
      );
    await expect(writer.conversations.get(c.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await writer.conversations.listForUser({ userId: owner.id, limit: 10 })).items).toEqual([]);
    expect(await writer.conversations.findParticipant(c.id, owner.id)).toBeNull();
    await expect(writer.messages.post(newMessage(c.id, owner.id))).rejects.toBeInstanceOf(NotFoundError);
    // Its audit entry is there for readers before any repair ran...
    expect((await writer.audit.listForEntity('conversation', c.id)).map((a) => a.action)).toEqual(['create', 'delete']);
    expect(await db.collection('messages').countDocuments()).toBe(1);
    // ...and the next sweep removes what is left (in the background of reads; the bulk port waits for it).
    const reader = await openStore();
    await expect(reader.messages.get(c.id, message.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await reader.bulk.counts()).toMatchObject({ conversations: 0, participants: 0, messages: 0, audit: 3 });
    expect(await db.collection('conversations').countDocuments()).toBe(0);
    expect(await db.collection('messages').countDocuments()).toBe(0);
    expect(warnings).toEqual(['finishing an interrupted conversation delete']);
  });

  it('delivers an audit entry left in its document’s outbox before anyone lists it', async () => {
    const store = await openStore();
    await store.migrator.up();
    const user = await createUser(store);
    const entry = audit(user.id, 'user', user.id, 'update', { displayName: 'Renamed' });
    // The change and its entry were written in one update; copying the entry to `audit` never happened.
    await db
      .collection('users')
      .updateOne(
        { _id: user.id as never },
        { $set: { displayName: 'Renamed' }, $inc: { version: 1 }, $push: { _outbox: toAuditDoc(entry) } as never },
      );
    expect(await db.collection('audit').countDocuments({ _id: entry.id as never })).toBe(0);
    expect((await store.audit.listForEntity('user', user.id)).map((a) => a.id).at(-1)).toBe(entry.id);
    expect((await db.collection('users').findOne({ _id: user.id as never }))?._outbox).toEqual([]);
    // Delivered once even if delivered again.
    expect(await store.audit.listForEntity('user', user.id)).toHaveLength(2);
  });
});

describe('mongodb adapter: transactions where the deployment has them', () => {
  it('uses none on a standalone server; creates and posts (each with its event, a batch too) in transactions on a replica set', async () => {
    const commands = async (target: RunningEmulator, fn: (store: Store) => Promise<void>) => {
      const events: CommandEvent[] = [];
      const stop = target.onCommand((e) => events.push(e));
      const store = await openMongoStore(mongoTestConfig(withDatabase(target.url, uniqueDatabaseName())), testLogger);
      try {
        await store.migrator.up();
        await fn(store);
      } finally {
        stop();
        await store.close();
      }
      return events;
    };
    const scenario = async (store: Store) => {
      const owner = await createUser(store);
      const c = await createConversation(store, owner);
      await store.messages.post(newMessage(c.id, owner.id));
      await store.messages.postMany(c.id, [newMessage(c.id, owner.id), newMessage(c.id, owner.id)]);
    };
    const standalone = await commands(emulator, scenario);
    expect(standalone.some((e) => e.command.autocommit === false)).toBe(false);
    // Standalone, the post and the batch each reserve once and release once.
    const reservations = (events: CommandEvent[]) =>
      events.filter((e) => e.name === 'update' && JSON.stringify(e.command).includes('_pendingPosts'));
    expect(reservations(standalone).map((e) => Object.keys((e.command.updates as { u: object }[])[0]!.u))).toEqual([
      ['$push'],
      ['$pull'],
      ['$push'],
      ['$pull'],
    ]);
    const rs = await startMongoEmulator({ replicaSet: 'rs0' });
    try {
      const replicated = await commands(rs, scenario);
      const inTransaction = replicated.filter((e) => e.command.autocommit === false).map((e) => e.name);
      expect(inTransaction).toEqual([
        // create: the conversation (its seq claimed), its event
        'insert',
        'insert',
        'commitTransaction',
        // post: the message, the count claiming the seq, the event
        'insert',
        'findAndModify',
        'insert',
        'commitTransaction',
        // postMany: the messages, one count claiming both seqs, the events
        'insert',
        'findAndModify',
        'insert',
        'commitTransaction',
      ]);
      // Reservations are the standalone path's: a transaction needs none.
      const reserving = replicated.filter(
        (e) => e.name === 'update' && JSON.stringify(e.command).includes('_pendingPosts'),
      );
      expect(reserving).toEqual([]);
    } finally {
      await rs.stop();
    }
  });
});

describe('mongodb adapter: migrations', () => {
  it('does not migrate on open; status, up and its idempotence; refuses a newer schema', async () => {
    const store = await openStore();
    expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual([]);
    const names = MONGODB_MIGRATIONS.map((m) => m.name);
    expect(await store.migrator.status()).toEqual({ known: names, applied: [], pending: names, unknown: [] });
    expect(await store.migrator.up()).toEqual(names);
    expect(await store.migrator.up()).toEqual([]);
    expect(await store.migrator.status()).toEqual({ known: names, applied: names, pending: [], unknown: [] });
    expect((await db.collection('messages').listIndexes().toArray()).map((i) => i.name).sort()).toEqual(
      [
        '_id_',
        'messages_client_message_unique',
        'messages_conversation_created',
        'messages_outbox',
        'messages_stream_touched',
        'messages_uncounted',
      ].sort(),
    );
    // Every migration is safe to run again (MongoDB has no transactional DDL).
    for (const m of MONGODB_MIGRATIONS) await m.up(db);
    await db
      .collection('polystore_migrations')
      .insertOne({ _id: '9999-from-the-future' as never, appliedAt: new Date() });
    expect((await store.migrator.status()).unknown).toEqual(['9999-from-the-future']);
    await expect(store.migrator.up()).rejects.toBeInstanceOf(SchemaMismatchError);
  });

  it('validates documents with the $jsonSchema validators it created', async () => {
    const store = await openStore();
    await store.migrator.up();
    await expect(
      db.collection('users').insertOne({
        _id: 'x' as never,
        handle: 'h',
        displayName: 'd',
        createdAt: 'yesterday',
        updatedAt: new Date(),
        version: 1,
      }),
    ).rejects.toMatchObject({ code: 121 });
  });
});

describe('mongodb adapter: the validators the migrations leave', () => {
  it('0005 and 0007 each add theirs: reservations on conversations, opaque parts and _batch on messages', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const conversations = db.collection('conversations');
    const push = (entry: object) =>
      conversations.updateOne({ _id: c.id as never }, { $push: { _pendingPosts: entry } as never });
    const at = new Date();
    await push({ id: 'a', at, counted: false });
    await push({ id: 'b', size: 3, at, counted: false });
    await expect(push({ id: 'c', size: 0, at, counted: false })).rejects.toMatchObject({ code: 121 });
    await expect(push({ id: 'd', at, counted: 'no' })).rejects.toMatchObject({ code: 121 });
    const messages = db.collection('messages');
    const doc = (extra: object) => ({ ...toMessageDoc(newMessage(c.id, owner.id)), ...extra }) as never;
    await messages.insertOne(doc({ content: [{ type: 'opaque', openai: { item: { type: 'reasoning' } } }] }));
    await messages.insertOne(doc({ _uncountedAt: at, _batch: ['x', 'y'] }));
    await expect(messages.insertOne(doc({ _batch: [1, 2] }))).rejects.toMatchObject({ code: 121 });
    await expect(messages.insertOne(doc({ content: [{ type: 'unknown' }] }))).rejects.toMatchObject({ code: 121 });
  });

  it('0008 types the status fields; a message stored before it (no status) reads as completed', async () => {
    const store = await openStore();
    await store.migrator.up();
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const messages = db.collection('messages');
    const doc = (extra: object) => ({ ...toMessageDoc(newMessage(c.id, owner.id)), ...extra }) as never;
    await messages.insertOne(doc({ status: 'in_progress', statusReason: null, _streamTouchedAt: new Date() }));
    await expect(messages.insertOne(doc({ status: 'streaming' }))).rejects.toMatchObject({ code: 121 });
    await expect(messages.insertOne(doc({ statusReason: 7 }))).rejects.toMatchObject({ code: 121 });
    await expect(messages.insertOne(doc({ _streamTouchedAt: 'now' }))).rejects.toMatchObject({ code: 121 });
    const old = newMessage(c.id, owner.id);
    const { status: _status, statusReason: _reason, ...before } = toMessageDoc(old);
    await messages.insertOne(before as never);
    expect(await store.messages.get(c.id, old.id)).toEqual({ ...old, status: 'completed', statusReason: null });
  });
});

describe('mongodb adapter: integers from 2^31 on', () => {
  it('writes them as int64, which the validators accept (js-bson alone would write doubles)', async () => {
    const store = await openStore();
    await store.migrator.up();
    const big = newUser({ version: 2 ** 31 + 5 });
    expect(await store.bulk.insertBatch('users', [big], 'fail')).toMatchObject({ inserted: 1 });
    expect(await store.users.get(big.id)).toEqual(big);
    const raw = await db.collection('users').findOne({ _id: big.id as never }, { promoteLongs: false });
    expect(raw?.version).toEqual(Long.fromNumber(2 ** 31 + 5));
    // The server's $inc turns an int32 at its maximum into an int64 by itself.
    const edge = newUser({ version: 2 ** 31 - 1 });
    await store.bulk.insertBatch('users', [edge], 'fail');
    const updated = await store.users.update({
      id: edge.id,
      expectedVersion: 2 ** 31 - 1,
      patch: { displayName: 'Next' },
      updatedAt: new Date(),
      audit: audit(edge.id, 'user', edge.id, 'update'),
    });
    expect(updated.version).toBe(2 ** 31);
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const counted = { ...(await store.conversations.get(c.id)), messageCount: 2 ** 32, version: 2 ** 40 };
    await store.bulk.insertBatch('conversations', [counted], 'replace');
    expect(await store.conversations.get(c.id)).toEqual(counted);
    // An event log past 2^31: the $inc on eventSeq gives 2^31, and the event document's seq must
    // be an int64 for the events validator.
    await db.collection('conversations').updateOne({ _id: c.id as never }, { $set: { eventSeq: 2 ** 31 - 1 } });
    const posted = await store.messages.post(newMessage(c.id, owner.id));
    expect(posted.created).toBe(true);
    expect(await store.events.latestSeq(c.id)).toBe(2 ** 31);
    const [event] = (await store.events.list(c.id, 2 ** 31 - 1, 10)).items;
    expect(event).toMatchObject({ seq: 2 ** 31, type: 'message.created', subject: posted.message.id });
    const rawEvent = await db
      .collection('events')
      .findOne({ conversationId: c.id, seq: 2 ** 31 }, { promoteLongs: false });
    expect(rawEvent?.seq).toEqual(Long.fromNumber(2 ** 31));
  });
});

describe('mongodb adapter: errors at the edge', () => {
  it('maps duplicate keys to DuplicateError naming the field', async () => {
    const store = await openStore();
    await store.migrator.up();
    const a = await createUser(store);
    const b = await createUser(store);
    await expect(
      store.users.update({
        id: b.id,
        expectedVersion: 1,
        patch: { handle: a.handle },
        updatedAt: new Date(),
        audit: audit(b.id, 'user', b.id, 'update'),
      }),
    ).rejects.toMatchObject({ constructor: DuplicateError, entity: 'user', field: 'handle' });
    const m = newMessage((await createConversation(store, a)).id, a.id);
    await store.messages.post(m);
    await expect(store.messages.post({ ...m })).rejects.toMatchObject({
      constructor: DuplicateError,
      entity: 'message',
      field: 'id',
    });
  });

  it('fails fast with UnavailableError when the server cannot be reached', async () => {
    const gone = await startMongoEmulator();
    const goneUrl = withDatabase(gone.url, 'x');
    const store = await openMongoStore({ ...mongoTestConfig(goneUrl), connectTimeoutMs: 300 }, testLogger);
    await gone.stop();
    const started = Date.now();
    const error = await store.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    await expect(store.users.get('someone')).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
    await store.close();
    await expect(
      openMongoStore({ ...mongoTestConfig(goneUrl), connectTimeoutMs: 300 }, testLogger),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});

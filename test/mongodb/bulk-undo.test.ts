import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toParticipantDoc, toUserDoc } from '../../database/mongodb/document-mapper.js';
import { TRANSACTION_RECORDS } from '../../database/mongodb/mongodb-bulk.js';
import { openMongoStore } from '../../database/mongodb/mongodb-store.js';
import { DuplicateError } from '../../src/domain/errors.js';
import type { Participant } from '../../src/domain/models.js';
import type { Store } from '../../src/repositories/ports.js';
import { createConversation, createUser, newUser } from '../contract/fixtures.js';
import { mongoTestConfig, testLogger, uniqueDatabaseName, withDatabase } from '../support/initializers/mongodb.js';
import type { CommandEvent } from '../support/mongo-emulator/engine.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';
import { interpose } from './interpose.js';

/**
 * A bulk batch that fails because a concurrent writer took one of its keys undoes exactly what
 * the batch wrote: never the concurrent writer's record, never records it did not get to, never
 * a change someone made after the batch wrote. The concurrent writer runs inside the emulator
 * right before the batch's write it collides with (interpose).
 */

let standalone: RunningEmulator;
let raw: MongoClient;
let db: Db;
let store: Store;

beforeAll(async () => {
  standalone = await startMongoEmulator();
  raw = new MongoClient(standalone.url, { serverSelectionTimeoutMS: 2000 });
  await raw.connect();
});
afterAll(async () => {
  await raw?.close();
  await standalone?.stop();
});
beforeEach(async () => {
  const name = uniqueDatabaseName();
  db = raw.db(name);
  store = await openMongoStore(mongoTestConfig(withDatabase(standalone.url, name)), testLogger);
  await store.migrator.up();
});
afterEach(async () => {
  await store.close();
  await db.dropDatabase();
});

const on =
  (name: string, collection: string, test: (e: CommandEvent) => boolean = () => true) =>
  (e: CommandEvent) =>
    e.name === name && e.command[name] === collection && test(e);
const firstQuery = (e: CommandEvent) => (e.command.updates as { q: { _id?: unknown } }[])[0]?.q._id;

describe('mongodb bulk: the standalone undo after a concurrent writer', () => {
  it('removes the records the batch inserted, not the one the concurrent writer took, nor those it never wrote', async () => {
    const [a, b, c, d] = [newUser(), newUser(), newUser(), newUser()];
    const theirs = newUser({ id: c!.id });
    // The concurrent writer inserts its own record under c's id just before the batch's insert.
    const concurrent = interpose(standalone, on('insert', 'users'), db.databaseName, {
      insert: 'users',
      documents: [toUserDoc(theirs)],
    });
    await expect(store.bulk.insertBatch('users', [a!, b!, c!, d!], 'fail')).rejects.toBeInstanceOf(DuplicateError);
    expect(await concurrent).toMatchObject({ n: 1 });
    expect(await db.collection('users').find().toArray()).toEqual([toUserDoc(theirs)]);
  });

  it('pulls only the participants it pushed, in the conversations it reached', async () => {
    const owner = await createUser(store);
    const [c1, c2, c3] = [
      await createConversation(store, owner),
      await createConversation(store, owner),
      await createConversation(store, owner),
    ];
    const joinedAt = new Date('2030-01-01T00:00:00.000Z');
    const member = (conversationId: string): Participant => ({
      conversationId,
      userId: 'u1',
      role: 'member',
      joinedAt,
    });
    const theirs: Participant = { ...member(c2!.id), joinedAt: new Date('2031-01-01T00:00:00.000Z') };
    // Someone adds u1 to c2 right before the batch pushes it there.
    const concurrent = interpose(
      standalone,
      on('update', 'conversations', (e) => firstQuery(e) === c2!.id),
      db.databaseName,
      {
        update: 'conversations',
        updates: [{ q: { _id: c2!.id }, u: { $push: { participants: toParticipantDoc(theirs) } } }],
      },
    );
    const batch = [member(c1!.id), member(c2!.id), member(c3!.id)];
    await expect(store.bulk.insertBatch('participants', batch, 'fail')).rejects.toBeInstanceOf(DuplicateError);
    expect(await concurrent).toMatchObject({ nModified: 1 });
    const members = async (id: string) => (await store.conversations.listParticipants(id)).map((p) => p.userId);
    expect(await members(c1!.id)).toEqual([owner.id]);
    expect(await store.conversations.findParticipant(c2!.id, 'u1')).toEqual(theirs);
    expect(await members(c3!.id)).toEqual([owner.id]);
  });

  it('restores what it overwrote, unless someone changed it since', async () => {
    const x = await createUser(store);
    const y = await createUser(store);
    const w = await createUser(store);
    const taken = 'taken-meanwhile';
    const edited = { $set: { displayName: 'changed by someone else' } };
    // Right before the batch overwrites y: one writer takes y's new handle, another edits x (already overwritten).
    const before = on('update', 'users', (e) => firstQuery(e) === y.id);
    const claims = interpose(standalone, before, db.databaseName, {
      insert: 'users',
      documents: [toUserDoc(newUser({ handle: taken }))],
    });
    const edits = interpose(standalone, before, db.databaseName, {
      update: 'users',
      updates: [{ q: { _id: x.id }, u: edited }],
    });
    const batch = [
      { ...x, displayName: 'X by the batch', version: 7 },
      { ...w, displayName: 'W by the batch', version: 7 },
      { ...y, handle: taken, version: 7 },
    ];
    // w is overwritten before y fails too, and nobody touches it: it goes back to what it was.
    const order = [batch[1]!, batch[0]!, batch[2]!];
    await expect(store.bulk.insertBatch('users', order, 'replace')).rejects.toMatchObject({ field: 'handle' });
    await Promise.all([claims, edits]);
    expect(await store.users.get(w.id)).toEqual(w);
    expect(await store.users.get(y.id)).toEqual(y);
    expect(await store.users.get(x.id)).toMatchObject({ displayName: 'changed by someone else', version: 7 });
  });
});

describe('mongodb bulk: batches in transactions of bounded size (replica set)', () => {
  let rs: RunningEmulator;
  beforeAll(async () => {
    rs = await startMongoEmulator({ replicaSet: 'rs0' });
  });
  afterAll(async () => rs?.stop());

  it(`writes at most ${TRANSACTION_RECORDS} records per transaction, and undoes the committed ones when a later one fails`, async () => {
    const name = uniqueDatabaseName();
    const rsStore = await openMongoStore(mongoTestConfig(withDatabase(rs.url, name)), testLogger);
    const client = new MongoClient(rs.url, { serverSelectionTimeoutMS: 2000 });
    try {
      await rsStore.migrator.up();
      const users = Array.from({ length: 2 * TRANSACTION_RECORDS + 10 }, (_, i) =>
        newUser({ id: `bulk-${String(i).padStart(5, '0')}` }),
      );
      const inserts: number[] = [];
      const stop = rs.onCommand((e) => {
        if (e.name === 'insert' && e.command.insert === 'users' && e.command.autocommit === false)
          inserts.push((e.command.documents as unknown[]).length);
      });
      expect(await rsStore.bulk.insertBatch('users', users, 'fail')).toEqual({
        inserted: users.length,
        skipped: 0,
        replaced: 0,
      });
      stop();
      expect(inserts).toEqual([TRANSACTION_RECORDS, TRANSACTION_RECORDS, 10]);

      // A second batch: its third transaction meets a record someone stored meanwhile.
      const more = Array.from({ length: 2 * TRANSACTION_RECORDS + 10 }, (_, i) =>
        newUser({ id: `more-${String(i).padStart(5, '0')}` }),
      );
      const theirs = newUser({ id: more.at(-1)!.id });
      let commits = 0;
      const stopCommits = rs.onCommand((e) => {
        if (e.name === 'commitTransaction') commits += 1;
      });
      const second = interpose(rs, (e) => e.name === 'find' && e.command.find === 'users' && commits === 2, name, {
        insert: 'users',
        documents: [toUserDoc(theirs)],
      });
      await expect(rsStore.bulk.insertBatch('users', more, 'fail')).rejects.toBeInstanceOf(DuplicateError);
      stopCommits();
      await second;
      expect(commits).toBe(2);
      const stored = await client
        .db(name)
        .collection('users')
        .find({ _id: { $regex: '^more-' } as never })
        .toArray();
      expect(stored).toEqual([toUserDoc(theirs)]);
      expect(await client.db(name).collection('users').countDocuments()).toBe(users.length + 1);
    } finally {
      await client.close();
      await rsStore.close();
    }
  }, 60_000);
});

import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindWriters } from '../../database/mongodb/bulk-writers.js';
import { SHARED_ABOVE } from '../../database/mongodb/document-mapper.js';
import { compareCodePoints } from '../../database/mongodb/keys.js';
import { MongoContext } from '../../database/mongodb/mongodb-context.js';
import { openMongoStore } from '../../database/mongodb/mongodb-store.js';
import { MONGODB_MIGRATIONS } from '../../migrations/mongodb/index.js';
import { activityAt, type Conversation, type User } from '../../src/domain/models.js';
import type { Store } from '../../src/repositories/ports.js';
import { describeBackend, type StoreTest } from '../contract/harness.js';
import { audit, createConversation, createUser, newConversation, newMessage, newUser } from '../contract/fixtures.js';
import { initializerFor } from '../support/initializer.js';
import { mongoTestConfig, testLogger, uniqueDatabaseName, withDatabase } from '../support/initializers/mongodb.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';
import type { Doc } from '../support/mongo-emulator/values.js';

/**
 * A user's conversation list when some conversations have more than SHARED_ABOVE members (the
 * MongoDB adapter then merges "shared" conversations into the per-member index on read; DESIGN.md,
 * "The inbox"), on memory and MongoDB: exact (activity desc, id desc) order, cursors, the bound
 * crossed both ways, removals, and the inbox feed. Then, on private emulators, what a post costs in
 * index keys by conversation size, before and after migration 0006.
 */

const byActivityDesc = (a: Conversation, b: Conversation) =>
  activityAt(b).getTime() - activityAt(a).getTime() || compareCodePoints(b.id, a.id);

/** Every conversation of `userId`, through pages of `limit`, checking hasMore on each page. */
async function listAll(store: Store, userId: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: { at: Date; id: string } | undefined;
  for (let guard = 0; guard < 200; guard++) {
    const page = await store.conversations.listForUser({ userId, limit, ...(after ? { after } : {}) });
    ids.push(...page.items.map((c) => c.id));
    if (!page.hasMore) return ids;
    expect(page.items).toHaveLength(limit);
    const last = page.items.at(-1)!;
    after = { at: activityAt(last), id: last.id };
  }
  throw new Error('listForUser never ended');
}

/** What the list must be: the user's conversations as stored now, by (activity desc, id desc). */
async function expected(store: Store, ids: string[]): Promise<string[]> {
  const stored = await Promise.all(ids.map((id) => store.conversations.get(id)));
  return stored.sort(byActivityDesc).map((c) => c.id);
}

async function expectList(store: Store, userId: string, ids: string[]): Promise<void> {
  const want = await expected(store, ids);
  for (const limit of [1, 2, 3, 7, 200]) expect(await listAll(store, userId, limit)).toEqual(want);
}

async function users(store: Store, n: number): Promise<User[]> {
  const list = Array.from({ length: n }, () => newUser());
  await store.bulk.insertBatch('users', list, 'fail');
  return list;
}

const joinAudit = (actor: string, conversationId: string, userId: string) =>
  audit(actor, 'participant', `${conversationId}/${userId}`);

function listSpec(test: StoreTest): void {
  test('a list mixing conversations of 1 to 40 members is in (activity desc, id desc) order, page by page', async (store) => {
    const me = await createUser(store);
    const crowd = await users(store, 45);
    const t0 = Date.now() - 600_000;
    const sizes = [1, 2, 32, 33, 40, 2, 33];
    const made: Conversation[] = [];
    for (const [i, size] of sizes.entries()) {
      // Pairs share a creation time, so the id decides between them.
      const createdAt = new Date(t0 + Math.floor(i / 2) * 1000);
      made.push(await createConversation(store, me, crowd.slice(0, size - 1), { createdAt, updatedAt: createdAt }));
    }
    const ids = made.map((c) => c.id);
    await expectList(store, me.id, ids);
    // Posts move a shared conversation (40 members) and a small one up, out of creation order.
    await store.messages.post(newMessage(made[4]!.id, me.id, { createdAt: new Date(t0 + 50_000) }));
    await store.messages.post(newMessage(made[1]!.id, me.id, { createdAt: new Date(t0 + 40_000) }));
    // Same activity time for a small and a shared conversation: the id orders them.
    await store.messages.post(newMessage(made[2]!.id, me.id, { createdAt: new Date(t0 + 30_000) }));
    await store.messages.post(newMessage(made[6]!.id, me.id, { createdAt: new Date(t0 + 30_000) }));
    await expectList(store, me.id, ids);
    expect((await listAll(store, me.id, 200))[0]).toBe(made[4]!.id);
    // A member of the shared ones only sees those it takes part in.
    const member = crowd[35]!;
    await expectList(store, member.id, [made[4]!.id]);
    const early = crowd[0]!;
    await expectList(store, early.id, ids.slice(1));
  });

  test('crossing the bound either way keeps the list exact, for the members on both sides of it', async (store) => {
    const me = await createUser(store);
    const crowd = await users(store, SHARED_ABOVE + 1);
    const t0 = Date.now() - 600_000;
    const edge = await createConversation(store, me, crowd.slice(0, SHARED_ABOVE - 1), {
      createdAt: new Date(t0),
      updatedAt: new Date(t0),
    });
    const other = await createConversation(store, me, [], {
      createdAt: new Date(t0 + 5000),
      updatedAt: new Date(t0 + 5000),
    });
    expect((await store.conversations.listParticipants(edge.id)).length).toBe(SHARED_ABOVE);
    await expectList(store, me.id, [edge.id, other.id]);
    // The 33rd member makes it shared; it is listed for them and everyone else, and posts still move it.
    const late = crowd[SHARED_ABOVE]!;
    const joinedAt = new Date(t0 + 1000);
    await store.conversations.addParticipant(
      { conversationId: edge.id, userId: late.id, role: 'member', joinedAt },
      joinAudit(me.id, edge.id, late.id),
    );
    await expectList(store, late.id, [edge.id]);
    await expectList(store, me.id, [edge.id, other.id]);
    await store.messages.post(newMessage(edge.id, late.id, { createdAt: new Date(t0 + 9000) }));
    expect(await listAll(store, me.id, 1)).toEqual([edge.id, other.id]);
    // Back to 32: small again, still in place.
    await store.conversations.removeParticipant(edge.id, crowd[0]!.id, joinAudit(me.id, edge.id, crowd[0]!.id));
    expect(await listAll(store, crowd[0]!.id, 5)).toEqual([]);
    await expectList(store, late.id, [edge.id]);
    await store.messages.post(newMessage(other.id, me.id, { createdAt: new Date(t0 + 10_000) }));
    expect(await listAll(store, me.id, 1)).toEqual([other.id, edge.id]);
    // And past the bound again, then a removal of the user listing.
    await store.conversations.addParticipant(
      { conversationId: edge.id, userId: crowd[0]!.id, role: 'member', joinedAt },
      joinAudit(me.id, edge.id, crowd[0]!.id),
    );
    await store.conversations.removeParticipant(edge.id, late.id, joinAudit(me.id, edge.id, late.id));
    expect(await listAll(store, late.id, 5)).toEqual([]);
    await expectList(store, crowd[0]!.id, [edge.id]);
    await store.conversations.delete(edge.id, audit(me.id, 'conversation', edge.id, 'delete'));
    expect(await listAll(store, me.id, 2)).toEqual([other.id]);
  });

  test('the inbox feed reports posts and renames in shared conversations as in small ones', async (store) => {
    const me = await createUser(store);
    const crowd = await users(store, 40);
    const start = { at: new Date(Date.now() - 60_000), id: '' };
    const small = await createConversation(store, me, crowd.slice(0, 1));
    const shared = await createConversation(store, me, crowd);
    const later = new Date(Date.now() + 1000);
    await store.messages.post(newMessage(shared.id, me.id, { createdAt: later }));
    const feed = await store.inbox.changes(me.id, start, 10);
    expect(feed.items.map((x) => [x.conversation.id, x.conversation.messageCount])).toEqual([
      [small.id, 0],
      [shared.id, 1],
    ]);
    expect(feed.items[1]!.changedAt).toEqual(later);
    // After the post's position, nothing; a rename of the shared one is a change again.
    expect((await store.inbox.changes(me.id, { at: later, id: shared.id }, 10)).items).toEqual([]);
    const renamedAt = new Date(later.getTime() + 1000);
    await store.conversations.update({
      id: shared.id,
      patch: { title: 'Everyone' },
      updatedAt: renamedAt,
      audit: audit(me.id, 'conversation', shared.id, 'update'),
    });
    const next = await store.inbox.changes(me.id, { at: later, id: shared.id }, 10);
    expect(next.items.map((x) => [x.conversation.id, x.conversation.title, x.changedAt])).toEqual([
      [shared.id, 'Everyone', renamedAt],
    ]);
    // A member of the shared conversation only sees that one.
    expect((await store.inbox.changes(crowd[20]!.id, start, 10)).items.map((x) => x.conversation.id)).toEqual([
      shared.id,
    ]);
  });
}

describeBackend('inbox index', initializerFor('memory'), listSpec);
describeBackend('inbox index', initializerFor('mongodb'), listSpec);

// --- What a post costs in index keys (MongoDB adapter, on the emulator) ------------------------

/** Index keys a write changes: keys only the old document has (deleted) plus keys only the new one has (inserted). */
function keysChanged(keysOf: (doc: Doc) => string[], before: Doc | undefined, after: Doc | undefined): number {
  const old = new Set(before ? keysOf(before) : []);
  const now = new Set(after ? keysOf(after) : []);
  let n = 0;
  for (const k of old) if (!now.has(k)) n++;
  for (const k of now) if (!old.has(k)) n++;
  return n;
}

interface Measured {
  /** `collection.index` → keys deleted plus keys inserted, over one whole post. */
  byIndex: Record<string, number>;
  total: number;
}

/** A store on a fresh database of `emulator`, migrated by `migrations` (all by default). */
/** The stored document, as the emulator holds it. */
async function rawConversation(emulator: RunningEmulator, name: string, id: string): Promise<Doc> {
  const conversations = emulator.engine.catalog.get(name, 'conversations')!;
  return [...conversations.docs.values()].find((d) => d._id === id)!;
}

async function storeOn(emulator: RunningEmulator, upTo?: string) {
  const name = uniqueDatabaseName();
  const url = withDatabase(emulator.url, name);
  if (upTo === undefined) {
    const setup = await openMongoStore(mongoTestConfig(url), testLogger);
    await setup.migrator.up();
    await setup.close();
  } else {
    // The schema as it was before `upTo` (the migrations before it, straight on the database).
    const client = await MongoClient.connect(url);
    try {
      for (const m of MONGODB_MIGRATIONS) {
        if (m.name === upTo) break;
        await m.up(client.db(name));
      }
    } finally {
      await client.close();
    }
  }
  return { name, store: await openMongoStore(mongoTestConfig(url), testLogger) };
}

/** Index keys the second post to a conversation of `members` members writes. */
async function measurePost(emulator: RunningEmulator, name: string, store: Store, members: number): Promise<Measured> {
  const owner = await createUser(store);
  const others = await users(store, members - 1);
  const c = await createConversation(store, owner, others);
  const t = Date.now();
  await store.messages.post(newMessage(c.id, owner.id, { createdAt: new Date(t + 1000) }));
  const byIndex: Record<string, number> = {};
  const watched = ['conversations', 'messages'].map((n) => emulator.engine.catalog.get(name, n)!);
  for (const collection of watched) {
    collection.observe = (before, after) => {
      for (const index of collection.indexes) {
        const n = keysChanged((d) => index.keysOf(d), before, after);
        if (n > 0) byIndex[`${collection.name}.${index.name}`] = (byIndex[`${collection.name}.${index.name}`] ?? 0) + n;
      }
    };
  }
  try {
    await store.messages.post(newMessage(c.id, owner.id, { createdAt: new Date(t + 2000), clientMessageId: 'k' }));
  } finally {
    for (const collection of watched) collection.observe = undefined;
  }
  return { byIndex, total: Object.values(byIndex).reduce((a, b) => a + b, 0) };
}

const SIZES = [2, 32, 33, 1000];

describe.each([
  ['standalone server', undefined],
  ['replica set', 'rs0'],
])('MongoDB: index keys one post writes, by members (%s; emulator, not MongoDB)', (_, replicaSet) => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startMongoEmulator(replicaSet ? { replicaSet } : {});
  });
  afterAll(async () => emulator?.stop());

  // The message's own keys (_id, conversation order, clientMessageId) and, on a standalone server,
  // the hidden mark set and cleared and the reservation pushed and pulled.
  const fixed = replicaSet ? 3 : 3 + 2 + 2;

  it('since 0006: 2 × members up to 32 (one key per member moves), none beyond; the rest does not grow', async () => {
    const { name, store } = await storeOn(emulator);
    try {
      const measured: Record<number, Measured> = {};
      for (const members of SIZES) measured[members] = await measurePost(emulator, name, store, members);
      for (const members of SIZES) {
        const perMember = members <= SHARED_ABOVE ? 2 * members : 0;
        expect(measured[members]!.byIndex['conversations.conversations_inbox_small'] ?? 0).toBe(perMember);
        expect(measured[members]!.byIndex['conversations.conversations_inbox_shared']).toBeUndefined();
        expect(measured[members]!.total).toBe(fixed + perMember);
      }
    } finally {
      await store.close();
    }
  });

  it('before 0006: the multikey index moved 2 × members keys on every post, 2000 for 1000 members', async () => {
    const { name, store } = await storeOn(emulator, '0006-inbox-small-and-shared');
    try {
      const measured: Record<number, Measured> = {};
      for (const members of SIZES) measured[members] = await measurePost(emulator, name, store, members);
      for (const members of SIZES) {
        expect(measured[members]!.byIndex['conversations.conversations_participant_activity']).toBe(2 * members);
        expect(measured[members]!.total).toBe(fixed + 2 * members);
      }
    } finally {
      await store.close();
    }
  });

  it('a bulk import derives shared from the participants it writes, and its undo derives it again', async () => {
    const { name, store } = await storeOn(emulator);
    try {
      const owner = await createUser(store);
      const crowd = await users(store, SHARED_ABOVE + 5);
      const c = newConversation(owner.id);
      await store.bulk.insertBatch('conversations', [c], 'fail');
      const member = (u: User) => ({
        conversationId: c.id,
        userId: u.id,
        role: 'member' as const,
        joinedAt: c.createdAt,
      });
      const stored = async () => (await rawConversation(emulator, name, c.id)).shared;
      await store.bulk.insertBatch('participants', crowd.slice(0, SHARED_ABOVE).map(member), 'fail');
      expect(await stored()).toBe(false);
      await store.bulk.insertBatch('participants', crowd.slice(SHARED_ABOVE).map(member), 'fail');
      expect(await stored()).toBe(true);
      expect(await listAll(store, crowd[0]!.id, 5)).toEqual([c.id]);
      // Export and verify see the domain record only: `shared` is not data.
      expect(await store.bulk.scan('conversations', null, 10)).toEqual([c]);
      // The undo of a batch pulls exactly what it pushed, and the conversation is small again.
      const client = await MongoClient.connect(withDatabase(emulator.url, name));
      try {
        const ctx = new MongoContext(client, client.db(name), false, 10_000, testLogger);
        await kindWriters(ctx).participants.unInsert(crowd.slice(SHARED_ABOVE).map(member));
      } finally {
        await client.close();
      }
      expect(await stored()).toBe(false);
      expect((await store.conversations.listParticipants(c.id)).length).toBe(SHARED_ABOVE);
    } finally {
      await store.close();
    }
  });

  it('the 33rd member moves the conversation from the per-member index to the shared one, in the same write', async () => {
    const { name, store } = await storeOn(emulator);
    try {
      const owner = await createUser(store);
      const crowd = await users(store, SHARED_ABOVE);
      const c = await createConversation(store, owner, crowd.slice(0, SHARED_ABOVE - 1));
      const conversations = emulator.engine.catalog.get(name, 'conversations')!;
      const keys = (index: string) => {
        const doc = [...conversations.docs.values()].find((d) => d._id === c.id)!;
        return { shared: doc.shared, keys: conversations.index(index)!.keysOf(doc).length };
      };
      expect(keys('conversations_inbox_small')).toEqual({ shared: false, keys: SHARED_ABOVE });
      expect(keys('conversations_inbox_shared')).toEqual({ shared: false, keys: 0 });
      let writes = 0;
      conversations.observe = () => writes++;
      const late = crowd[SHARED_ABOVE - 1]!;
      await store.conversations.addParticipant(
        { conversationId: c.id, userId: late.id, role: 'member', joinedAt: new Date() },
        joinAudit(owner.id, c.id, late.id),
      );
      conversations.observe = undefined;
      expect(keys('conversations_inbox_small')).toEqual({ shared: true, keys: 0 });
      expect(keys('conversations_inbox_shared')).toEqual({ shared: true, keys: SHARED_ABOVE + 1 });
      // The join and the switch: one write (the outbox delivery after it is the second).
      expect(writes).toBe(2);
      await store.conversations.removeParticipant(c.id, late.id, joinAudit(owner.id, c.id, late.id));
      expect(keys('conversations_inbox_small')).toEqual({ shared: false, keys: SHARED_ABOVE });
    } finally {
      await store.close();
    }
  });
});

describe('MongoDB migration 0006 on existing data (emulator, not MongoDB)', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startMongoEmulator();
  });
  afterAll(async () => emulator?.stop());

  it('derives shared from the stored members, swaps the indexes, requires shared; running it again changes nothing', async () => {
    const name = uniqueDatabaseName();
    const url = withDatabase(emulator.url, name);
    const client = await MongoClient.connect(url);
    try {
      const db = client.db(name);
      const at = MONGODB_MIGRATIONS.findIndex((m) => m.name === '0006-inbox-small-and-shared');
      expect(MONGODB_MIGRATIONS.slice(at - 1, at + 2).map((m) => m.name)).toEqual([
        '0005-pending-posts-and-audit-order',
        '0006-inbox-small-and-shared',
        '0007-opaque-parts-and-batches',
      ]);
      for (const m of MONGODB_MIGRATIONS.slice(0, at)) await m.up(db);
      // Conversations as a build before 0006 stored them: no `shared`.
      const old = (members: number) => {
        const now = new Date();
        return {
          _id: `c${members}`,
          title: null,
          metadata: {},
          createdBy: 'u0',
          createdAt: now,
          updatedAt: now,
          lastMessageAt: null,
          activityAt: now,
          messageCount: 0,
          version: 1,
          participants: Array.from({ length: members }, (_, i) => ({
            userId: `u${i}`,
            role: i === 0 ? 'owner' : 'member',
            joinedAt: now,
          })),
        };
      };
      const conversations = db.collection<{ _id: string; shared?: boolean }>('conversations');
      await conversations.insertMany([old(2), old(32), old(33), old(40)] as never[]);
      for (const m of MONGODB_MIGRATIONS.slice(at)) await m.up(db);
      const shared = async () =>
        Object.fromEntries(
          (await conversations.find({}, { sort: { _id: 1 } }).toArray()).map((d) => [d._id, d.shared]),
        );
      expect(await shared()).toEqual({ c2: false, c32: false, c33: true, c40: true });
      const indexes = async () => (await conversations.listIndexes().toArray()).map((i) => i.name).sort();
      const after = await indexes();
      expect(after).toContain('conversations_inbox_small');
      expect(after).toContain('conversations_inbox_shared');
      expect(after).not.toContain('conversations_participant_activity');
      await expect(conversations.insertOne(old(3) as never)).rejects.toMatchObject({ code: 121 });
      await expect(conversations.insertOne({ ...old(4), shared: 'no' } as never)).rejects.toMatchObject({ code: 121 });
      await MONGODB_MIGRATIONS[at]!.up(db);
      expect(await shared()).toEqual({ c2: false, c32: false, c33: true, c40: true });
      expect(await indexes()).toEqual(after);
    } finally {
      await client.close();
    }
  });
});

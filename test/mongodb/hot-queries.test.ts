import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMessageDoc } from '../../database/mongodb/document-mapper.js';
import { openMongoStore } from '../../database/mongodb/mongodb-store.js';
import { INTERRUPTED_POST_MS } from '../../database/mongodb/recovery.js';
import { SHARED_ABOVE } from '../../database/mongodb/document-mapper.js';
import { activityAt } from '../../src/domain/models.js';
import type { Store } from '../../src/repositories/ports.js';
import { audit, createConversation, createUser, newMessage, newUser, text } from '../contract/fixtures.js';
import { mongoTestConfig, testLogger, uniqueDatabaseName, withDatabase } from '../support/initializers/mongodb.js';
import type { StatementPlan } from '../support/mongo-emulator/planner.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';
import type { Doc } from '../support/mongo-emulator/values.js';

/**
 * Every query of the adapter's hot paths can be served by an index on a real MongoDB, by the
 * server's index-selection rules as the emulator's planner check applies them: gets, message
 * lists, posts and batches, idempotency checks (post and bulk), the recovery sweep (interrupted
 * batches too), audit lists, edits, membership changes, a conversation delete — on a standalone
 * server and on a replica set (their writes
 * differ), a user's conversation list (both parts: small conversations and shared ones) and the
 * inbox feed. Each statement the adapter sends to a collection of ours must have a candidate
 * index, and its sort must come from a candidate — except the shared part of the list, which the
 * server sorts (DESIGN.md, "The inbox"), asserted as such below.
 */

const COLLECTIONS = new Set(['users', 'conversations', 'messages', 'audit', 'events']);

interface Recorded {
  what: string;
  plan: StatementPlan;
}

/** What a scenario may do besides using its store. */
interface Harness {
  /** Labels the statements that follow. */
  what(label: string): void;
  /** Runs a command straight on the scenario's database, as a crashed process would have left it. */
  raw(command: Doc): Promise<Doc>;
  /** Another store on the same database (another process): its first read runs its recovery sweep. */
  another(): Promise<Store>;
}

/** Runs `scenario` against a fresh, migrated store, recording the planner's verdict on every statement. */
async function recordPlans(emulator: RunningEmulator, scenario: (store: Store, harness: Harness) => Promise<void>) {
  const recorded: Recorded[] = [];
  let label = 'setup';
  const name = uniqueDatabaseName();
  const url = withDatabase(emulator.url, name);
  const setup = await openMongoStore(mongoTestConfig(url), testLogger);
  await setup.migrator.up();
  await setup.close();
  const stop = emulator.onCommand((event) => {
    const collection = event.command[event.name];
    if (typeof collection !== 'string' || !COLLECTIONS.has(collection)) return;
    // Judged before the command runs, against the indexes the migrations made.
    for (const plan of emulator.engine.plan(event)) recorded.push({ what: label, plan });
  });
  const open = [await openMongoStore(mongoTestConfig(url), testLogger)];
  const harness: Harness = {
    what(next) {
      label = next;
    },
    raw: (command) => emulator.engine.execute(name, command, 0),
    another: async () => {
      open.push(await openMongoStore(mongoTestConfig(url), testLogger));
      return open.at(-1)!;
    },
  };
  try {
    await scenario(open[0]!, harness);
  } finally {
    stop();
    for (const store of open) await store.close();
  }
  return recorded;
}

/**
 * What a standalone postMany leaves when its process dies after the first `inserted` of its
 * messages: its reservation (long enough ago for recovery), those messages hidden.
 */
async function interruptedBatch(raw: Harness['raw'], conversationId: string, authorId: string, inserted: number) {
  const at = new Date(Date.now() - INTERRUPTED_POST_MS - 1000);
  const batch = [1, 2, 3].map(() => newMessage(conversationId, authorId));
  const ids = batch.map((m) => m.id);
  const entry = { id: ids[0], size: ids.length, at, counted: false };
  await raw({
    update: 'conversations',
    updates: [{ q: { _id: conversationId }, u: { $push: { _pendingPosts: entry } } }],
  });
  const documents = batch.slice(0, inserted).map((m) => ({ ...toMessageDoc(m), _uncountedAt: at, _batch: ids }));
  if (documents.length > 0) await raw({ insert: 'messages', documents });
}

async function scenario(store: Store, { what, raw, another }: Harness): Promise<void> {
  what('first read (recovery sweep)');
  // The first conversation or message read of a store runs the recovery sweep.
  await expect(store.conversations.get('00000000-0000-7000-8000-000000000000')).rejects.toThrow();
  const owner = await createUser(store);
  const member = await createUser(store);
  what('users');
  await store.users.get(owner.id);
  await store.users.update({
    id: owner.id,
    expectedVersion: 1,
    patch: { displayName: 'Renamed' },
    updatedAt: new Date(),
    audit: audit(owner.id, 'user', owner.id, 'update'),
  });
  what('conversation create, get, update');
  const c = await createConversation(store, owner);
  await store.conversations.get(c.id);
  await store.conversations.update({
    id: c.id,
    expectedVersion: 1,
    patch: { title: 'T' },
    updatedAt: new Date(),
    audit: audit(owner.id, 'conversation', c.id, 'update'),
  });
  what('participants');
  const joined = { conversationId: c.id, userId: member.id, role: 'member' as const, joinedAt: new Date() };
  await store.conversations.addParticipant(joined, audit(owner.id, 'participant', `${c.id}/${member.id}`));
  await store.conversations.findParticipant(c.id, member.id);
  await store.conversations.listParticipants(c.id);
  what('post');
  const first = await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'k1' }));
  await store.messages.post(newMessage(c.id, owner.id));
  what('post many');
  await store.messages.postMany(c.id, [newMessage(c.id, owner.id), newMessage(c.id, owner.id)]);
  what('idempotent post (repeated clientMessageId)');
  await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'k1' }));
  what('message get, list, edit, delete');
  await store.messages.get(c.id, first.message.id);
  const page = await store.messages.list({ conversationId: c.id, limit: 1, direction: 'older' });
  const last = page.items.at(-1)!;
  await store.messages.list({
    conversationId: c.id,
    limit: 1,
    direction: 'older',
    after: { at: last.createdAt, id: last.id },
  });
  await store.messages.list({ conversationId: c.id, limit: 5, direction: 'newer' });
  await store.messages.update({
    conversationId: c.id,
    messageId: first.message.id,
    expectedVersion: 1,
    patch: { content: text('edited') },
    editedAt: new Date(),
    audit: audit(owner.id, 'message', first.message.id, 'update'),
  });
  await store.messages.softDelete({
    conversationId: c.id,
    messageId: first.message.id,
    expectedVersion: 2,
    deletedAt: new Date(),
    audit: audit(owner.id, 'message', first.message.id, 'delete'),
  });
  what('conversation list');
  const crowd = Array.from({ length: SHARED_ABOVE }, () => newUser());
  await store.bulk.insertBatch('users', crowd, 'fail');
  what('conversation create, get, update');
  const shared = await createConversation(store, owner, crowd);
  what('post to a shared conversation');
  await store.messages.post(newMessage(shared.id, owner.id));
  what('conversation list');
  const listed = await store.conversations.listForUser({ userId: owner.id, limit: 1 });
  expect(listed.items.map((x) => x.id)).toEqual([shared.id]);
  const next = await store.conversations.listForUser({
    userId: owner.id,
    limit: 1,
    after: { at: activityAt(listed.items[0]!), id: shared.id },
  });
  expect(next.items.map((x) => x.id)).toEqual([c.id]);
  what('inbox feed');
  await store.inbox.changes(owner.id, { at: new Date(0), id: '' }, 10);
  what('audit list');
  await store.audit.listForEntity('message', first.message.id);
  what('events');
  await store.events.list(c.id, 0, 10);
  await store.events.latestSeq(c.id);
  await store.events.joinedSeq(c.id, member.id);
  what('recovery of interrupted batches');
  // One stopped after its insert (counted and shown by recovery), one part-way through it (removed).
  await interruptedBatch(raw, c.id, owner.id, 3);
  await interruptedBatch(raw, c.id, owner.id, 2);
  const recovering = await another();
  expect((await recovering.conversations.get(c.id)).messageCount).toBe(7);
  what('bulk insert with clientMessageIds');
  await store.bulk.insertBatch(
    'messages',
    [newMessage(c.id, owner.id, { clientMessageId: 'b1' }), newMessage(c.id, owner.id, { clientMessageId: 'b2' })],
    'fail',
  );
  await store.bulk.insertBatch('users', [newUser()], 'skip');
  what('participant removed, conversation deleted');
  await store.conversations.removeParticipant(c.id, member.id, audit(owner.id, 'participant', `${c.id}/${member.id}`));
  await store.conversations.delete(c.id, audit(owner.id, 'conversation', c.id, 'delete'));
}

describe.each([
  ['standalone server', undefined],
  ['replica set', 'rs0'],
])('MongoDB hot queries are index-eligible (%s; planner check of the emulator, not MongoDB)', (_name, replicaSet) => {
  let emulator: RunningEmulator;
  let recorded: Recorded[];

  beforeAll(async () => {
    emulator = await startMongoEmulator(replicaSet ? { replicaSet } : {});
    recorded = await recordPlans(emulator, scenario);
  });
  afterAll(async () => emulator?.stop());

  /** The shared part of a user's list: its sort is the server's (over the user's shared conversations). */
  const sharedPart = (r: Recorded) =>
    r.plan.command === 'find' && r.plan.ns.endsWith('.conversations') && r.plan.filter.shared === true && !!r.plan.sort;

  const describeStatement = (r: Recorded) =>
    `${r.what}: ${r.plan.command} ${r.plan.ns} ${JSON.stringify(r.plan.filter)}`;

  it('every statement on our collections has a candidate index, and its sort from the index', () => {
    expect(recorded.length).toBeGreaterThan(40);
    const scans = recorded.filter((r) => r.plan.candidates.length === 0).map(describeStatement);
    const sorts = recorded
      .filter((r) => r.plan.sorted.length === 0 && r.plan.candidates.length > 0 && !sharedPart(r))
      .map(describeStatement);
    expect(scans).toEqual([]);
    expect(sorts).toEqual([]);
  });

  /** Statements on `collection` that have `index` among their candidates and match `filter`. */
  const probes = (collection: string, index: string, filter: (f: Record<string, unknown>) => boolean = () => true) =>
    recorded.filter(
      (r) => r.plan.ns.endsWith(`.${collection}`) && r.plan.candidates.includes(index) && filter(r.plan.filter),
    );

  it("a user's list reads small conversations in index order and shared ones by member, sorted by the server", () => {
    const lists = recorded.filter(
      (r) => r.what === 'conversation list' && r.plan.command === 'find' && 'participants.userId' in r.plan.filter,
    );
    // Two pages, each the two parts.
    expect(lists).toHaveLength(4);
    for (const r of lists.filter((x) => !sharedPart(x))) {
      expect(r.plan.filter.shared).toBe(false);
      expect(r.plan.sorted).toEqual(['conversations_inbox_small']);
    }
    const sharedParts = lists.filter(sharedPart);
    expect(sharedParts).toHaveLength(2);
    for (const r of sharedParts) {
      expect(r.plan.candidates).toEqual(['conversations_inbox_shared']);
      expect(r.plan.sorted).toEqual([]);
    }
    // The inbox feed: the same two partial indexes.
    const feed = recorded.filter((r) => r.what === 'inbox feed' && r.plan.ns.endsWith('.conversations'));
    expect(feed.map((r) => r.plan.candidates).sort()).toEqual([
      ['conversations_inbox_shared'],
      ['conversations_inbox_small'],
    ]);
  });

  it('a post updates its conversation by _id, small or shared', () => {
    const updates = recorded.filter(
      (r) => ['post', 'post to a shared conversation'].includes(r.what) && r.plan.ns.endsWith('.conversations'),
    );
    // The count (both deployments); reserve and release on a standalone server.
    expect(updates.filter((r) => r.plan.command === 'findAndModify').length).toBeGreaterThanOrEqual(3);
    for (const r of updates) expect(r.plan.candidates).toContain('_id_');
  });

  it('the recovery sweep probes the partial indexes, not the collections', () => {
    const sweepOfOutbox = (f: Record<string, unknown>) => '_outbox.entity' in f;
    for (const collection of ['users', 'conversations', 'messages'])
      expect(probes(collection, `${collection}_outbox`, sweepOfOutbox)).not.toHaveLength(0);
    expect(probes('conversations', 'conversations_deleting')).not.toHaveLength(0);
    expect(probes('conversations', 'conversations_pending_posts')).not.toHaveLength(0);
    expect(probes('messages', 'messages_uncounted')).not.toHaveLength(0);
    // The audit list delivers what waits for its entity first: on the same partial indexes.
    const forEntity = (f: Record<string, unknown>) => '_outbox' in f;
    for (const collection of ['users', 'conversations', 'messages'])
      expect(probes(collection, `${collection}_outbox`, forEntity)).not.toHaveLength(0);
  });

  it('a batch and its recovery reach its messages and its reservation by _id', () => {
    const on = (step: string, collection: string, field: string) =>
      recorded.filter((r) => r.what === step && r.plan.ns.endsWith(`.${collection}`) && field in r.plan.filter);
    // The reveal (standalone) or nothing (a replica set: one transaction, no reservation); the recovery's reads and removals.
    const statements = [
      ...on('post many', 'messages', '_id'),
      ...on('post many', 'conversations', '_pendingPosts'),
      ...on('recovery of interrupted batches', 'messages', '_batch'),
      ...on('recovery of interrupted batches', 'conversations', '_pendingPosts'),
    ];
    expect(on('recovery of interrupted batches', 'messages', '_batch')).not.toHaveLength(0);
    expect(on('recovery of interrupted batches', 'conversations', '_pendingPosts')).not.toHaveLength(0);
    if (!replicaSet) expect(on('post many', 'conversations', '_pendingPosts')).not.toHaveLength(0);
    for (const r of statements) expect(r.plan.candidates).toContain('_id_');
  });

  it('a repeated clientMessageId and the bulk check look it up on the unique index', () => {
    const lookups = recorded.filter(
      (r) => r.plan.command === 'find' && r.plan.ns.endsWith('.messages') && 'clientMessageId' in r.plan.filter,
    );
    expect(lookups.map((r) => r.what)).toEqual([
      'idempotent post (repeated clientMessageId)',
      'bulk insert with clientMessageIds',
    ]);
    for (const r of lookups) expect(r.plan.candidates).toContain('messages_client_message_unique');
  });

  it('message pages and audit lists come in index order', () => {
    const pages = recorded.filter((r) => r.plan.command === 'find' && r.plan.sort && r.plan.ns.endsWith('.messages'));
    expect(pages).toHaveLength(3);
    for (const r of pages) expect(r.plan.sorted).toContain('messages_conversation_created');
    const auditList = recorded.filter((r) => r.what === 'audit list' && r.plan.ns.endsWith('.audit'));
    expect(auditList.map((r) => r.plan.sorted)).toEqual([['audit_entity_at_id']]);
  });
});

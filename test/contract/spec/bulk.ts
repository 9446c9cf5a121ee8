import { expect } from 'vitest';
import { DuplicateError } from '../../../src/domain/errors.js';
import type { EntityKind, EntityRecords, Store } from '../../../src/repositories/ports.js';
import { ENTITY_KINDS } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import {
  at,
  audit,
  AWKWARD_CONTENT,
  AWKWARD_METADATA,
  createConversation,
  createUser,
  newMessage,
} from '../fixtures.js';

async function scanAll<K extends EntityKind>(store: Store, kind: K, batch: number): Promise<EntityRecords[K][]> {
  const out: EntityRecords[K][] = [];
  let after: EntityRecords[K] | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const page: EntityRecords[K][] = await store.bulk.scan(kind, after, batch);
    out.push(...page);
    if (page.length < batch) break;
    after = page.at(-1)!;
  }
  return out;
}

/** A small store with every kind of record, including a tombstone and awkward JSON. */
async function seed(store: Store) {
  const a = await createUser(store, { id: 'B-upper' });
  const b = await createUser(store, { id: 'a-lower' });
  const c1 = await createConversation(store, a, [b], { metadata: AWKWARD_METADATA });
  const c2 = await createConversation(store, b, [a]);
  for (let i = 0; i < 5; i++)
    await store.messages.post(
      newMessage(c1.id, a.id, {
        content: AWKWARD_CONTENT,
        createdAt: new Date(Date.parse('2026-10-10T10:10:10.010Z') + i),
      }),
    );
  const { message } = await store.messages.post(newMessage(c2.id, b.id, { clientMessageId: 'k1' }));
  await store.messages.softDelete({
    conversationId: c2.id,
    messageId: message.id,
    expectedVersion: 1,
    deletedAt: at('2026-10-11T00:00:00.000Z'),
    audit: audit(b.id, 'message', message.id, 'delete'),
  });
}

const keyOf = (kind: EntityKind, r: EntityRecords[EntityKind]) =>
  kind === 'participants'
    ? `${(r as EntityRecords['participants']).conversationId}\u0000${(r as EntityRecords['participants']).userId}`
    : (r as { id: string }).id;

export function bulkSpec(test: StoreTest): void {
  test('bulk: counts and scans cover every record in code-point key order', async (store) => {
    await seed(store);
    expect(await store.bulk.counts()).toEqual({ users: 2, conversations: 2, participants: 4, messages: 6, audit: 5 });
    for (const kind of ENTITY_KINDS) {
      const records = await scanAll(store, kind, 2);
      const keys = records.map((r) => keyOf(kind, r));
      expect(keys).toEqual([...keys].sort());
      expect(new Set(keys).size).toBe(records.length);
    }
    const users = await scanAll(store, 'users', 10);
    expect(users.map((u) => u.id)).toEqual(['B-upper', 'a-lower']);
  });

  test('bulk: records copied into an empty store come back identical', async (store) => {
    await seed(store);
    const snapshot = Object.fromEntries(
      await Promise.all(ENTITY_KINDS.map(async (k) => [k, await scanAll(store, k, 3)] as const)),
    ) as { [K in EntityKind]: EntityRecords[K][] };
    // Re-inserting everything with `fail` conflicts on the first batch and writes nothing.
    await expect(store.bulk.insertBatch('users', snapshot.users, 'fail')).rejects.toBeInstanceOf(DuplicateError);
    // `skip` leaves all of them; `replace` overwrites them with themselves.
    expect(await store.bulk.insertBatch('messages', snapshot.messages, 'skip')).toEqual({
      inserted: 0,
      skipped: 6,
      replaced: 0,
    });
    expect(await store.bulk.insertBatch('conversations', snapshot.conversations, 'replace')).toEqual({
      inserted: 0,
      skipped: 0,
      replaced: 2,
    });
    for (const kind of ENTITY_KINDS) expect(await scanAll(store, kind, 100)).toEqual(snapshot[kind]);
  });

  test('bulk: insertBatch writes records exactly as given, atomically per batch', async (store) => {
    const source = store;
    await seed(source);
    const users = await scanAll(source, 'users', 100);
    const conversations = await scanAll(source, 'conversations', 100);
    const messages = await scanAll(source, 'messages', 100);
    // Change a copy so replace can be told from skip.
    const renamed = { ...conversations[0]!, title: 'replaced title', version: 7 };
    expect(await store.bulk.insertBatch('conversations', [renamed], 'replace')).toEqual({
      inserted: 0,
      skipped: 0,
      replaced: 1,
    });
    expect(await store.conversations.get(renamed.id)).toEqual(renamed);
    // A batch whose second record conflicts writes nothing under `fail`.
    const fresh = { ...users[0]!, id: 'new-user', handle: 'brand_new_handle' };
    await expect(store.bulk.insertBatch('users', [fresh, users[1]!], 'fail')).rejects.toBeInstanceOf(DuplicateError);
    expect(await store.users.find('new-user')).toBeNull();
    expect(await store.bulk.insertBatch('users', [fresh, users[1]!], 'skip')).toEqual({
      inserted: 1,
      skipped: 1,
      replaced: 0,
    });
    expect(await store.users.get('new-user')).toEqual(fresh);
    expect((await store.bulk.counts()).messages).toBe(messages.length);
  });
}

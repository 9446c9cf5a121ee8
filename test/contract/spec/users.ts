import { expect } from 'vitest';
import { DuplicateError, NotFoundError, VersionConflictError } from '../../../src/domain/errors.js';
import type { StoreTest } from '../harness.js';
import { at, audit, createUser, newUser } from '../fixtures.js';

export function usersSpec(test: StoreTest): void {
  test('users: create then get returns exactly what was stored', async (store) => {
    const user = newUser({ createdAt: at('2024-02-29T23:59:59.999Z'), updatedAt: at('2024-03-01T00:00:00.001Z'), displayName: 'Zoë 👩‍💻 Ünïcode' });
    const created = await store.users.create(user, audit(user.id, 'user', user.id));
    expect(created).toEqual(user);
    const loaded = await store.users.get(user.id);
    expect(loaded).toEqual(user);
    expect(loaded.createdAt.toISOString()).toBe('2024-02-29T23:59:59.999Z');
    expect(loaded.updatedAt.toISOString()).toBe('2024-03-01T00:00:00.001Z');
    expect(await store.users.find(user.id)).toEqual(user);
    expect(await store.users.findByHandle(user.handle)).toEqual(user);
  });

  test('users: a missing user is a typed NotFound, find gives null', async (store) => {
    await expect(store.users.get('nobody')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.users.get('nobody')).rejects.toMatchObject({ entity: 'user', id: 'nobody' });
    expect(await store.users.find('nobody')).toBeNull();
    expect(await store.users.findByHandle('nobody')).toBeNull();
  });

  test('users: a duplicate id or handle is a typed conflict and stores nothing', async (store) => {
    const first = await createUser(store);
    const sameId = newUser({ id: first.id });
    await expect(store.users.create(sameId, audit(first.id, 'user', first.id))).rejects.toMatchObject({ constructor: DuplicateError, field: 'id' });
    const sameHandle = newUser({ handle: first.handle });
    await expect(store.users.create(sameHandle, audit(sameHandle.id, 'user', sameHandle.id))).rejects.toMatchObject({ constructor: DuplicateError, field: 'handle' });
    expect(await store.users.find(sameHandle.id)).toBeNull();
    expect(await store.users.get(first.id)).toEqual(first);
    expect((await store.bulk.counts()).users).toBe(1);
    expect(await store.audit.listForEntity('user', sameHandle.id)).toEqual([]);
  });

  test('users: ids are case-sensitive subjects', async (store) => {
    const upper = await createUser(store, { id: 'Alice@Example|1' });
    const lower = await createUser(store, { id: 'alice@example|1' });
    expect((await store.users.get('Alice@Example|1')).handle).toBe(upper.handle);
    expect((await store.users.get('alice@example|1')).handle).toBe(lower.handle);
  });

  test('users: update bumps the version and moves the handle', async (store) => {
    const user = await createUser(store);
    const when = at('2030-01-01T12:34:56.789Z');
    const updated = await store.users.update(user.id, 1, { handle: `${user.handle}_new`, displayName: 'Renamed' }, when, audit(user.id, 'user', user.id, 'update', { handle: `${user.handle}_new` }));
    expect(updated).toEqual({ ...user, handle: `${user.handle}_new`, displayName: 'Renamed', updatedAt: when, version: 2 });
    expect(await store.users.get(user.id)).toEqual(updated);
    expect(await store.users.findByHandle(user.handle)).toBeNull();
    expect(await store.users.findByHandle(`${user.handle}_new`)).toEqual(updated);
  });

  test('users: a stale version is a typed conflict and changes nothing', async (store) => {
    const user = await createUser(store);
    await store.users.update(user.id, 1, { displayName: 'Second' }, new Date(), audit(user.id, 'user', user.id, 'update'));
    const before = await store.users.get(user.id);
    const error = await store.users.update(user.id, 1, { displayName: 'Lost update' }, new Date(), audit(user.id, 'user', user.id, 'update')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ entity: 'user', id: user.id, expectedVersion: 1 });
    expect(await store.users.get(user.id)).toEqual(before);
    expect((await store.audit.listForEntity('user', user.id)).length).toBe(2);
    await expect(store.users.update('missing', 1, { displayName: 'x' }, new Date(), audit('x', 'user', 'missing', 'update'))).rejects.toBeInstanceOf(NotFoundError);
  });

  test('users: taking a handle that exists is a conflict and changes nothing', async (store) => {
    const a = await createUser(store);
    const b = await createUser(store);
    await expect(store.users.update(b.id, 1, { handle: a.handle }, new Date(), audit(b.id, 'user', b.id, 'update'))).rejects.toMatchObject({ constructor: DuplicateError, field: 'handle' });
    expect(await store.users.get(b.id)).toEqual(b);
  });

  test('audit: entries are written with their change and round-trip exactly', async (store) => {
    const user = newUser();
    const diff = { handle: { from: null, to: user.handle }, nested: { list: [1, 'two', { three: 3 }], empty: {}, none: [] }, emoji: '🧾', z: 1, a: 2 };
    const entry = { ...audit(user.id, 'user', user.id, 'create', diff), at: at('2025-05-05T05:05:05.555Z') };
    await store.users.create(user, entry);
    const entries = await store.audit.listForEntity('user', user.id);
    expect(entries).toEqual([entry]);
    expect(JSON.stringify(entries[0]!.diff)).toBe(JSON.stringify(diff));
  });
}

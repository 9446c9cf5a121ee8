import { expect } from 'vitest';
import { DuplicateError, NotFoundError, VersionConflictError } from '../../../src/domain/errors.js';
import type { StoreTest } from '../harness.js';
import { at, audit, createUser, newUser } from '../fixtures.js';

export function usersSpec(test: StoreTest): void {
  test('users: create then get returns exactly what was stored', async (store) => {
    const user = newUser({
      createdAt: at('2024-02-29T23:59:59.999Z'),
      updatedAt: at('2024-03-01T00:00:00.001Z'),
      displayName: 'Zoë 👩‍💻 Ünïcode',
    });
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
    await expect(store.users.create(sameId, audit(first.id, 'user', first.id))).rejects.toMatchObject({
      constructor: DuplicateError,
      field: 'id',
    });
    const sameHandle = newUser({ handle: first.handle });
    await expect(store.users.create(sameHandle, audit(sameHandle.id, 'user', sameHandle.id))).rejects.toMatchObject({
      constructor: DuplicateError,
      field: 'handle',
    });
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
    const updated = await store.users.update({
      id: user.id,
      expectedVersion: 1,
      patch: { handle: `${user.handle}_new`, displayName: 'Renamed' },
      updatedAt: when,
      audit: audit(user.id, 'user', user.id, 'update', { handle: `${user.handle}_new` }),
    });
    expect(updated).toEqual({
      ...user,
      handle: `${user.handle}_new`,
      displayName: 'Renamed',
      updatedAt: when,
      version: 2,
    });
    expect(await store.users.get(user.id)).toEqual(updated);
    expect(await store.users.findByHandle(user.handle)).toBeNull();
    expect(await store.users.findByHandle(`${user.handle}_new`)).toEqual(updated);
  });

  test('users: a stale version is a typed conflict and changes nothing', async (store) => {
    const user = await createUser(store);
    await store.users.update({
      id: user.id,
      expectedVersion: 1,
      patch: { displayName: 'Second' },
      updatedAt: new Date(),
      audit: audit(user.id, 'user', user.id, 'update'),
    });
    const before = await store.users.get(user.id);
    const error = await store.users
      .update({
        id: user.id,
        expectedVersion: 1,
        patch: { displayName: 'Lost update' },
        updatedAt: new Date(),
        audit: audit(user.id, 'user', user.id, 'update'),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ entity: 'user', id: user.id, expectedVersion: 1 });
    expect(await store.users.get(user.id)).toEqual(before);
    expect((await store.audit.listForEntity('user', user.id)).length).toBe(2);
    await expect(
      store.users.update({
        id: 'missing',
        expectedVersion: 1,
        patch: { displayName: 'x' },
        updatedAt: new Date(),
        audit: audit('x', 'user', 'missing', 'update'),
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  test('users: findExisting answers which ids name stored users, in one call', async (store) => {
    const a = await createUser(store);
    const b = await createUser(store, { id: 'Case|Sensitive' });
    expect(await store.users.findExisting([])).toEqual(new Set());
    expect(await store.users.findExisting(['nobody'])).toEqual(new Set());
    const found = await store.users.findExisting([a.id, 'nobody', b.id, a.id, 'case|sensitive']);
    expect(found).toBeInstanceOf(Set);
    expect(found).toEqual(new Set([a.id, b.id]));
    const many = Array.from({ length: 120 }, (_, i) => `missing|${i}`);
    expect(await store.users.findExisting([...many, b.id])).toEqual(new Set([b.id]));
  });

  test('users: update without expectedVersion applies to whatever version is stored', async (store) => {
    const user = await createUser(store);
    const when = at('2030-02-02T02:02:02.202Z');
    const audited = () => audit(user.id, 'user', user.id, 'update');
    const unconditional = { id: user.id, patch: { displayName: 'Third' }, updatedAt: when };
    await store.users.update({ ...unconditional, expectedVersion: 1, patch: { displayName: '2nd' }, audit: audited() });
    const updated = await store.users.update({ ...unconditional, audit: audited() });
    expect(updated).toEqual({ ...user, displayName: 'Third', updatedAt: when, version: 3 });
    expect(await store.users.get(user.id)).toEqual(updated);
    expect((await store.audit.listForEntity('user', user.id)).length).toBe(3);
    const missing = store.users.update({
      id: 'missing',
      patch: { displayName: 'x' },
      updatedAt: when,
      audit: audit('x', 'user', 'missing', 'update'),
    });
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
  });

  test('users: taking a handle that exists is a conflict and changes nothing', async (store) => {
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
    ).rejects.toMatchObject({ constructor: DuplicateError, field: 'handle' });
    expect(await store.users.get(b.id)).toEqual(b);
  });

  test('audit: entries are written with their change and round-trip exactly', async (store) => {
    const user = newUser();
    const diff = {
      handle: { from: null, to: user.handle },
      nested: { list: [1, 'two', { three: 3 }], empty: {}, none: [] },
      emoji: '🧾',
      z: 1,
      a: 2,
    };
    const entry = { ...audit(user.id, 'user', user.id, 'create', diff), at: at('2025-05-05T05:05:05.555Z') };
    await store.users.create(user, entry);
    const entries = await store.audit.listForEntity('user', user.id);
    expect(entries).toEqual([entry]);
    expect(JSON.stringify(entries[0]!.diff)).toBe(JSON.stringify(diff));
  });
}

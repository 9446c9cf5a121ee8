import { expect } from 'vitest';
import type { StoreTest } from '../harness.js';

export function lifecycleSpec(test: StoreTest): void {
  test('lifecycle: a created store is fully migrated, and migrating again does nothing', async (store) => {
    const status = await store.migrator.status();
    expect(status.known.length).toBeGreaterThan(0);
    expect(status.applied).toEqual(status.known);
    expect(status.pending).toEqual([]);
    expect(status.unknown).toEqual([]);
    expect(await store.migrator.up()).toEqual([]);
    expect(await store.migrator.status()).toEqual(status);
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.bulk.counts()).toEqual({ users: 0, conversations: 0, participants: 0, messages: 0, audit: 0 });
  });
}

import { spawnPolystore } from '../support/process.js';
import '../support/provided-context.js';
import { describe, expect, it } from 'vitest';
import { BACKENDS, type DatabaseConfig } from '../../database/registry.js';
import type { Scratch } from '../../src/repositories/backend.js';
import { openStore } from '../../src/repositories/factory.js';
import { testLogger, serverFor } from '../support/initializer.js';
import { requiredBackends } from '../support/servers.js';

/**
 * Replicas that start together on one fresh database, each migrating it (MIGRATE_ON_START): every
 * one of them must succeed, and the schema must end up complete. Run for every registered backend
 * whose database can be shared (all but the in-process memory store), in process and as separate
 * `polystore migrate` processes.
 */

const REPLICAS = 4;

/** A fresh, unmigrated place of the backend, or why it cannot run here. */
async function freshPlace(
  type: string,
): Promise<{ scratch: Scratch<DatabaseConfig>; skip?: undefined } | { skip: string }> {
  const backend = BACKENDS.find((b) => b.type === type)!;
  const testing = backend.testing;
  const info = testing.needs === 'server' ? serverFor(testing.server) : undefined;
  if (info && 'skip' in info) {
    if (requiredBackends().has(type)) throw new Error(`TEST_REQUIRE names ${type}, but it cannot run: ${info.skip}`);
    return { skip: info.skip };
  }
  const kit = await testing.kit();
  return { scratch: (await kit.connect(info && 'url' in info ? info.url : undefined)) as Scratch<DatabaseConfig> };
}

async function migrateProcess(config: DatabaseConfig): Promise<{ code: number | null; output: string }> {
  const url = config.type === 'sqlite' ? config.file : 'url' in config ? config.url : '';
  const run = await spawnPolystore(['migrate'], { DATABASE_TYPE: config.type, DATABASE_URL: url, LOG_LEVEL: 'warn' })
    .exited;
  return { code: run.code, output: run.stdout + run.stderr };
}

const shared = BACKENDS.filter((b) => b.location.kind !== 'none');

describe.each(shared.map((b) => b.type))('replicas migrating one fresh database at once: %s', (type) => {
  it(`${REPLICAS} stores migrating together all succeed and leave the schema complete`, async (ctx) => {
    const place = await freshPlace(type);
    if (place.skip !== undefined) return ctx.skip(place.skip);
    const { config, drop } = await place.scratch.create();
    const stores = await Promise.all(Array.from({ length: REPLICAS }, () => openStore(config, testLogger)));
    try {
      const results = await Promise.allSettled(stores.map((s) => s.migrator.up()));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const status = await stores[0]!.migrator.status();
      expect(status.pending).toEqual([]);
      expect(status.applied).toEqual(status.known);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await drop();
      await place.scratch.close();
    }
  }, 60_000);

  it(`${REPLICAS} \`polystore migrate\` processes started together all exit 0`, async (ctx) => {
    const place = await freshPlace(type);
    if (place.skip !== undefined) return ctx.skip(place.skip);
    const { config, drop } = await place.scratch.create();
    try {
      const runs = await Promise.all(Array.from({ length: REPLICAS }, () => migrateProcess(config)));
      for (const run of runs) expect(run, run.output).toMatchObject({ code: 0 });
      // Each migration was applied by exactly one of them; the others found nothing to do.
      const applied = runs.flatMap((r) => [...r.output.matchAll(/^applied (\S+)$/gm)].map((m) => m[1]));
      const store = await openStore(config, testLogger);
      try {
        const status = await store.migrator.status();
        expect(status.pending).toEqual([]);
        expect(applied.sort()).toEqual([...status.known].sort());
      } finally {
        await store.close();
      }
    } finally {
      await drop();
      await place.scratch.close();
    }
  }, 90_000);
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/repositories/ports.js';
import { CopyTargetError, copyStores } from '../../src/transfer/copy.js';
import { exportStore } from '../../src/transfer/export.js';
import { ImportFileError } from '../../src/transfer/format.js';
import { importFile, ImportTargetError } from '../../src/transfer/import.js';
import { verifyStores } from '../../src/transfer/verify.js';
import { requiredBackends } from '../support/servers.js';
import type { DatabaseType } from '../../database/registry.js';
import { initializerFor, type StoreInitializer } from '../support/initializer.js';
import { seedAwkwardStore } from './seed.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'polystore-transfer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entityLines = async (path: string) => (await readFile(path, 'utf8')).trimEnd().split('\n').slice(1, -1);

/** Finds each initializer's server once; unavailable backends are reported and left out. */
async function available(inits: StoreInitializer[]): Promise<StoreInitializer[]> {
  const ok: StoreInitializer[] = [];
  for (const init of inits) {
    const r = await init.beforeAll();
    if ('skip' in r) {
      const backend = init.backend;
      if (requiredBackends().has(backend))
        throw new Error(`TEST_REQUIRE names ${backend}, but it cannot run: ${r.skip}`);
      console.warn(`[polystore tests] transfer tests on ${init.name} SKIPPED: ${r.skip}`);
    } else ok.push(init);
  }
  return ok;
}

/**
 * Round trips between every pair of backends: seed the source with awkward data, copy, verify;
 * export → import → export gives byte-identical record lines.
 */
export function describeTransferPairs(backends: readonly DatabaseType[]): void {
  const inits = backends.map((b) => initializerFor(b));
  describe('transfer between every pair of backends', () => {
    let ready: StoreInitializer[] = [];
    beforeAll(async () => {
      ready = await available(inits);
    });
    afterAll(async () => {
      for (const init of inits) await init.afterAll();
    });

    for (const from of inits) {
      for (const to of inits) {
        it(`copy ${from.name} → ${to.name}, verify, export → import → export`, async (ctx) => {
          if (!ready.includes(from) || !ready.includes(to))
            return ctx.skip('backend unavailable (see the SKIPPED line above)');
          const source = await from.create();
          const target = await to.create();
          const again = await to.create();
          try {
            await seedAwkwardStore(source);
            const copied = await copyStores(source, target, { batchSize: 7 });
            expect(copied.verify.firstDifference).toBeUndefined();
            expect(copied.verify.equal).toBe(true);
            expect(copied.verify.target.counts).toEqual(await source.bulk.counts());
            expect(copied.results.messages.inserted).toBe(72);
            // Exact domain objects, not only checksums.
            expect(await target.conversations.listForUser({ userId: 'Owner|1', limit: 200 })).toEqual(
              await source.conversations.listForUser({ userId: 'Owner|1', limit: 200 }),
            );

            const first = join(dir, `${from.backend}-${to.backend}-1.ndjson`.replace(/[^\w.-]+/g, '_'));
            const second = join(dir, `${from.backend}-${to.backend}-2.ndjson.gz`.replace(/[^\w.-]+/g, '_'));
            await exportStore(source, first, { batchSize: 5 });
            const imported = await importFile(again, first, { batchSize: 9 });
            expect(imported.verify!.equal).toBe(true);
            await exportStore(again, second);
            const third = join(dir, `${from.backend}-${to.backend}-3.ndjson`.replace(/[^\w.-]+/g, '_'));
            await importAndReexport(second, third, to);
            expect(await entityLines(third)).toEqual(await entityLines(first));
          } finally {
            await Promise.all([from.destroy(source), to.destroy(target), to.destroy(again)]);
          }
        }, 120_000);
      }
    }
  });
}

/** gzip path: import the .gz into a fresh store and export it as plain text. */
async function importAndReexport(gz: string, out: string, init: StoreInitializer): Promise<void> {
  const store = await init.create();
  try {
    expect((await importFile(store, gz)).verify!.equal).toBe(true);
    await exportStore(store, out);
  } finally {
    await init.destroy(store);
  }
}

/** Bad input, merge and resume behaviour, on one backend. */
export function describeTransferRules(backend: DatabaseType): void {
  const init = initializerFor(backend);
  describe(`transfer rules: ${init.name}`, () => {
    let skip: string | undefined;
    beforeAll(async () => {
      const r = await init.beforeAll();
      if ('skip' in r) skip = r.skip;
    });
    afterAll(() => init.afterAll());

    const withStores = (name: string, n: number, fn: (...stores: Store[]) => Promise<void>) =>
      it(name, async (ctx) => {
        if (skip) return ctx.skip(skip);
        const stores = await Promise.all(Array.from({ length: n }, () => init.create()));
        try {
          await fn(...stores);
        } finally {
          await Promise.all(stores.map((s) => init.destroy(s)));
        }
      }, 60_000);

    async function exported(store: Store, name: string): Promise<string[]> {
      await seedAwkwardStore(store, { conversations: 3, messagesPer: 4 });
      const path = join(dir, `${init.backend}-${name}.ndjson`.replace(/[^\w.-]+/g, '_'));
      await exportStore(store, path);
      return (await readFile(path, 'utf8')).trimEnd().split('\n');
    }

    const cases: [string, (lines: string[]) => string[], RegExp, (lines: string[]) => number][] = [
      ['a truncated file', (l) => l.slice(0, -3), /ends without a trailer line: it is truncated/, (l) => l.length - 3],
      [
        'a wrong format version',
        (l) => [l[0]!.replace('"formatVersion":1', '"formatVersion":99'), ...l.slice(1)],
        /unsupported format version 99/,
        () => 1,
      ],
      [
        'a line that is not JSON',
        (l) => [...l.slice(0, 4), '{"kind":"messages",', ...l.slice(5)],
        /not valid JSON/,
        () => 5,
      ],
      [
        'a record that fails the domain schema',
        (l) =>
          l.map((x, i) =>
            i === l.length - 5
              ? x
                  .replace(/"role":"(user|assistant|system|tool)"/, '"role":"wizard"')
                  .replace(/"action":"\w+"/, '"action":"explode"')
              : x,
          ),
        /fails the (messages|audit) schema: (messages\.role|audit\.action)/,
        (l) => l.length - 4,
      ],
      [
        'a checksum mismatch',
        (l) => l.map((x, i) => (i === 2 ? x.replace(/"displayName":"[^"]*"/, '"displayName":"Tampered"') : x)),
        /checksum mismatch/,
        (l) => l.length,
      ],
      [
        'an unknown field',
        (l) => l.map((x, i) => (i === 1 ? x.replace('"version":1}', '"version":1,"admin":true}') : x)),
        /users\.admin: is not a field/,
        () => 2,
      ],
    ];
    for (const [what, corrupt, message, line] of cases) {
      withStores(`import stops at ${what}, naming the line, and changes nothing`, 2, async (source, target) => {
        const lines = await exported(source, what);
        const path = join(dir, `${init.backend}-bad-${what}.ndjson`.replace(/[^\w.-]+/g, '_'));
        const bad = corrupt(lines);
        await writeFile(path, `${bad.join('\n')}\n`);
        const error = await importFile(target, path).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ImportFileError);
        expect((error as ImportFileError).message).toMatch(message);
        expect((error as ImportFileError).line).toBe(line(lines));
        expect(await target.bulk.counts()).toEqual({
          users: 0,
          conversations: 0,
          participants: 0,
          messages: 0,
          audit: 0,
        });
      });
    }

    withStores(
      'import refuses a non-empty target unless merging, and reports skipped and replaced',
      2,
      async (source, target) => {
        const lines = await exported(source, 'merge');
        const path = join(dir, `${init.backend}-merge.ndjson`.replace(/[^\w.-]+/g, '_'));
        await writeFile(path, `${lines.join('\n')}\n`);
        await importFile(target, path);
        await expect(importFile(target, path)).rejects.toBeInstanceOf(ImportTargetError);
        const skipped = await importFile(target, path, { merge: true });
        expect(skipped.results.messages).toEqual({ inserted: 0, skipped: 12, replaced: 0 });
        const replaced = await importFile(target, path, { merge: true, onConflict: 'replace' });
        expect(replaced.results.users).toEqual({ inserted: 0, skipped: 0, replaced: 3 });
        expect((await verifyStores(source, target)).equal).toBe(true);
      },
    );

    withStores('an interrupted copy resumes without duplicating anything', 2, async (source, target) => {
      await seedAwkwardStore(source, { conversations: 6, messagesPer: 5 });
      // A target that fails after a few batches stands in for a process killed mid-copy.
      let batches = 0;
      const crashing: Store = {
        ...target,
        bulk: {
          ...target.bulk,
          scan: target.bulk.scan.bind(target.bulk),
          counts: target.bulk.counts.bind(target.bulk),
          insertBatch: (async (kind, records, policy) => {
            if (++batches > 6) throw new Error('simulated crash');
            return target.bulk.insertBatch(kind, records, policy);
          }) as Store['bulk']['insertBatch'],
        },
      };
      await expect(copyStores(source, crashing, { batchSize: 4 })).rejects.toThrow('simulated crash');
      const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      const partial = sum(await target.bulk.counts());
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(sum(await source.bulk.counts()));
      const resumed = await copyStores(source, target, { batchSize: 4 });
      expect(resumed.resumed).toBe(true);
      expect(resumed.verify.equal).toBe(true);
      expect(Object.values(resumed.results).reduce((a, r) => a + r.skipped, 0)).toBe(partial);
      expect(await target.bulk.counts()).toEqual(await source.bulk.counts());
    });

    withStores('copy refuses a target that holds other records', 2, async (source, target) => {
      await seedAwkwardStore(source, { conversations: 1, messagesPer: 1 });
      await seedAwkwardStore(target, { conversations: 1, messagesPer: 1 });
      await expect(copyStores(source, target)).rejects.toBeInstanceOf(CopyTargetError);
      const merged = await copyStores(source, target, { merge: true });
      expect(merged.results.users.skipped).toBe(3);
    });

    withStores('verify names the first differing record', 2, async (source, target) => {
      await seedAwkwardStore(source, { conversations: 2, messagesPer: 2 });
      await copyStores(source, target);
      const [user] = await target.bulk.scan('users', null, 1);
      await target.bulk.insertBatch('users', [{ ...user!, displayName: 'Changed' }], 'replace');
      const report = await verifyStores(source, target);
      expect(report.equal).toBe(false);
      expect(report.firstDifference).toMatch(new RegExp(`^users ${user!.id.replace(/[|.]/g, '\\$&')} differs`));
      expect(report.source.counts).toEqual(report.target.counts);
      expect(report.source.checksums.users).not.toBe(report.target.checksums.users);
      expect(report.source.checksums.messages).toBe(report.target.checksums.messages);
    });
  });
}

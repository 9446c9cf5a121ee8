import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import { exportStore } from '../../src/transfer/export.js';
import { seedAwkwardStore } from './seed.js';

/**
 * An export whose output cannot be written fails with the reason; it never hangs or crashes (enough
 * records that the writer has to wait for the stream to drain).
 */
describe('export to a file that cannot be written', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polystore-export-errors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['x.ndjson', 'x.ndjson.gz'])('%s in a folder that does not exist rejects with ENOENT', async (name) => {
    const store = openMemoryStore();
    await seedAwkwardStore(store, { conversations: 20, messagesPer: 100 });
    const started = Date.now();
    await expect(exportStore(store, join(dir, 'missing', name), {})).rejects.toMatchObject({ code: 'ENOENT' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a name longer than the file system allows rejects with ENAMETOOLONG', async () => {
    const store = openMemoryStore();
    await seedAwkwardStore(store, { conversations: 20, messagesPer: 100 });
    await expect(exportStore(store, join(dir, `${'n'.repeat(300)}.ndjson.gz`), {})).rejects.toMatchObject({
      code: 'ENAMETOOLONG',
    });
  });
});

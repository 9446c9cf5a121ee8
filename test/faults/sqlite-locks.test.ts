import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteConfig } from '../../database/typeorm/config.js';
import { sqliteDialect } from '../../database/typeorm/dialects/sqlite.js';
import { openStore } from '../../src/repositories/factory.js';
import type { Store } from '../../src/repositories/ports.js';
import { createConversation, createUser, newMessage, text } from '../contract/fixtures.js';
import { openMigrated, testLogger } from '../support/initializer.js';

/**
 * SQLite with another process on the same file: a writer must wait for the other's write lock
 * (up to SQLITE_BUSY_TIMEOUT_MS) instead of failing, and the durability setting reaches the
 * connection.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'polystore-sqlite-locks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (file: string, overrides: Partial<SqliteConfig> = {}): SqliteConfig => ({
  type: 'sqlite',
  file,
  busyTimeoutMs: 5000,
  synchronous: 'FULL',
  ...overrides,
});

/** Another process that holds the file's write lock for `ms`; resolves once it holds it. */
async function holdWriteLock(file: string, ms: number): Promise<{ released: Promise<number | null> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));
  `;
  const child = spawn(process.execPath, ['-e', script, file, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => d.includes('locked') && resolve());
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`the lock holder exited early (${code})`)));
  });
  return { released };
}

describe('sqlite: writers wait for another process', () => {
  it("posts during another process's 1.5 s write lock all succeed once it commits", async () => {
    const file = join(dir, 'busy.db');
    const store: Store = await openMigrated(config(file));
    try {
      const owner = await createUser(store);
      const conversation = await createConversation(store, owner);
      const holder = await holdWriteLock(file, 1500);
      const started = Date.now();
      const posts = await Promise.allSettled(
        // With a clientMessageId a post reads before it writes: the case where a deferred
        // transaction cannot wait for the lock (SQLite does not call the busy handler on upgrade).
        Array.from({ length: 20 }, (_, i) =>
          store.messages.post(
            newMessage(conversation.id, owner.id, { content: text(`m${i}`), clientMessageId: `c${i}` }),
          ),
        ),
      );
      const waited = Date.now() - started;
      expect(await holder.released).toBe(0);
      expect(posts.filter((p) => p.status === 'rejected')).toEqual([]);
      // They really waited for the lock (a failure at once would have been a 503).
      expect(waited).toBeGreaterThanOrEqual(1000);
      expect((await store.conversations.get(conversation.id)).messageCount).toBe(20);
    } finally {
      await store.close();
    }
  }, 30_000);

  it('a lock held longer than the busy timeout and its retries is unavailable (503), and nothing is written', async () => {
    const file = join(dir, 'timeout.db');
    await (await openMigrated(config(file))).close();
    const store = await openStore(config(file, { busyTimeoutMs: 300 }), testLogger);
    try {
      const owner = await createUser(store);
      const conversation = await createConversation(store, owner);
      // Longer than the busy timeout and the retries the adapter makes for a busy database.
      const holder = await holdWriteLock(file, 5000);
      await expect(store.messages.post(newMessage(conversation.id, owner.id))).rejects.toMatchObject({
        code: 'unavailable',
      });
      await holder.released;
      expect((await store.conversations.get(conversation.id)).messageCount).toBe(0);
    } finally {
      await store.close();
    }
  }, 30_000);

  it.each(['FULL', 'NORMAL'] as const)('SQLITE_SYNCHRONOUS=%s reaches every connection', async (synchronous) => {
    const options = await sqliteDialect(config(join(dir, `sync-${synchronous}.db`), { synchronous })).dataSourceOptions(
      testLogger,
    );
    const db = new Database(join(dir, `sync-${synchronous}.db`));
    try {
      (options as { prepareDatabase(db: Database.Database): void }).prepareDatabase(db);
      expect(db.pragma('synchronous', { simple: true })).toBe(synchronous === 'FULL' ? 2 : 1);
    } finally {
      db.close();
    }
  });

  it.each([
    ['whose parent is a file', () => join(dir, 'a-file', 'x.db'), /is a file, not a folder/],
    ['under /proc', () => '/proc/polystore-no-such-folder/x.db', /ENOENT|EACCES|EPERM/],
  ])('a database path %s fails at once with the reason', async (_what, path, reason) => {
    await (await import('node:fs/promises')).writeFile(join(dir, 'a-file'), 'not a folder');
    const started = Date.now();
    await expect(sqliteDialect(config(path())).dataSourceOptions(testLogger)).rejects.toThrow(reason);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

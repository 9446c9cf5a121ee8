import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../database/registry.js';
import { typeormTestKit } from '../../database/typeorm/testing.js';
import { createConversation, createUser } from '../contract/fixtures.js';
import { openMigrated, serverFor } from '../support/initializer.js';
import { requiredBackends } from '../support/servers.js';

/**
 * Migration 0005 adds `status NOT NULL DEFAULT 'completed'`: a row written without the new
 * columns — as every row stored before the migration was — reads as a completed message with no
 * reason, and stays out of the sweep's range.
 */
const INSERT = `INSERT INTO messages (id, conversation_id, author_id, role, content, metadata, client_message_id, created_at, edited_at, deleted_at, version)
  VALUES (?, ?, ?, 'user', '[{"type":"text","text":"old"}]', '{}', NULL, ?, NULL, NULL, 1)`;
const ID = '0190a000-0000-7000-8000-0000000000aa';
const CREATED = new Date('2025-01-01T00:00:00.000Z');

describe.each(['sqlite', 'postgres', 'mariadb', 'mysql'] as const)('%s: rows from before 0005', (type) => {
  it('read as completed, with a null reason, and are never stale', async (ctx) => {
    let url: string | undefined;
    if (type !== 'sqlite') {
      const info = serverFor(type);
      if ('skip' in info) {
        if (requiredBackends().has(type))
          throw new Error(`TEST_REQUIRE names ${type}, but it cannot run: ${info.skip}`);
        return ctx.skip(info.skip);
      }
      url = info.url;
    }
    const scratch = await typeormTestKit[type].connect(url as string);
    const { config, drop } = await scratch.create();
    try {
      const store = await openMigrated(config as DatabaseConfig);
      try {
        const owner = await createUser(store);
        const c = await createConversation(store, owner);
        const params = [ID, c.id, owner.id];
        if (config.type === 'sqlite') {
          const raw = new Database(config.file);
          raw.prepare(INSERT).run(...params, CREATED.getTime());
          raw.close();
        } else if (config.type === 'postgres') {
          const raw = new pg.Client({ connectionString: config.url });
          await raw.connect();
          let n = 0;
          await raw.query(
            INSERT.replace(/\?/g, () => `$${++n}`),
            [...params, CREATED],
          );
          await raw.end();
        } else {
          const raw = await mysql.createConnection({ uri: config.url, timezone: 'Z' });
          await raw.query(INSERT, [...params, CREATED]);
          await raw.end();
        }
        const m = await store.messages.get(c.id, ID);
        expect([m.status, m.statusReason, m.content]).toEqual(['completed', null, [{ type: 'text', text: 'old' }]]);
        expect(await store.streams.stale(new Date('2100-01-01T00:00:00.000Z'), 10)).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      await drop();
      await scratch.close();
    }
  }, 60_000);
});

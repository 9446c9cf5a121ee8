import mysql from 'mysql2/promise';
import type { QueryRunner } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { MYSQL_MIGRATIONS } from '../../migrations/mysql/index.js';
import type { DatabaseConfig } from '../../database/registry.js';
import { typeormTestKit } from '../../database/typeorm/testing.js';
import { openStore } from '../../src/repositories/factory.js';
import { requiredBackends } from '../support/servers.js';
import { serverFor, testLogger } from '../support/initializer.js';

/**
 * MySQL and MariaDB commit DDL statement by statement: a first migration that failed after some
 * tables were made (for example for want of the REFERENCES privilege) must succeed when run again.
 */
describe.each(['mariadb', 'mysql'] as const)('%s: a migration that failed part-way runs again', (type) => {
  it('the tables it made before failing do not stop the second run', async (ctx) => {
    const info = serverFor(type);
    if ('skip' in info) {
      if (requiredBackends().has(type)) throw new Error(`TEST_REQUIRE names ${type}, but it cannot run: ${info.skip}`);
      return ctx.skip(info.skip);
    }
    const scratch = await typeormTestKit[type].connect(info.url);
    const { config, drop } = await scratch.create();
    try {
      // What a failed run leaves: each migration stopped after its first statement (as when the
      // user lacks REFERENCES), that one committed, nothing recorded. After the first, so that
      // every migration, however short, fails part-way.
      const raw = await mysql.createConnection((config as { url: string }).url);
      try {
        for (const Migration of MYSQL_MIGRATIONS) {
          let statements = 0;
          const failing = {
            query: async (sql: string) => {
              if (++statements > 1) throw new Error('REFERENCES command denied (simulated)');
              return (await raw.query(sql))[0];
            },
          } as unknown as QueryRunner;
          await expect(new Migration().up(failing)).rejects.toThrow(/simulated/);
        }
      } finally {
        await raw.end();
      }
      const store = await openStore(config as DatabaseConfig, testLogger);
      try {
        expect((await store.migrator.status()).pending.length).toBeGreaterThan(0);
        await store.migrator.up();
        const status = await store.migrator.status();
        expect(status.pending).toEqual([]);
        expect(status.applied).toEqual(status.known);
        expect(await store.bulk.counts()).toEqual({
          users: 0,
          conversations: 0,
          participants: 0,
          messages: 0,
          audit: 0,
        });
      } finally {
        await store.close();
      }
    } finally {
      await drop();
      await scratch.close();
    }
  }, 60_000);
});

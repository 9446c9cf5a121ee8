import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { convergeMigrations, newerSchema } from '../../src/repositories/schema.js';
import type { MigrationStatus, Migrator } from '../../src/repositories/ports.js';
import type { MongoMigration } from '../../migrations/mongodb/index.js';
import { COLLECTIONS, type MongoContext } from './mongodb-context.js';

/** How long a lock is honoured (a process that died holding it frees it then), and how long to wait for it. */
const LOCK_LEASE_MS = 60_000;
const LOCK_WAIT_MS = 120_000;
const DUPLICATE_KEY = 11000;

interface LockRecord {
  _id: 'migrations';
  owner: string;
  until: Date;
}

interface MigrationRecord {
  /** The migration's name. */
  _id: string;
  appliedAt: Date;
}

/**
 * Applies the versioned migrations of migrations/mongodb and records each in
 * `polystore_migrations` once it completed. Never runs by itself: `polystore migrate`, or
 * MIGRATE_ON_START, calls up().
 */
export class MongoMigrator implements Migrator {
  constructor(
    private readonly ctx: MongoContext,
    private readonly migrations: readonly MongoMigration[],
  ) {}

  private get records() {
    return this.ctx.db.collection<MigrationRecord>(COLLECTIONS.migrations);
  }

  status(): Promise<MigrationStatus> {
    return this.ctx.guard('audit', () => this.read());
  }

  private async read(): Promise<MigrationStatus> {
    const known = this.migrations.map((m) => m.name);
    const applied = (await this.records.find({}, { projection: { _id: 1 }, sort: { _id: 1 } }).toArray()).map(
      (r) => r._id,
    );
    const done = new Set(applied);
    const knownSet = new Set(known);
    return {
      known,
      applied,
      pending: known.filter((n) => !done.has(n)),
      unknown: applied.filter((n) => !knownSet.has(n)),
    };
  }

  /**
   * Applies what is pending holding the migration lock, so replicas starting together take turns
   * and each migration is applied once; convergeMigrations covers a failure all the same.
   */
  up(): Promise<string[]> {
    return convergeMigrations(
      () => this.ctx.guard('audit', () => this.locked(() => this.apply())),
      () => this.status(),
    );
  }

  /**
   * A lock document: taken by an upsert that matches only a free or expired lease (a held one
   * makes the upsert collide on `_id`, and the caller waits), released by its owner.
   */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    const locks = this.ctx.db.collection<LockRecord>(COLLECTIONS.migrationLock);
    const owner = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      const now = Date.now();
      try {
        await locks.updateOne(
          { _id: 'migrations', until: { $lt: new Date(now) } },
          { $set: { owner, until: new Date(now + LOCK_LEASE_MS) } },
          { upsert: true },
        );
        break;
      } catch (error) {
        if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
        if (Date.now() > deadline) throw new Error('timed out waiting for the MongoDB migration lock');
        await sleep(100);
      }
    }
    try {
      return await work();
    } finally {
      await locks.deleteOne({ _id: 'migrations', owner });
    }
  }

  private async apply(): Promise<string[]> {
    const before = await this.read();
    if (before.unknown.length > 0) throw newerSchema('mongodb', before.unknown);
    const ran: string[] = [];
    for (const migration of this.migrations) {
      if (!before.pending.includes(migration.name)) continue;
      this.ctx.log.info({ migration: migration.name }, 'applying MongoDB migration');
      await migration.up(this.ctx.db);
      // Upsert: two processes migrating at once both succeed, and the record is written once.
      await this.records.updateOne(
        { _id: migration.name },
        { $setOnInsert: { appliedAt: new Date() } },
        { upsert: true },
      );
      ran.push(migration.name);
    }
    return ran;
  }
}

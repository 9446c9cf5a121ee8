import { convergeMigrations, newerSchema } from '../../src/repositories/schema.js';
import type { MigrationStatus, Migrator } from '../../src/repositories/ports.js';
import type { MongoMigration } from '../../migrations/mongodb/index.js';
import { COLLECTIONS, type MongoContext } from './mongodb-context.js';

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

  /** Applies what is pending; replicas starting together all succeed (convergeMigrations). */
  up(): Promise<string[]> {
    return convergeMigrations(
      () => this.ctx.guard('audit', () => this.apply()),
      () => this.status(),
    );
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

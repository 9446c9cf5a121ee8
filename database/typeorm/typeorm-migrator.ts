import { MigrationExecutor } from 'typeorm';
import type { MigrationStatus, Migrator } from '../../src/repositories/ports.js';
import { convergeMigrations, newerSchema } from '../../src/repositories/schema.js';
import type { Db } from './db.js';

/**
 * TypeORM migrations, bookkept in `polystore_migrations`. Never `synchronize`: the schema changes
 * only through the reviewed files under migrations/<dialect>.
 */
export class TypeormMigrator implements Migrator {
  constructor(
    private readonly db: Db,
    private readonly kind: string,
  ) {}

  async status(): Promise<MigrationStatus> {
    const known = this.known();
    const executed = await this.db.guard(() => new MigrationExecutor(this.db.dataSource).getExecutedMigrations());
    const applied = executed.sort((a, b) => (a.id ?? 0) - (b.id ?? 0)).map((m) => m.name);
    return {
      known,
      applied,
      pending: known.filter((name) => !applied.includes(name)),
      unknown: applied.filter((name) => !known.includes(name)),
    };
  }

  /**
   * The migrations in the order migrations/<dialect>/index.ts lists them. TypeORM runs them by the
   * timestamp ending each name, so a list out of that order is a mistake in the build.
   */
  private known(): string[] {
    const names = this.db.dataSource.migrations.map((m) => m.name ?? m.constructor.name);
    const stamps = names.map((name) => Number(name.slice(-13)));
    if (stamps.some((stamp, i) => i > 0 && stamp <= stamps[i - 1]!)) {
      throw new Error(`migrations must be listed in timestamp order: ${names.join(', ')}`);
    }
    return names;
  }

  /**
   * Applies what is pending under the dialect's migration lock, so replicas starting together
   * take turns (see convergeMigrations for backends without one).
   */
  up(): Promise<string[]> {
    return convergeMigrations(
      () => this.db.dialect.lockMigrations(() => this.applyPending()),
      () => this.status(),
    );
  }

  private async applyPending(): Promise<string[]> {
    const before = await this.status();
    if (before.unknown.length > 0) throw newerSchema(this.kind, before.unknown);
    if (before.pending.length === 0) return [];
    // One transaction per migration; MySQL/MariaDB commit DDL implicitly, so there a failed
    // migration can leave part of its statements applied (see DIALECTS.md).
    const ran = await this.db.guard(() => this.db.dataSource.runMigrations({ transaction: 'each' }));
    return ran.map((m) => m.name);
  }
}

import type { Db } from 'mongodb';

/**
 * One versioned change to a MongoDB database. `up` must be safe to run again after an
 * interruption (create what is missing, set what should be set): MongoDB has no transactional
 * DDL, so a migration is recorded in `polystore_migrations` only after `up` completed.
 */
export interface MongoMigration {
  /** Sortable, unique and never reused: `NNNN-what-it-does`. */
  readonly name: string;
  up(db: Db): Promise<void>;
}

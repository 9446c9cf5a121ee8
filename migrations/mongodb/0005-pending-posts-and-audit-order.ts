import { MongoServerError } from 'mongodb';
import { ensureCollection, VALIDATORS } from './0001-collections.js';
import type { MongoMigration } from './migration.js';

const INDEX_NOT_FOUND = 27;

/**
 * Issue 15, for deployments migrated before it:
 * - the conversation validator types `_pendingPosts`, the reservations that make a standalone
 *   post count once (database/mongodb/posting.ts), and the partial index
 *   `conversations_pending_posts` lets recovery find interrupted ones with an index probe;
 * - `audit_entity_at_id` ({entity, entityId, at, _id}) returns an entity's audit entries in their
 *   listing order straight from the index; `audit_entity_at` sorted the ties on `_id` in memory
 *   and is dropped.
 * Safe to run again: collMod and createIndexes are idempotent, and a missing index to drop is fine.
 */
export const pendingPostsAndAuditOrder: MongoMigration = {
  name: '0005-pending-posts-and-audit-order',
  async up(db) {
    await ensureCollection(db, 'conversations', VALIDATORS.conversations!);
    await db.collection('conversations').createIndexes([
      {
        key: { '_pendingPosts.at': 1 },
        name: 'conversations_pending_posts',
        partialFilterExpression: { '_pendingPosts.at': { $exists: true } },
      },
    ]);
    await db
      .collection('audit')
      .createIndexes([{ key: { entity: 1, entityId: 1, at: 1, _id: 1 }, name: 'audit_entity_at_id' }]);
    try {
      await db.collection('audit').dropIndex('audit_entity_at');
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === INDEX_NOT_FOUND)) throw error;
    }
  },
};

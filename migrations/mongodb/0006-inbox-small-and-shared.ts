import { MongoServerError, type Document } from 'mongodb';
import { ensureCollection, VALIDATORS } from './0001-collections.js';
import type { MongoMigration } from './migration.js';

const INDEX_NOT_FOUND = 27;
/** The adapter's SHARED_ABOVE when this migration was written; a migration keeps its own copy, as history. */
const SHARED_ABOVE = 32;

/**
 * A user's conversation list without one index write per member and post (issues 13 and 15;
 * database/mongodb/DESIGN.md, "The inbox"). `conversations_participant_activity`
 * {participants.userId, activityAt, _id} held one key per member, and every post moved all of
 * them. Now each conversation stores `shared` (more than SHARED_ABOVE members):
 * - `conversations_inbox_small`, the same keys but partial on `shared: false`: a post rewrites at
 *   most SHARED_ABOVE keys there;
 * - `conversations_inbox_shared` {participants.userId}, partial on `shared: true`: nothing a post
 *   changes, so a post to a large conversation writes no per-member key at all.
 *
 * Steps, each safe to run again: derive `shared` where it is missing (from the stored members),
 * drop the old index (before creating one with its key pattern: servers before 5.0 allow only one
 * index per key pattern), create the two, and set the conversations validator with `shared`
 * required — after the backfill, so no stored conversation breaks it.
 */
export function conversationsValidator(): Document {
  const validator = structuredClone(VALIDATORS.conversations) as Document;
  validator.required = [...validator.required, 'shared'];
  validator.properties.shared = { bsonType: 'bool' };
  return validator;
}

export const inboxSmallAndShared: MongoMigration = {
  name: '0006-inbox-small-and-shared',
  async up(db) {
    const conversations = db.collection('conversations');
    await conversations.updateMany({ shared: { $exists: false } }, [
      { $set: { shared: { $gt: [{ $size: { $ifNull: ['$participants', []] } }, SHARED_ABOVE] } } },
    ]);
    try {
      await conversations.dropIndex('conversations_participant_activity');
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === INDEX_NOT_FOUND)) throw error;
    }
    await conversations.createIndexes([
      {
        key: { 'participants.userId': 1, activityAt: -1, _id: -1 },
        name: 'conversations_inbox_small',
        partialFilterExpression: { shared: false },
      },
      {
        key: { 'participants.userId': 1 },
        name: 'conversations_inbox_shared',
        partialFilterExpression: { shared: true },
      },
    ]);
    await ensureCollection(db, 'conversations', conversationsValidator());
  },
};

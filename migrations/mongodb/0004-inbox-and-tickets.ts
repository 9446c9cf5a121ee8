import { ensureCollection } from './0001-collections.js';
import type { MongoMigration } from './migration.js';

/**
 * The inbox stream and shared stream tickets (issue 11), as on the SQL backends:
 * `participant_removals` (who left which conversation when; the participant entry is gone from
 * the conversation document) and `stream_ticket_uses` (redeemed ticket nonces until they expire,
 * `_id` = nonce, so a second redemption anywhere fails the unique `_id`). Both are pruned by the
 * gateway's periodic job.
 */
const date = { bsonType: 'date' };
const string = { bsonType: 'string' };

export const REMOVAL_VALIDATOR = {
  bsonType: 'object',
  required: ['_id', 'userId', 'conversationId', 'at', 'reason'],
  properties: {
    _id: string,
    userId: string,
    conversationId: string,
    at: date,
    reason: { enum: ['removed', 'deleted'] },
  },
};

export const TICKET_USE_VALIDATOR = {
  bsonType: 'object',
  required: ['_id', 'expiresAt'],
  properties: { _id: string, expiresAt: date },
};

export const inboxAndTickets: MongoMigration = {
  name: '0004-inbox-and-tickets',
  async up(db) {
    await ensureCollection(db, 'participant_removals', REMOVAL_VALIDATOR);
    await db.collection('participant_removals').createIndexes([
      { key: { userId: 1, at: 1, conversationId: 1 }, name: 'participant_removals_user_at' },
      { key: { at: 1 }, name: 'participant_removals_at' },
    ]);
    await ensureCollection(db, 'stream_ticket_uses', TICKET_USE_VALIDATOR);
    await db
      .collection('stream_ticket_uses')
      .createIndexes([{ key: { expiresAt: 1 }, name: 'stream_ticket_uses_expires' }]);
  },
};

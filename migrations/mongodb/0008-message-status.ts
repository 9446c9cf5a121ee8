import type { Document } from 'mongodb';
import { ensureCollection } from './0001-collections.js';
import { messagesValidator as opaquePartsValidator } from './0007-opaque-parts-and-batches.js';
import type { MongoMigration } from './migration.js';

/**
 * Streamed messages (issue 12): every message may carry a `status` (`completed`, `in_progress`,
 * `incomplete`; absent on older documents, which read as completed) and a `statusReason` (a
 * string for an incomplete message, else null), and while in progress `_streamTouchedAt`, when
 * its stream last took an append. The partial index `messages_stream_touched` holds only the
 * documents that have that field — the messages streaming now — so the sweep that ends idle
 * streams costs an index probe. The validator is 0007's with the three fields typed. Safe to run
 * again: collMod with the same validator and createIndexes with the same specification are no-ops.
 */
export const MESSAGE_STATUSES = ['completed', 'in_progress', 'incomplete'] as const;

export function messagesValidator(): Document {
  const validator = opaquePartsValidator();
  validator.properties.status = { enum: [...MESSAGE_STATUSES] };
  validator.properties.statusReason = { bsonType: ['string', 'null'] };
  validator.properties._streamTouchedAt = { bsonType: 'date' };
  return validator;
}

export const messageStatus: MongoMigration = {
  name: '0008-message-status',
  async up(db) {
    await ensureCollection(db, 'messages', messagesValidator());
    await db.collection('messages').createIndexes([
      {
        key: { _streamTouchedAt: 1, _id: 1 },
        name: 'messages_stream_touched',
        partialFilterExpression: { _streamTouchedAt: { $exists: true } },
      },
    ]);
  },
};

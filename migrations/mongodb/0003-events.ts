import { ensureCollection } from './0001-collections.js';
import type { MongoMigration } from './migration.js';

/**
 * The per-conversation event log (issue 11): an `events` collection, one document per event with
 * `_id` `<conversationId>:<seq>`, a unique (conversationId, seq) index, and indexes for pruning
 * by age and for finding a participant's latest join. The last seq given out lives on the
 * conversation document as `eventSeq` (an extra field; the conversation validator allows it).
 */
const date = { bsonType: 'date' };
const string = { bsonType: 'string' };

export const EVENT_VALIDATOR = {
  bsonType: 'object',
  required: ['_id', 'conversationId', 'seq', 'type', 'at', 'actorId', 'subject', 'data'],
  properties: {
    _id: string,
    conversationId: string,
    seq: { bsonType: ['int', 'long'], minimum: 1 },
    type: string,
    at: date,
    actorId: string,
    subject: string,
    data: { bsonType: 'object' },
  },
};

export const events: MongoMigration = {
  name: '0003-events',
  async up(db) {
    await ensureCollection(db, 'events', EVENT_VALIDATOR);
    await db.collection('events').createIndexes([
      { key: { conversationId: 1, seq: 1 }, name: 'events_conversation_seq_unique', unique: true },
      { key: { at: 1 }, name: 'events_at' },
      { key: { conversationId: 1, subject: 1, seq: 1 }, name: 'events_conversation_subject' },
    ]);
  },
};

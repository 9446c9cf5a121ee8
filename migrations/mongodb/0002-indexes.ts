import type { MongoMigration } from './migration.js';

/**
 * The indexes every query of the adapter uses. createIndexes is idempotent for an identical
 * specification, so running this again is harmless.
 *
 * The `*_outbox`, `*_deleting` and `*_uncounted` indexes are partial: they hold only documents
 * with pending bookkeeping (normally none), so the recovery sweep costs an index probe.
 */
export const indexes: MongoMigration = {
  name: '0002-indexes',
  async up(db) {
    const outbox = {
      key: { '_outbox.entity': 1, '_outbox.entityId': 1 },
      partialFilterExpression: { '_outbox._id': { $exists: true } },
    };
    await db.collection('users').createIndexes([
      { key: { handle: 1 }, name: 'users_handle_unique', unique: true },
      { ...outbox, name: 'users_outbox' },
    ]);
    await db.collection('conversations').createIndexes([
      // listForUser: a user's conversations by (activityAt, _id) descending, via the multikey participants.userId.
      { key: { 'participants.userId': 1, activityAt: -1, _id: -1 }, name: 'conversations_participant_activity' },
      {
        key: { _deletingAt: 1 },
        name: 'conversations_deleting',
        partialFilterExpression: { _deletingAt: { $exists: true } },
      },
      { ...outbox, name: 'conversations_outbox' },
    ]);
    await db.collection('messages').createIndexes([
      // Keyset pages in both directions.
      { key: { conversationId: 1, createdAt: 1, _id: 1 }, name: 'messages_conversation_created' },
      // Idempotent posts. Partial, so messages without a clientMessageId (null) never collide.
      {
        key: { conversationId: 1, clientMessageId: 1 },
        name: 'messages_client_message_unique',
        unique: true,
        partialFilterExpression: { clientMessageId: { $type: 'string' } },
      },
      {
        key: { _uncountedAt: 1 },
        name: 'messages_uncounted',
        partialFilterExpression: { _uncountedAt: { $exists: true } },
      },
      { ...outbox, name: 'messages_outbox' },
    ]);
    await db.collection('audit').createIndexes([{ key: { entity: 1, entityId: 1, at: 1 }, name: 'audit_entity_at' }]);
  },
};

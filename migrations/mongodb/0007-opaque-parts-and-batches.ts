import type { Document } from 'mongodb';
import { ensureCollection, VALIDATORS } from './0001-collections.js';
import type { MongoMigration } from './migration.js';

/**
 * For the OpenAI-compatible API: content parts of kind `opaque` (what it keeps for item and part
 * kinds the domain has none for; src/domain/models.ts, OpaquePart), and `_batch`, the adapter's
 * mark on the messages of a postMany in flight (DESIGN.md, "Posting a batch"). The messages
 * validator of 0001 lists the part kinds and types the bookkeeping fields; this sets it again with
 * both added. The `openai` extras parts may carry need nothing: validators allow extra fields.
 * Idempotent, like every MongoDB migration (collMod with the same validator).
 */
export const PART_KINDS = ['text', 'tool_call', 'tool_result', 'file', 'opaque'] as const;

export function messagesValidator(): Document {
  const validator = structuredClone(VALIDATORS.messages) as Document;
  validator.properties.content.items.properties.type = { enum: [...PART_KINDS] };
  validator.properties._batch = { bsonType: 'array', items: { bsonType: 'string' } };
  return validator;
}

export const opaquePartsAndBatches: MongoMigration = {
  name: '0007-opaque-parts-and-batches',
  async up(db) {
    await ensureCollection(db, 'messages', messagesValidator());
  },
};

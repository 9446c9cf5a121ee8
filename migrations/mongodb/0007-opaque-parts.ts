import type { Document } from 'mongodb';
import { ensureCollection, VALIDATORS } from './0001-collections.js';
import type { MongoMigration } from './migration.js';

/**
 * Content parts of kind `opaque` (what the OpenAI-compatible API keeps for item and part kinds the
 * domain has none for; src/domain/models.ts, OpaquePart). The messages validator of 0001 lists
 * the part kinds; this sets it again with `opaque` added. Nothing else changes: the `openai`
 * extras parts may carry are an extra field, which the validators allow. Idempotent, like every
 * MongoDB migration (collMod with the same validator).
 */
export const PART_KINDS = ['text', 'tool_call', 'tool_result', 'file', 'opaque'] as const;

export function messagesValidator(): Document {
  const validator = structuredClone(VALIDATORS.messages) as Document;
  validator.properties.content.items.properties.type = { enum: [...PART_KINDS] };
  return validator;
}

export const opaqueParts: MongoMigration = {
  name: '0007-opaque-parts',
  async up(db) {
    await ensureCollection(db, 'messages', messagesValidator());
  },
};

import { MongoServerError, type Db, type Document } from 'mongodb';
import type { MongoMigration } from './migration.js';

/**
 * The four collections, each with a $jsonSchema validator for the fields every backend stores.
 * Bookkeeping fields of the adapter (`_outbox`, `_pendingPosts`, `_recentPosts`, `_deletingAt`,
 * `_uncountedAt`) are allowed and typed; other extra fields are allowed too, so a newer build can
 * add fields before an older one is gone. Dates are BSON dates; ids are strings (the domain's ids, as `_id`).
 */

const NAMESPACE_EXISTS = 48;

const date = { bsonType: 'date' };
const dateOrNull = { bsonType: ['date', 'null'] };
const string = { bsonType: 'string' };
const count = { bsonType: ['int', 'long'], minimum: 0 };
const version = { bsonType: ['int', 'long'], minimum: 1 };
const stringMap = { bsonType: 'object', additionalProperties: { bsonType: 'string' } };
const outbox = { bsonType: 'array', items: { bsonType: 'object', required: ['_id', 'entity', 'entityId', 'at'] } };

export const VALIDATORS: Record<string, Document> = {
  users: {
    bsonType: 'object',
    required: ['_id', 'handle', 'displayName', 'createdAt', 'updatedAt', 'version'],
    properties: {
      _id: string,
      handle: string,
      displayName: string,
      createdAt: date,
      updatedAt: date,
      version,
      _outbox: outbox,
    },
  },
  conversations: {
    bsonType: 'object',
    required: [
      '_id',
      'title',
      'metadata',
      'createdBy',
      'createdAt',
      'updatedAt',
      'lastMessageAt',
      'activityAt',
      'messageCount',
      'version',
      'participants',
    ],
    properties: {
      _id: string,
      title: { bsonType: ['string', 'null'] },
      metadata: stringMap,
      createdBy: string,
      createdAt: date,
      updatedAt: date,
      lastMessageAt: dateOrNull,
      activityAt: date,
      messageCount: count,
      version,
      participants: {
        bsonType: 'array',
        items: {
          bsonType: 'object',
          required: ['userId', 'role', 'joinedAt'],
          properties: { userId: string, role: { enum: ['owner', 'member'] }, joinedAt: date },
        },
      },
      _outbox: outbox,
      _pendingPosts: {
        bsonType: 'array',
        items: {
          bsonType: 'object',
          required: ['id', 'at', 'counted'],
          properties: {
            id: string,
            size: { bsonType: ['int', 'long'], minimum: 1 },
            at: date,
            counted: { bsonType: 'bool' },
          },
        },
      },
      _recentPosts: { bsonType: 'array', items: string },
      _deletingAt: date,
    },
  },
  messages: {
    bsonType: 'object',
    required: [
      '_id',
      'conversationId',
      'authorId',
      'role',
      'content',
      'metadata',
      'clientMessageId',
      'createdAt',
      'editedAt',
      'deletedAt',
      'version',
    ],
    properties: {
      _id: string,
      conversationId: string,
      authorId: string,
      role: { enum: ['user', 'assistant', 'system', 'tool'] },
      content: {
        bsonType: 'array',
        items: {
          bsonType: 'object',
          required: ['type'],
          properties: { type: { enum: ['text', 'tool_call', 'tool_result', 'file'] } },
        },
      },
      metadata: stringMap,
      clientMessageId: { bsonType: ['string', 'null'] },
      createdAt: date,
      editedAt: dateOrNull,
      deletedAt: dateOrNull,
      version,
      _outbox: outbox,
      _uncountedAt: date,
    },
  },
  audit: {
    bsonType: 'object',
    required: ['_id', 'actorId', 'action', 'entity', 'entityId', 'at', 'diff'],
    properties: {
      _id: string,
      actorId: string,
      action: { enum: ['create', 'update', 'delete'] },
      entity: { enum: ['user', 'conversation', 'participant', 'message'] },
      entityId: string,
      at: date,
      diff: { bsonType: 'object' },
    },
  },
};

/** Creates the collection with its validator, or sets the validator on one that exists. */
export async function ensureCollection(db: Db, name: string, $jsonSchema: Document): Promise<void> {
  const validation = { validator: { $jsonSchema }, validationLevel: 'strict', validationAction: 'error' } as const;
  try {
    await db.createCollection(name, validation);
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === NAMESPACE_EXISTS)) throw error;
    await db.command({ collMod: name, ...validation });
  }
}

export const collections: MongoMigration = {
  name: '0001-collections',
  async up(db) {
    for (const [name, schema] of Object.entries(VALIDATORS)) await ensureCollection(db, name, schema);
  },
};

import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import type { ColumnTypes } from './dialects/dialect.js';

/**
 * TypeORM's view of the six tables, as EntitySchemas (tsx and vitest compile with esbuild, which
 * emits no decorator metadata). The migrations create the tables; these schemas only describe
 * them to TypeORM, and the backend contract tests check that TypeORM's schema builder finds
 * nothing to change after the migrations ran. Data moves through parameterized SQL and
 * row-mapper.ts, not entity hydration.
 */

type Kind = keyof ColumnTypes;

function columnsOf(types: ColumnTypes) {
  return (kind: Kind, name: string, options: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => {
    const { type, ...rest } = types[kind];
    return { type: type as EntitySchemaColumnOptions['type'], name, ...rest, ...options } as EntitySchemaColumnOptions;
  };
}

/** Lengths shared with the migrations (and bounded by src/domain/limits.ts). */
export const LENGTHS = {
  id: 128,
  handle: 64,
  displayName: 128,
  title: 256,
  role: 16,
  entityId: 256,
  eventType: 32,
  status: 16,
  statusReason: 32,
} as const;

export function buildEntitySchemas(types: ColumnTypes): EntitySchema[] {
  const col = columnsOf(types);
  const key = (name: string, options: Partial<EntitySchemaColumnOptions> = {}) =>
    col('key', name, { length: LENGTHS.id, ...options });
  const text = (name: string, length: number, options: Partial<EntitySchemaColumnOptions> = {}) =>
    col('text', name, { length, ...options });
  const lengthless = types.text.type === 'text'; // SQLite: TEXT has no length
  const sized = (c: EntitySchemaColumnOptions) => (lengthless ? { ...c, length: undefined } : c);

  const users = new EntitySchema<Record<string, unknown>>({
    name: 'users',
    tableName: 'users',
    columns: {
      id: sized(key('id', { primary: true, primaryKeyConstraintName: 'pk_users' })),
      handle: sized(key('handle', { length: LENGTHS.handle })),
      displayName: sized(text('display_name', LENGTHS.displayName)),
      createdAt: col('time', 'created_at'),
      updatedAt: col('time', 'updated_at'),
      version: col('int', 'version'),
    },
    uniques: [{ name: 'uq_users_handle', columns: ['handle'] }],
  });

  const conversations = new EntitySchema<Record<string, unknown>>({
    name: 'conversations',
    tableName: 'conversations',
    columns: {
      id: sized(key('id', { primary: true, primaryKeyConstraintName: 'pk_conversations' })),
      title: sized(text('title', LENGTHS.title, { nullable: true })),
      metadata: col('json', 'metadata'),
      createdBy: sized(key('created_by')),
      createdAt: col('time', 'created_at'),
      updatedAt: col('time', 'updated_at'),
      lastMessageAt: col('time', 'last_message_at', { nullable: true }),
      activityAt: col('time', 'activity_at'),
      messageCount: col('int', 'message_count'),
      version: col('int', 'version'),
      eventSeq: col('int', 'event_seq', { default: 0 }),
      // Kept by every change of the members; decides the inbox mode (database/typeorm/inbox-index.ts).
      memberCount: col('int', 'member_count', { default: 0 }),
    },
    indices: [{ name: 'ix_conversations_activity', columns: ['activityAt', 'id'] }],
  });

  const participants = new EntitySchema<Record<string, unknown>>({
    name: 'participants',
    tableName: 'participants',
    columns: {
      conversationId: sized(key('conversation_id', { primary: true, primaryKeyConstraintName: 'pk_participants' })),
      userId: sized(key('user_id', { primary: true, primaryKeyConstraintName: 'pk_participants' })),
      role: sized(text('role', LENGTHS.role)),
      joinedAt: col('time', 'joined_at'),
      // The conversation's activity copied for the inbox index; NULL for a shared conversation.
      activityAt: col('time', 'activity_at', { nullable: true }),
    },
    indices: [
      { name: 'ix_participants_user', columns: ['userId', 'conversationId'] },
      { name: 'ix_participants_inbox', columns: ['userId', 'activityAt', 'conversationId'] },
      // PostgreSQL only (migration 0006): an index on an expression, which an entity schema cannot
      // describe; `synchronize: false` leaves it to the migration.
      { name: 'ix_participants_shared', columns: ['userId', 'conversationId'], synchronize: false },
    ],
    foreignKeys: [
      {
        name: 'fk_participants_conversation',
        target: 'conversations',
        columnNames: ['conversationId'],
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      },
    ],
  });

  const messages = new EntitySchema<Record<string, unknown>>({
    name: 'messages',
    tableName: 'messages',
    columns: {
      id: sized(key('id', { primary: true, primaryKeyConstraintName: 'pk_messages' })),
      conversationId: sized(key('conversation_id')),
      authorId: sized(key('author_id')),
      role: sized(text('role', LENGTHS.role)),
      content: col('json', 'content'),
      metadata: col('json', 'metadata'),
      clientMessageId: sized(key('client_message_id', { nullable: true })),
      createdAt: col('time', 'created_at'),
      editedAt: col('time', 'edited_at', { nullable: true }),
      deletedAt: col('time', 'deleted_at', { nullable: true }),
      version: col('int', 'version'),
      // Migration 0005: streamed messages.
      status: sized(text('status', LENGTHS.status, { default: 'completed' })),
      statusReason: sized(text('status_reason', LENGTHS.statusReason, { nullable: true })),
      streamTouchedAt: col('time', 'stream_touched_at', { nullable: true }),
    },
    indices: [
      { name: 'ix_messages_conversation_created', columns: ['conversationId', 'createdAt', 'id'] },
      { name: 'ix_messages_stream', columns: ['status', 'streamTouchedAt'] },
      { name: 'uq_messages_client_message', columns: ['conversationId', 'clientMessageId'], unique: true },
    ],
    foreignKeys: [
      {
        name: 'fk_messages_conversation',
        target: 'conversations',
        columnNames: ['conversationId'],
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      },
    ],
  });

  const audit = new EntitySchema<Record<string, unknown>>({
    name: 'audit_entries',
    tableName: 'audit_entries',
    columns: {
      id: sized(key('id', { primary: true, primaryKeyConstraintName: 'pk_audit_entries' })),
      actorId: sized(key('actor_id')),
      action: sized(text('action', LENGTHS.role)),
      entity: sized(text('entity', LENGTHS.role)),
      entityId: sized(key('entity_id', { length: LENGTHS.entityId })),
      at: col('time', 'at'),
      diff: col('json', 'diff'),
    },
    indices: [{ name: 'ix_audit_entries_entity', columns: ['entity', 'entityId', 'at', 'id'] }],
  });

  // No foreign key to conversations: the log outlives a deleted conversation until pruned.
  const events = new EntitySchema<Record<string, unknown>>({
    name: 'conversation_events',
    tableName: 'conversation_events',
    columns: {
      conversationId: sized(
        key('conversation_id', { primary: true, primaryKeyConstraintName: 'pk_conversation_events' }),
      ),
      seq: col('int', 'seq', { primary: true, primaryKeyConstraintName: 'pk_conversation_events' }),
      type: sized(text('type', LENGTHS.eventType)),
      at: col('time', 'at'),
      actorId: sized(key('actor_id')),
      subject: sized(key('subject')),
      data: col('json', 'data'),
    },
    indices: [
      { name: 'ix_conversation_events_at', columns: ['at'] },
      { name: 'ix_conversation_events_subject', columns: ['conversationId', 'subject', 'seq'] },
    ],
  });

  return [users, conversations, participants, messages, audit, events];
}

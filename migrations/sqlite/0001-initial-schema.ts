import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema. Timestamps are INTEGER epoch milliseconds, JSON is TEXT checked by
 * json_valid(), keys use SQLite's default BINARY collation (code-point order). STRICT tables
 * refuse a value of the wrong type instead of silently storing it. Constraint names are quoted
 * because TypeORM reads them back from this SQL (with a regex that expects quotes) when it
 * compares the schema with the entity schemas.
 */
export class InitialSchema1763769600000 implements MigrationInterface {
  readonly name = 'InitialSchema1763769600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE users (
      id TEXT NOT NULL,
      handle TEXT NOT NULL,
      display_name TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      version INTEGER NOT NULL,
      CONSTRAINT pk_users PRIMARY KEY (id),
      CONSTRAINT "uq_users_handle" UNIQUE ("handle")
    ) STRICT`);

    await q.query(`CREATE TABLE conversations (
      id TEXT NOT NULL,
      title TEXT NULL,
      metadata TEXT NOT NULL CHECK (json_valid(metadata)),
      created_by TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      last_message_at INTEGER NULL,
      activity_at INTEGER NOT NULL,
      message_count INTEGER NOT NULL,
      version INTEGER NOT NULL,
      CONSTRAINT pk_conversations PRIMARY KEY (id)
    ) STRICT`);
    await q.query('CREATE INDEX ix_conversations_activity ON conversations (activity_at, id)');

    await q.query(`CREATE TABLE participants (
      conversation_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      role TEXT NOT NULL,
      joined_at INTEGER NOT NULL,
      CONSTRAINT pk_participants PRIMARY KEY (conversation_id, user_id),
      CONSTRAINT "fk_participants_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
    ) STRICT`);
    await q.query('CREATE INDEX ix_participants_user ON participants (user_id, conversation_id)');

    await q.query(`CREATE TABLE messages (
      id TEXT NOT NULL,
      conversation_id TEXT NOT NULL,
      author_id TEXT NOT NULL,
      role TEXT NOT NULL,
      content TEXT NOT NULL CHECK (json_valid(content)),
      metadata TEXT NOT NULL CHECK (json_valid(metadata)),
      client_message_id TEXT NULL,
      created_at INTEGER NOT NULL,
      edited_at INTEGER NULL,
      deleted_at INTEGER NULL,
      version INTEGER NOT NULL,
      CONSTRAINT pk_messages PRIMARY KEY (id),
      CONSTRAINT "fk_messages_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
    ) STRICT`);
    await q.query('CREATE INDEX ix_messages_conversation_created ON messages (conversation_id, created_at, id)');
    // NULL client ids never collide: SQLite treats NULLs in a unique index as distinct.
    await q.query('CREATE UNIQUE INDEX uq_messages_client_message ON messages (conversation_id, client_message_id)');

    await q.query(`CREATE TABLE audit_entries (
      id TEXT NOT NULL,
      actor_id TEXT NOT NULL,
      action TEXT NOT NULL,
      entity TEXT NOT NULL,
      entity_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      diff TEXT NOT NULL CHECK (json_valid(diff)),
      CONSTRAINT pk_audit_entries PRIMARY KEY (id)
    ) STRICT`);
    await q.query('CREATE INDEX ix_audit_entries_entity ON audit_entries (entity, entity_id, at, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_entries', 'messages', 'participants', 'conversations', 'users'])
      await q.query(`DROP TABLE ${table}`);
  }
}

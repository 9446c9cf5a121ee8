import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema, for MySQL 8 and MariaDB. DATETIME(3) holds UTC milliseconds (the connection
 * uses time zone `Z`); JSON columns are LONGTEXT checked by JSON_VALID, because MySQL's JSON type
 * stores a binary form and hands back reordered keys; every table is utf8mb4 with the binary
 * collation, so ids are case-sensitive and sort by code point.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

// MySQL and MariaDB commit each CREATE TABLE on its own (no transactional DDL), so a run that
// fails part-way (say, the user lacks REFERENCES for the foreign keys) leaves the first tables
// behind. IF NOT EXISTS lets the same migration run again once the cause is fixed; every key and
// constraint is declared inside its CREATE TABLE, so a table is either there whole or not at all.

export class InitialSchema1763769600000 implements MigrationInterface {
  readonly name = 'InitialSchema1763769600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS users (
      id VARCHAR(128) NOT NULL,
      handle VARCHAR(64) NOT NULL,
      display_name VARCHAR(128) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      version INT NOT NULL,
      CONSTRAINT pk_users PRIMARY KEY (id),
      CONSTRAINT uq_users_handle UNIQUE KEY (handle)
    ) ${TABLE_OPTIONS}`);

    await q.query(`CREATE TABLE IF NOT EXISTS conversations (
      id VARCHAR(128) NOT NULL,
      title VARCHAR(256) NULL,
      metadata LONGTEXT NOT NULL,
      created_by VARCHAR(128) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      last_message_at DATETIME(3) NULL,
      activity_at DATETIME(3) NOT NULL,
      message_count INT NOT NULL,
      version INT NOT NULL,
      CONSTRAINT pk_conversations PRIMARY KEY (id),
      INDEX ix_conversations_activity (activity_at, id),
      CONSTRAINT ck_conversations_metadata CHECK (JSON_VALID(metadata))
    ) ${TABLE_OPTIONS}`);

    await q.query(`CREATE TABLE IF NOT EXISTS participants (
      conversation_id VARCHAR(128) NOT NULL,
      user_id VARCHAR(128) NOT NULL,
      role VARCHAR(16) NOT NULL,
      joined_at DATETIME(3) NOT NULL,
      CONSTRAINT pk_participants PRIMARY KEY (conversation_id, user_id),
      INDEX ix_participants_user (user_id, conversation_id),
      CONSTRAINT fk_participants_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE ON UPDATE NO ACTION
    ) ${TABLE_OPTIONS}`);

    await q.query(`CREATE TABLE IF NOT EXISTS messages (
      id VARCHAR(128) NOT NULL,
      conversation_id VARCHAR(128) NOT NULL,
      author_id VARCHAR(128) NOT NULL,
      role VARCHAR(16) NOT NULL,
      content LONGTEXT NOT NULL,
      metadata LONGTEXT NOT NULL,
      client_message_id VARCHAR(128) NULL,
      created_at DATETIME(3) NOT NULL,
      edited_at DATETIME(3) NULL,
      deleted_at DATETIME(3) NULL,
      version INT NOT NULL,
      CONSTRAINT pk_messages PRIMARY KEY (id),
      INDEX ix_messages_conversation_created (conversation_id, created_at, id),
      CONSTRAINT uq_messages_client_message UNIQUE KEY (conversation_id, client_message_id),
      CONSTRAINT ck_messages_content CHECK (JSON_VALID(content)),
      CONSTRAINT ck_messages_metadata CHECK (JSON_VALID(metadata)),
      CONSTRAINT fk_messages_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE ON UPDATE NO ACTION
    ) ${TABLE_OPTIONS}`);

    await q.query(`CREATE TABLE IF NOT EXISTS audit_entries (
      id VARCHAR(128) NOT NULL,
      actor_id VARCHAR(128) NOT NULL,
      action VARCHAR(16) NOT NULL,
      entity VARCHAR(16) NOT NULL,
      entity_id VARCHAR(256) NOT NULL,
      at DATETIME(3) NOT NULL,
      diff LONGTEXT NOT NULL,
      CONSTRAINT pk_audit_entries PRIMARY KEY (id),
      INDEX ix_audit_entries_entity (entity, entity_id, at, id),
      CONSTRAINT ck_audit_entries_diff CHECK (JSON_VALID(diff))
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_entries', 'messages', 'participants', 'conversations', 'users'])
      await q.query(`DROP TABLE ${table}`);
  }
}

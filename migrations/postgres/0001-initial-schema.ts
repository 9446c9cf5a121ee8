import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema. timestamptz(3) keeps UTC milliseconds; JSON columns are `json` (stored as
 * written) rather than `jsonb` (which reorders keys); ids and other keys are COLLATE "C" so
 * comparisons and ORDER BY follow code points whatever the database's locale.
 */
export class InitialSchema1763769600000 implements MigrationInterface {
  readonly name = 'InitialSchema1763769600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE users (
      id varchar(128) COLLATE "C" NOT NULL,
      handle varchar(64) COLLATE "C" NOT NULL,
      display_name varchar(128) NOT NULL,
      created_at timestamptz(3) NOT NULL,
      updated_at timestamptz(3) NOT NULL,
      version integer NOT NULL,
      CONSTRAINT pk_users PRIMARY KEY (id),
      CONSTRAINT uq_users_handle UNIQUE (handle)
    )`);

    await q.query(`CREATE TABLE conversations (
      id varchar(128) COLLATE "C" NOT NULL,
      title varchar(256) NULL,
      metadata json NOT NULL,
      created_by varchar(128) COLLATE "C" NOT NULL,
      created_at timestamptz(3) NOT NULL,
      updated_at timestamptz(3) NOT NULL,
      last_message_at timestamptz(3) NULL,
      activity_at timestamptz(3) NOT NULL,
      message_count integer NOT NULL,
      version integer NOT NULL,
      CONSTRAINT pk_conversations PRIMARY KEY (id)
    )`);
    await q.query('CREATE INDEX ix_conversations_activity ON conversations (activity_at, id)');

    await q.query(`CREATE TABLE participants (
      conversation_id varchar(128) COLLATE "C" NOT NULL,
      user_id varchar(128) COLLATE "C" NOT NULL,
      role varchar(16) NOT NULL,
      joined_at timestamptz(3) NOT NULL,
      CONSTRAINT pk_participants PRIMARY KEY (conversation_id, user_id),
      CONSTRAINT fk_participants_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await q.query('CREATE INDEX ix_participants_user ON participants (user_id, conversation_id)');

    await q.query(`CREATE TABLE messages (
      id varchar(128) COLLATE "C" NOT NULL,
      conversation_id varchar(128) COLLATE "C" NOT NULL,
      author_id varchar(128) COLLATE "C" NOT NULL,
      role varchar(16) NOT NULL,
      content json NOT NULL,
      metadata json NOT NULL,
      client_message_id varchar(128) COLLATE "C" NULL,
      created_at timestamptz(3) NOT NULL,
      edited_at timestamptz(3) NULL,
      deleted_at timestamptz(3) NULL,
      version integer NOT NULL,
      CONSTRAINT pk_messages PRIMARY KEY (id),
      CONSTRAINT fk_messages_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await q.query('CREATE INDEX ix_messages_conversation_created ON messages (conversation_id, created_at, id)');
    // NULLs are distinct in a unique index (the PostgreSQL default), so messages without a client id never collide.
    await q.query('CREATE UNIQUE INDEX uq_messages_client_message ON messages (conversation_id, client_message_id)');

    await q.query(`CREATE TABLE audit_entries (
      id varchar(128) COLLATE "C" NOT NULL,
      actor_id varchar(128) COLLATE "C" NOT NULL,
      action varchar(16) NOT NULL,
      entity varchar(16) NOT NULL,
      entity_id varchar(256) COLLATE "C" NOT NULL,
      at timestamptz(3) NOT NULL,
      diff json NOT NULL,
      CONSTRAINT pk_audit_entries PRIMARY KEY (id)
    )`);
    await q.query('CREATE INDEX ix_audit_entries_entity ON audit_entries (entity, entity_id, at, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_entries', 'messages', 'participants', 'conversations', 'users'])
      await q.query(`DROP TABLE ${table}`);
  }
}

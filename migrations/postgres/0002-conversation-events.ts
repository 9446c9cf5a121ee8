import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-conversation event log (issue 11). `conversations.event_seq` is the last seq given out,
 * bumped in the same transaction as each change; `conversation_events` holds the events, keyed
 * (conversation_id, seq). No foreign key on purpose: the log outlives a deleted conversation
 * until retention prunes it, so a feed can deliver the final `conversation.deleted`.
 */
export class ConversationEvents1765000000000 implements MigrationInterface {
  readonly name = 'ConversationEvents1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE conversations ADD COLUMN event_seq integer NOT NULL DEFAULT 0');
    await q.query(`CREATE TABLE conversation_events (
      conversation_id varchar(128) COLLATE "C" NOT NULL,
      seq integer NOT NULL,
      type varchar(32) NOT NULL,
      at timestamptz(3) NOT NULL,
      actor_id varchar(128) COLLATE "C" NOT NULL,
      subject varchar(128) COLLATE "C" NOT NULL,
      data json NOT NULL,
      CONSTRAINT pk_conversation_events PRIMARY KEY (conversation_id, seq)
    )`);
    await q.query('CREATE INDEX ix_conversation_events_at ON conversation_events (at)');
    await q.query('CREATE INDEX ix_conversation_events_subject ON conversation_events (conversation_id, subject, seq)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE conversation_events');
    await q.query('ALTER TABLE conversations DROP COLUMN event_seq');
  }
}

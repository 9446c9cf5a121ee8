import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-conversation event log (issue 11), for MySQL 8 and MariaDB. `conversations.event_seq`
 * is the last seq given out, bumped in the same transaction as each change; `conversation_events`
 * holds the events, keyed (conversation_id, seq). No foreign key on purpose: the log outlives a
 * deleted conversation until retention prunes it, so a feed can deliver the final
 * `conversation.deleted`.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export class ConversationEvents1765000000000 implements MigrationInterface {
  readonly name = 'ConversationEvents1765000000000';

  // Safe to run again after failing part-way (MySQL/MariaDB commit DDL statement by statement):
  // the column is added only when missing, the table only when absent.
  async up(q: QueryRunner): Promise<void> {
    const existing = (await q.query(
      "SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'conversations' AND column_name = 'event_seq'",
    )) as { n: number | string }[];
    if (Number(existing[0]?.n ?? 0) === 0) {
      await q.query('ALTER TABLE conversations ADD COLUMN event_seq INT NOT NULL DEFAULT 0');
    }
    await q.query(`CREATE TABLE IF NOT EXISTS conversation_events (
      conversation_id VARCHAR(128) NOT NULL,
      seq INT NOT NULL,
      type VARCHAR(32) NOT NULL,
      at DATETIME(3) NOT NULL,
      actor_id VARCHAR(128) NOT NULL,
      subject VARCHAR(128) NOT NULL,
      data LONGTEXT NOT NULL,
      CONSTRAINT pk_conversation_events PRIMARY KEY (conversation_id, seq),
      INDEX ix_conversation_events_at (at),
      INDEX ix_conversation_events_subject (conversation_id, subject, seq),
      CONSTRAINT ck_conversation_events_data CHECK (JSON_VALID(data))
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE conversation_events');
    await q.query('ALTER TABLE conversations DROP COLUMN event_seq');
  }
}

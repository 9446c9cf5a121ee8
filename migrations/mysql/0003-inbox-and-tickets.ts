import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox stream and shared stream tickets (issue 11); see the PostgreSQL migration of the
 * same name for what each table is for.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export class InboxAndTickets1766000000000 implements MigrationInterface {
  readonly name = 'InboxAndTickets1766000000000';

  // Safe to run again after failing part-way (MySQL/MariaDB commit DDL statement by statement).
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS participant_removals (
      user_id VARCHAR(128) NOT NULL,
      at DATETIME(3) NOT NULL,
      conversation_id VARCHAR(128) NOT NULL,
      reason VARCHAR(16) NOT NULL,
      CONSTRAINT pk_participant_removals PRIMARY KEY (user_id, at, conversation_id),
      INDEX ix_participant_removals_at (at)
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE IF NOT EXISTS stream_ticket_uses (
      nonce VARCHAR(64) NOT NULL,
      expires_at DATETIME(3) NOT NULL,
      CONSTRAINT pk_stream_ticket_uses PRIMARY KEY (nonce),
      INDEX ix_stream_ticket_uses_expires (expires_at)
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE stream_ticket_uses');
    await q.query('DROP TABLE participant_removals');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox stream and shared stream tickets (issue 11); see the PostgreSQL migration of the
 * same name for what each table is for. Times are epoch milliseconds, as everywhere on SQLite.
 */
export class InboxAndTickets1766000000000 implements MigrationInterface {
  readonly name = 'InboxAndTickets1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE participant_removals (
      user_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      conversation_id TEXT NOT NULL,
      reason TEXT NOT NULL,
      CONSTRAINT pk_participant_removals PRIMARY KEY (user_id, at, conversation_id)
    ) STRICT`);
    await q.query('CREATE INDEX ix_participant_removals_at ON participant_removals (at)');
    await q.query(`CREATE TABLE stream_ticket_uses (
      nonce TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      CONSTRAINT pk_stream_ticket_uses PRIMARY KEY (nonce)
    ) STRICT`);
    await q.query('CREATE INDEX ix_stream_ticket_uses_expires ON stream_ticket_uses (expires_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE stream_ticket_uses');
    await q.query('DROP TABLE participant_removals');
  }
}

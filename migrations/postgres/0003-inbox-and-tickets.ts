import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox stream and shared stream tickets (issue 11).
 * - `participant_removals`: who left which conversation when (removed, or the conversation was
 *   deleted): the participant row is gone, so this is what tells a user's inbox stream. Pruned
 *   with the event log (EVENTS_RETENTION_S).
 * - `stream_ticket_uses`: the nonce of every redeemed stream ticket until it expires, so a ticket
 *   is single-use across every gateway instance on the database, not only per process.
 */
export class InboxAndTickets1766000000000 implements MigrationInterface {
  readonly name = 'InboxAndTickets1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE participant_removals (
      user_id varchar(128) COLLATE "C" NOT NULL,
      at timestamptz(3) NOT NULL,
      conversation_id varchar(128) COLLATE "C" NOT NULL,
      reason varchar(16) NOT NULL,
      CONSTRAINT pk_participant_removals PRIMARY KEY (user_id, at, conversation_id)
    )`);
    await q.query('CREATE INDEX ix_participant_removals_at ON participant_removals (at)');
    await q.query(`CREATE TABLE stream_ticket_uses (
      nonce varchar(64) COLLATE "C" NOT NULL,
      expires_at timestamptz(3) NOT NULL,
      CONSTRAINT pk_stream_ticket_uses PRIMARY KEY (nonce)
    )`);
    await q.query('CREATE INDEX ix_stream_ticket_uses_expires ON stream_ticket_uses (expires_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE stream_ticket_uses');
    await q.query('DROP TABLE participant_removals');
  }
}

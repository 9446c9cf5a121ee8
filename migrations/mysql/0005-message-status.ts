import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Streamed messages (issue 12); see the PostgreSQL migration of the same name for what each
 * column is for. MySQL has no partial index: ix_messages_stream (status, stream_touched_at) gives
 * the sweep a range of the in_progress rows all the same.
 */
export class MessageStatus1768000000000 implements MigrationInterface {
  readonly name = 'MessageStatus1768000000000';

  // Safe to run again after failing part-way (MySQL/MariaDB commit DDL statement by statement):
  // the columns and the index come in one ALTER TABLE, which lands whole or not at all, and only
  // when the first column is not there yet (MySQL 8 has no ADD COLUMN IF NOT EXISTS).
  async up(q: QueryRunner): Promise<void> {
    const [found] = (await q.query(
      `SELECT COUNT(*) AS n FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'messages' AND COLUMN_NAME = 'status'`,
    )) as Array<{ n: number | string }>;
    if (Number(found?.n ?? 0) > 0) return;
    await q.query(`ALTER TABLE messages
      ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'completed',
      ADD COLUMN status_reason VARCHAR(32) NULL,
      ADD COLUMN stream_touched_at DATETIME(3) NULL,
      ADD INDEX ix_messages_stream (status, stream_touched_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE messages DROP INDEX ix_messages_stream, DROP COLUMN stream_touched_at, DROP COLUMN status_reason, DROP COLUMN status',
    );
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Streamed messages (issue 12); see the PostgreSQL migration of the same name. Times are epoch
 * milliseconds, as everywhere on SQLite; SQLite adds one column per ALTER TABLE.
 */
export class MessageStatus1768000000000 implements MigrationInterface {
  readonly name = 'MessageStatus1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'completed'`);
    await q.query('ALTER TABLE messages ADD COLUMN status_reason TEXT NULL');
    await q.query('ALTER TABLE messages ADD COLUMN stream_touched_at INTEGER NULL');
    await q.query('CREATE INDEX ix_messages_stream ON messages (status, stream_touched_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_messages_stream');
    await q.query('ALTER TABLE messages DROP COLUMN stream_touched_at');
    await q.query('ALTER TABLE messages DROP COLUMN status_reason');
    await q.query('ALTER TABLE messages DROP COLUMN status');
  }
}

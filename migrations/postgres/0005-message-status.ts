import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Streamed messages (issue 12). Every message has a `status` — `completed` (all messages so far),
 * `in_progress` while its author appends to it, `incomplete` when it ended early — and a
 * `status_reason` for the incomplete ones. `stream_touched_at` is when an in_progress message last
 * took an append (NULL otherwise); the sweep that ends idle streams finds them by
 * ix_messages_stream (status, stream_touched_at): a range of the in_progress rows, oldest first.
 */
export class MessageStatus1768000000000 implements MigrationInterface {
  readonly name = 'MessageStatus1768000000000';

  async up(q: QueryRunner): Promise<void> {
    // A constant default: PostgreSQL adds the columns without rewriting the table.
    await q.query(`ALTER TABLE messages
      ADD COLUMN status varchar(16) NOT NULL DEFAULT 'completed',
      ADD COLUMN status_reason varchar(32) NULL,
      ADD COLUMN stream_touched_at timestamptz(3) NULL`);
    await q.query('CREATE INDEX ix_messages_stream ON messages (status, stream_touched_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_messages_stream');
    await q.query('ALTER TABLE messages DROP COLUMN stream_touched_at, DROP COLUMN status_reason, DROP COLUMN status');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-user inbox index (issue 13); see the PostgreSQL migration of the same name. Times are
 * epoch milliseconds, as everywhere on SQLite.
 */
export class InboxIndex1767000000000 implements MigrationInterface {
  readonly name = 'InboxIndex1767000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE conversations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0');
    await q.query(
      'UPDATE conversations SET member_count = (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = conversations.id)',
    );
    await q.query('ALTER TABLE participants ADD COLUMN activity_at INTEGER');
    await q.query(
      `UPDATE participants SET activity_at = (SELECT c.activity_at FROM conversations c WHERE c.id = participants.conversation_id AND c.member_count <= 32)`,
    );
    await q.query(
      'CREATE INDEX ix_participants_inbox ON participants (user_id, activity_at DESC, conversation_id DESC)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_participants_inbox');
    await q.query('ALTER TABLE participants DROP COLUMN activity_at');
    await q.query('ALTER TABLE conversations DROP COLUMN member_count');
  }
}

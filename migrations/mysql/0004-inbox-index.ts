import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-user inbox index (issue 13), for MySQL 8 and MariaDB; see the PostgreSQL migration of
 * the same name for what each column is for.
 */
export class InboxIndex1767000000000 implements MigrationInterface {
  readonly name = 'InboxIndex1767000000000';

  // Safe to run again after failing part-way (MySQL/MariaDB commit DDL statement by statement):
  // each column is added only when missing (the index with its column, in one ALTER), and the
  // backfills compute the same values however often they run.
  async up(q: QueryRunner): Promise<void> {
    if (!(await hasColumn(q, 'conversations', 'member_count'))) {
      await q.query('ALTER TABLE conversations ADD COLUMN member_count INT NOT NULL DEFAULT 0');
    }
    await q.query(
      'UPDATE conversations c SET member_count = (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = c.id)',
    );
    if (!(await hasColumn(q, 'participants', 'activity_at'))) {
      await q.query(
        'ALTER TABLE participants ADD COLUMN activity_at DATETIME(3) NULL, ADD INDEX ix_participants_inbox (user_id, activity_at DESC, conversation_id DESC)',
      );
    }
    await q.query(
      'UPDATE participants p JOIN conversations c ON c.id = p.conversation_id SET p.activity_at = CASE WHEN c.member_count <= 32 THEN c.activity_at ELSE NULL END',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE participants DROP INDEX ix_participants_inbox, DROP COLUMN activity_at');
    await q.query('ALTER TABLE conversations DROP COLUMN member_count');
  }
}

async function hasColumn(q: QueryRunner, table: string, column: string): Promise<boolean> {
  // Literal names (our own constants), as the other migrations write them.
  const rows = (await q.query(
    `SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '${table}' AND column_name = '${column}'`,
  )) as { n: number | string }[];
  return Number(rows[0]?.n ?? 0) > 0;
}

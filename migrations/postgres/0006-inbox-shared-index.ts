import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The shared half of the inbox listing with statistics of its own (issue 13). A user's shared
 * conversations (over 32 members) are their member rows with `activity_at` NULL. PostgreSQL
 * estimates `user_id = ? AND activity_at IS NULL` as the user's share of the table times the
 * table's NULL share, with no knowledge that the two are unrelated: for a user holding a large
 * share of all member rows and in no shared conversation it expects thousands of rows, and when
 * posts have left the pages not all-visible it reads the whole table instead of the index (15 ms
 * against 0.4 ms at 41,000 member rows, one user in 10,000 of them).
 *
 * ANALYZE gathers statistics for an index's expressions, so an index on
 * `CASE WHEN activity_at IS NULL THEN user_id END`, over the NULL rows only, gives the planner
 * the distribution of users among shared member rows alone; the listing's shared half matches on
 * that expression (database/typeorm/inbox-index.ts, `postgresShared`). PostgreSQL only: the other
 * dialects plan this half from the inbox index already.
 */
export class InboxSharedIndex1769000000000 implements MigrationInterface {
  readonly name = 'InboxSharedIndex1769000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX ix_participants_shared ON participants ((CASE WHEN activity_at IS NULL THEN user_id END), conversation_id) WHERE activity_at IS NULL',
    );
    await q.query('ANALYZE participants');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_participants_shared');
  }
}

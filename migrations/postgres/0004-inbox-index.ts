import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A per-user inbox index (issue 13): listing a user's conversations by activity reads one index
 * range instead of joining and sorting all of them.
 * - `conversations.member_count`: how many participants the conversation has, kept by every
 *   change of its members; it decides whether a post copies its activity onto the member rows.
 * - `participants.activity_at`: the conversation's activity time, copied onto each member's row
 *   while the conversation has at most 32 members (INBOX_FANOUT_LIMIT in
 *   database/typeorm/inbox-index.ts), NULL beyond that: a larger conversation is "shared", and
 *   the listing merges it in from the conversation's own activity (see DIALECTS.md, Inbox).
 * - `ix_participants_inbox (user_id, activity_at DESC, conversation_id DESC)`: the listing's
 *   keyset order for the copied rows; its NULLs are the user's shared conversations.
 */
export class InboxIndex1767000000000 implements MigrationInterface {
  readonly name = 'InboxIndex1767000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE conversations ADD COLUMN member_count integer NOT NULL DEFAULT 0');
    await q.query(
      'UPDATE conversations c SET member_count = (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = c.id)',
    );
    await q.query('ALTER TABLE participants ADD COLUMN activity_at timestamptz(3)');
    await q.query(
      'UPDATE participants p SET activity_at = c.activity_at FROM conversations c WHERE c.id = p.conversation_id AND c.member_count <= 32',
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

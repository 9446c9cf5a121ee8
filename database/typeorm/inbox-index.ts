import type { Conversation, Participant } from '../../src/domain/models.js';
import { activityAt } from '../../src/domain/models.js';
import type { CursorKey } from '../../src/domain/cursor.js';
import type { Db, Sql } from './db.js';
import type { Codecs } from './row-mapper.js';

/**
 * The per-user inbox index (issue 13, item 2; DIALECTS.md, "Inbox"). Each participant row carries
 * its conversation's activity time (`participants.activity_at`) while the conversation has at
 * most INBOX_FANOUT_LIMIT members, so a user's conversations by activity are one range of
 * `ix_participants_inbox (user_id, activity_at DESC, conversation_id DESC)`. A post copies the
 * new activity onto those rows in its own statement or transaction.
 *
 * A larger conversation is "shared": its member rows hold NULL and are not touched by posts (a
 * post to 1,000 members would otherwise write 1,000 index entries); the listing reads a user's
 * shared conversations (few) through the same index's NULL range and merges them by the
 * conversation's own activity. `conversations.member_count` says which mode a conversation is in;
 * every change of the members keeps it, and moves the rows between modes in the same transaction.
 */
export const INBOX_FANOUT_LIMIT = 32;

/** What a member row of a conversation with `members` members holds: the activity, or NULL when shared. */
export function memberActivity(conversation: Conversation, members: number): Date | null {
  return members <= INBOX_FANOUT_LIMIT ? activityAt(conversation) : null;
}

/** The participant columns the codec writes, plus the derived `activity_at`. */
export function participantColumns(codecs: Codecs): string[] {
  return [...codecs.participants.columns, 'activity_at'];
}

/** Bound values of one participant row for `participantColumns`. */
export function participantParams(db: Db, codecs: Codecs, p: Participant, activity: Date | null): unknown[] {
  return [...codecs.participants.toParams(p), activity === null ? null : db.dialect.time(activity)];
}

/**
 * Copies the conversation's activity (after a post moved it) onto its member rows in per-user
 * mode; a shared conversation's rows are NULL and never match `<>`. Runs after the post's UPDATE
 * of the conversation, which holds its row lock, so a concurrent change of the members (which
 * takes that lock first) sees the post's activity or waits for it. The activity may move back
 * (a first message older than the conversation), hence `<>` rather than `<`.
 */
export async function copyActivityToMembers(sql: Sql, db: Db, conversationId: string): Promise<void> {
  const d = db.dialect;
  if (d.kind === 'mysql' || d.kind === 'mariadb') {
    // A join with the conversation as a constant table: for a shared conversation MySQL sees the
    // WHERE is impossible once it read that one row, and scans no member row at all.
    await sql.exec(
      `UPDATE participants p JOIN conversations c ON c.id = p.conversation_id SET p.activity_at = c.activity_at
       WHERE c.id = ? AND c.member_count <= ${INBOX_FANOUT_LIMIT} AND p.activity_at <> c.activity_at`,
      [conversationId],
    );
    return;
  }
  const current = 'SELECT c.activity_at FROM conversations c WHERE c.id = ?';
  await sql.exec(
    `UPDATE participants SET activity_at = (${current}) WHERE conversation_id = ? AND activity_at <> (${current})`,
    [conversationId, conversationId, conversationId],
  );
}

/**
 * After members were added or removed (`delta`), in the same transaction: counts them on the
 * conversation and puts every member row in the mode the new count calls for — the
 * conversation's activity up to the limit (the new row, and all rows when it shrinks back), NULL
 * beyond it. Returns the new count.
 */
export async function membersChanged(sql: Sql, conversationId: string, delta: number): Promise<number> {
  await sql.exec('UPDATE conversations SET member_count = member_count + ? WHERE id = ?', [delta, conversationId]);
  const [row] = await sql.rows('SELECT member_count FROM conversations WHERE id = ?', [conversationId]);
  const now = Number(row?.member_count ?? 0);
  const before = now - delta;
  if (now <= INBOX_FANOUT_LIMIT) {
    await sql.exec(
      'UPDATE participants SET activity_at = (SELECT activity_at FROM conversations WHERE id = ?) WHERE conversation_id = ?',
      [conversationId, conversationId],
    );
  } else if (before <= INBOX_FANOUT_LIMIT) {
    await sql.exec('UPDATE participants SET activity_at = NULL WHERE conversation_id = ?', [conversationId]);
  }
  return now;
}

/**
 * Recomputes the derived columns of the given conversations from what is stored (imports write
 * conversations and participants as records, without the derived columns).
 */
export async function rebuildInbox(sql: Sql, conversationIds: readonly string[]): Promise<void> {
  for (let i = 0; i < conversationIds.length; i += 500) {
    const chunk = conversationIds.slice(i, i + 500);
    const list = chunk.map(() => '?').join(', ');
    await sql.exec(
      `UPDATE conversations SET member_count = (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = conversations.id) WHERE id IN (${list})`,
      chunk,
    );
    await sql.exec(
      `UPDATE participants SET activity_at = (SELECT CASE WHEN c.member_count <= ${INBOX_FANOUT_LIMIT} THEN c.activity_at END FROM conversations c WHERE c.id = participants.conversation_id)
       WHERE conversation_id IN (${list})`,
      chunk,
    );
  }
}

/**
 * The user's shared member rows on PostgreSQL, written as the expression of ix_participants_shared
 * (migration 0006), whose statistics tell the planner how many there are: estimated from the
 * columns, a user holding a large share of all member rows and in no shared conversation was
 * expected to have thousands, and the table was read whole.
 */
export const POSTGRES_SHARED_MEMBER = '(CASE WHEN activity_at IS NULL THEN user_id END) = ? AND activity_at IS NULL';

/**
 * PostgreSQL's shared half: the user's shared member rows first (the NULL rows, through
 * ix_participants_shared), then each one's conversation by primary key. Written as a join, the planner multiplies
 * the user's row count by the NULL fraction of the whole table (it has no statistics on the two
 * together), expects thousands of shared rows for a user with many conversations, and walks
 * every conversation by activity probing the user's participant row instead: 22 ms for a user
 * with 10,000 conversations and no shared one, against 0.6 ms this way. The `OFFSET 0`s keep it
 * from folding the subqueries back into that join.
 */
function postgresShared(cols: string, keyset: string): string {
  return `SELECT c.* FROM (SELECT conversation_id FROM participants WHERE ${POSTGRES_SHARED_MEMBER} OFFSET 0) s
      CROSS JOIN LATERAL (SELECT ${cols} FROM conversations c WHERE c.id = s.conversation_id${keyset} OFFSET 0) c`;
}

/**
 * The listing's statement: the user's per-user rows in index order, and their shared
 * conversations by the conversations' own activity, each cut at the page, merged in one UNION.
 * Both halves keep the (activityAt, id) descending keyset, so cursors mean what they always did.
 */
export function listForUserSql(db: Db, codecs: Codecs, userId: string, limit: number, after?: CursorKey) {
  const d = db.dialect;
  const cols = codecs.conversations.select('c');
  const t = after ? d.time(after.at) : undefined;
  const keyset = (at: string, id: string) =>
    after ? ` AND ${at} <= ${d.timeParam} AND (${at} < ${d.timeParam} OR ${id} < ?)` : '';
  const keyParams = after ? [t, t, after.id] : [];
  const sharedKeyset = keyset('c.activity_at', 'c.id');
  const shared =
    d.kind === 'postgres'
      ? postgresShared(cols, sharedKeyset)
      : `SELECT ${cols} FROM participants p JOIN conversations c ON c.id = p.conversation_id
      WHERE p.user_id = ? AND p.activity_at IS NULL${sharedKeyset}`;
  const text = `SELECT * FROM (SELECT ${cols} FROM participants p JOIN conversations c ON c.id = p.conversation_id
      WHERE p.user_id = ? AND p.activity_at IS NOT NULL${keyset('p.activity_at', 'p.conversation_id')}
      ORDER BY p.activity_at DESC, p.conversation_id DESC LIMIT ?) per_user
    UNION ALL
    SELECT * FROM (${shared}
      ORDER BY c.activity_at DESC, c.id DESC LIMIT ?) shared_conv
    ORDER BY activity_at DESC, id DESC LIMIT ?`;
  const n = limit + 1;
  return { text, params: [userId, ...keyParams, n, userId, ...keyParams, n, n] };
}

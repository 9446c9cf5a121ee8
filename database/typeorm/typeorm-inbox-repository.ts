import type {
  InboxChange,
  InboxPosition,
  InboxRemoval,
  InboxRepository,
  Page,
  RemovalReason,
  TicketUseRepository,
} from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { type Codecs, toDate } from './row-mapper.js';

const REMOVAL_COLUMNS = ['user_id', 'at', 'conversation_id', 'reason'] as const;

/** Records that `userId` left the conversation (removed), in the removal's transaction. */
export async function writeRemoval(sql: Sql, db: Db, conversationId: string, userId: string, at: Date): Promise<void> {
  const { dialect } = db;
  await sql.exec(
    dialect.insertIgnore('participant_removals', REMOVAL_COLUMNS, `VALUES (?, ${dialect.timeParam}, ?, ?)`),
    [userId, dialect.time(at), conversationId, 'removed' satisfies RemovalReason],
  );
}

/** Records the removal of every participant of a conversation being deleted; run before the DELETE cascades. */
export async function writeDeletionRemovals(sql: Sql, db: Db, conversationId: string, at: Date): Promise<void> {
  const { dialect } = db;
  await sql.exec(
    dialect.insertIgnore(
      'participant_removals',
      REMOVAL_COLUMNS,
      `SELECT user_id, ${dialect.timeParam}, conversation_id, ? FROM participants WHERE conversation_id = ?`,
    ),
    [dialect.time(at), 'deleted' satisfies RemovalReason, conversationId],
  );
}

export class TypeormInboxRepository implements InboxRepository {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
  ) {}

  /**
   * The user's participant rows (ix_participants_user) joined to their conversations, filtered
   * and ordered by the latest of the three change times. The filter cannot use an index on the
   * computed time, so the cost is the user's number of conversations (as for the inbox listing).
   */
  async changes(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxChange>> {
    const { dialect } = this.db;
    const c = this.codecs.conversations;
    const changed = dialect.greatest(dialect.greatest('c.activity_at', 'c.updated_at'), 'p.joined_at');
    const at = dialect.time(after.at);
    const rows = await this.db.read((sql) =>
      sql.rows(
        `SELECT ${c.select('c')}, ${changed} AS changed_at FROM participants p JOIN conversations c ON c.id = p.conversation_id
         WHERE p.user_id = ? AND (${changed} > ${dialect.timeParam} OR (${changed} = ${dialect.timeParam} AND c.id > ?))
         ORDER BY changed_at, c.id LIMIT ?`,
        [userId, at, at, after.id, limit + 1],
      ),
    );
    return {
      items: rows.slice(0, limit).map((row) => ({ conversation: c.fromRow(row), changedAt: toDate(row.changed_at) })),
      hasMore: rows.length > limit,
    };
  }

  async removals(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxRemoval>> {
    const { dialect } = this.db;
    const at = dialect.time(after.at);
    const rows = await this.db.read((sql) =>
      sql.rows(
        `SELECT user_id, at, conversation_id, reason FROM participant_removals
         WHERE user_id = ? AND (at > ${dialect.timeParam} OR (at = ${dialect.timeParam} AND conversation_id > ?))
         ORDER BY at, conversation_id LIMIT ?`,
        [userId, at, at, after.id, limit + 1],
      ),
    );
    return {
      items: rows.slice(0, limit).map((r) => ({
        userId: String(r.user_id),
        conversationId: String(r.conversation_id),
        at: toDate(r.at),
        reason: String(r.reason) as RemovalReason,
      })),
      hasMore: rows.length > limit,
    };
  }
}

export class TypeormTicketUseRepository implements TicketUseRepository {
  constructor(private readonly db: Db) {}

  async claim(nonce: string, expiresAt: Date): Promise<boolean> {
    const { dialect } = this.db;
    const inserted = await this.db.tx((sql) =>
      sql.exec(
        dialect.insertIgnore('stream_ticket_uses', ['nonce', 'expires_at'], `VALUES (?, ${dialect.timeParam})`),
        [nonce, dialect.time(expiresAt)],
      ),
    );
    return inserted > 0;
  }

  prune(now: Date): Promise<number> {
    const { dialect } = this.db;
    return this.db.tx((sql) =>
      sql.exec(`DELETE FROM stream_ticket_uses WHERE expires_at < ${dialect.timeParam}`, [dialect.time(now)]),
    );
  }
}

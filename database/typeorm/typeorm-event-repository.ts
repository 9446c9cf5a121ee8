import type { ConversationEvent, NewEvent } from '../../src/domain/events.js';
import type { EventRepository, Page } from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { insertSql, type RecordCodec } from './row-mapper.js';

export type EventCodec = RecordCodec<ConversationEvent>;

/**
 * Claims the conversation's next seq: `event_seq + 1` on its row, read back in the same
 * transaction. Changes run this first, so the UPDATE takes the conversation's row lock before
 * anything else and concurrent changes of one conversation queue here: seqs are handed out in
 * commit order, without gaps (a rolled-back change gives its seq back). Null when the
 * conversation does not exist.
 */
export async function claimSeq(sql: Sql, conversationId: string): Promise<number | null> {
  if ((await sql.exec('UPDATE conversations SET event_seq = event_seq + 1 WHERE id = ?', [conversationId])) === 0)
    return null;
  return readSeq(sql, conversationId);
}

/** The seq on the conversation row, read inside a transaction that bumped it. */
export async function readSeq(sql: Sql, conversationId: string): Promise<number> {
  const [row] = await sql.rows('SELECT event_seq FROM conversations WHERE id = ?', [conversationId]);
  return Number(row?.event_seq ?? 0);
}

/** Writes the event of a change, with the seq the change claimed, in the change's transaction. */
export async function writeEvent(sql: Sql, codec: EventCodec, event: NewEvent, seq: number): Promise<void> {
  await sql.exec(insertSql(codec as RecordCodec<unknown>), codec.toParams({ ...event, seq }));
}

export class TypeormEventRepository implements EventRepository {
  constructor(
    private readonly db: Db,
    private readonly codec: EventCodec,
  ) {}

  async list(conversationId: string, afterSeq: number, limit: number): Promise<Page<ConversationEvent>> {
    const c = this.codec;
    const rows = await this.db.read((sql) =>
      sql.rows(
        `SELECT ${c.select()} FROM conversation_events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
        [conversationId, afterSeq, limit + 1],
      ),
    );
    return { items: rows.slice(0, limit).map(c.fromRow), hasMore: rows.length > limit };
  }

  async latestSeq(conversationId: string): Promise<number> {
    return this.db.read(async (sql) => {
      const [row] = await sql.rows('SELECT event_seq FROM conversations WHERE id = ?', [conversationId]);
      if (row) return Number(row.event_seq);
      // A deleted conversation: its log (until pruned) still says how far it went.
      const [last] = await sql.rows('SELECT MAX(seq) AS seq FROM conversation_events WHERE conversation_id = ?', [
        conversationId,
      ]);
      return Number(last?.seq ?? 0);
    });
  }

  async joinedSeq(conversationId: string, userId: string): Promise<number> {
    const [row] = await this.db.read((sql) =>
      sql.rows(
        `SELECT MAX(seq) AS seq FROM conversation_events WHERE conversation_id = ? AND subject = ? AND type = 'participant.added'`,
        [conversationId, userId],
      ),
    );
    return Number(row?.seq ?? 0);
  }

  prune(before: Date): Promise<number> {
    const { dialect } = this.db;
    return this.db.tx(async (sql) => {
      const events = await sql.exec(`DELETE FROM conversation_events WHERE at < ${dialect.timeParam}`, [
        dialect.time(before),
      ]);
      const removals = await sql.exec(`DELETE FROM participant_removals WHERE at < ${dialect.timeParam}`, [
        dialect.time(before),
      ]);
      return events + removals;
    });
  }
}

import { NotFoundError, StreamError, VersionConflictError } from '../../src/domain/errors.js';
import { messageChanged } from '../../src/domain/events.js';
import type { ContentPart } from '../../src/domain/models.js';
import type { StaleStream, StreamFinish, StreamFlush, StreamRepository } from '../../src/repositories/ports.js';
import type { Db } from './db.js';
import { toDate, toJson, type Codecs } from './row-mapper.js';
import { writeAudit } from './typeorm-audit-repository.js';
import { claimSeq, writeEvent, type EventCodec } from './typeorm-event-repository.js';

/** What makes a message streamable: in progress and not a tombstone. */
const STREAMING = "status = 'in_progress' AND deleted_at IS NULL";

/**
 * Streamed messages on SQLite, PostgreSQL and MySQL/MariaDB (migration 0005). Each write is one
 * conditional UPDATE of the message row: the condition (in progress, live, at the version the
 * writer knows) is what keeps two writers from overwriting each other.
 */
export class TypeormStreamRepository implements StreamRepository {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
    private readonly events: EventCodec,
  ) {}

  flush(change: StreamFlush) {
    const m = this.codecs.messages;
    const { conversationId, messageId } = change;
    return this.db.tx(async (sql) => {
      const changed = await sql.exec(
        `UPDATE messages SET content = ?, stream_touched_at = ?, version = version + 1
         WHERE id = ? AND conversation_id = ? AND ${STREAMING} AND version = ?`,
        [
          JSON.stringify(change.content),
          this.db.dialect.time(change.touchedAt),
          messageId,
          conversationId,
          change.expectedVersion,
        ],
      );
      if (changed === 0) return null;
      const [row] = await sql.rows(`SELECT ${m.select()} FROM messages WHERE id = ? AND conversation_id = ?`, [
        messageId,
        conversationId,
      ]);
      return row ? m.fromRow(row) : null;
    });
  }

  /**
   * The event's seq is claimed first (taking the conversation's row lock, as every change of a
   * message does); a refused finish rolls the claim back with everything else.
   */
  finish(change: StreamFinish) {
    const m = this.codecs.messages;
    const { conversationId, messageId, expectedVersion, audit } = change;
    const where = 'id = ? AND conversation_id = ?';
    return this.db.tx(async (sql) => {
      const seq = await claimSeq(sql, conversationId);
      if (seq === null) throw new NotFoundError('message', messageId);
      const changed = await sql.exec(
        `UPDATE messages SET content = ?, status = ?, status_reason = ?, stream_touched_at = NULL, version = version + 1
         WHERE ${where} AND ${STREAMING}${expectedVersion !== undefined ? ' AND version = ?' : ''}`,
        [
          JSON.stringify(change.content),
          change.status,
          change.statusReason,
          messageId,
          conversationId,
          ...(expectedVersion !== undefined ? [expectedVersion] : []),
        ],
      );
      if (changed === 0) {
        const [row] = await sql.rows(`SELECT status, version, deleted_at FROM messages WHERE ${where}`, [
          messageId,
          conversationId,
        ]);
        if (!row || row.deleted_at !== null) throw new NotFoundError('message', messageId);
        const version = Number(row.version);
        if (expectedVersion !== undefined && version !== expectedVersion)
          throw new VersionConflictError('message', messageId, expectedVersion, version);
        throw new StreamError('message_not_in_progress', `message ${messageId} is ${String(row.status)}`, {
          status: String(row.status),
        });
      }
      await writeAudit(sql, this.codecs, audit);
      const [row] = await sql.rows(`SELECT ${m.select()} FROM messages WHERE ${where}`, [messageId, conversationId]);
      if (!row) throw new NotFoundError('message', messageId);
      const stored = m.fromRow(row);
      await writeEvent(sql, this.events, messageChanged('message.updated', stored, audit), seq);
      return stored;
    });
  }

  /** A range of ix_messages_stream: status = 'in_progress', touched before `before`, oldest first. */
  async stale(before: Date, limit: number): Promise<StaleStream[]> {
    const { dialect } = this.db;
    const rows = await this.db.read((sql) =>
      sql.rows(
        `SELECT id, conversation_id, author_id, version, content, stream_touched_at FROM messages
         WHERE status = 'in_progress' AND stream_touched_at < ${dialect.timeParam} AND deleted_at IS NULL
         ORDER BY stream_touched_at, id LIMIT ?`,
        [dialect.time(before), limit],
      ),
    );
    return rows.map((r) => ({
      conversationId: String(r.conversation_id),
      messageId: String(r.id),
      authorId: String(r.author_id),
      version: Number(r.version),
      content: toJson<ContentPart[]>(r.content),
      touchedAt: toDate(r.stream_touched_at),
    }));
  }
}

import { NotFoundError } from '../../src/domain/errors.js';
import { messageChanged, messageCreated } from '../../src/domain/events.js';
import type { AuditEntry, Message } from '../../src/domain/models.js';
import type {
  MessageDeletion,
  MessageListQuery,
  MessageRepository,
  MessageUpdate,
  Page,
  PostResult,
} from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { copyActivityToMembers } from './inbox-index.js';
import { postMessage } from './post-message.js';
import { insertSql, type Codecs, type RecordCodec } from './row-mapper.js';
import { writeAudit } from './typeorm-audit-repository.js';
import { claimSeq, readSeq, writeEvent, type EventCodec } from './typeorm-event-repository.js';
import { versionedUpdate, type VersionedUpdate } from './versioned-update.js';

export class TypeormMessageRepository implements MessageRepository {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
    private readonly events: EventCodec,
  ) {}

  /** See post-message.ts: one statement on PostgreSQL, one transaction of four elsewhere. */
  post(message: Message): Promise<PostResult> {
    return postMessage(this.db, this.codecs, this.events, message);
  }

  /**
   * One transaction: the conversation counts the whole batch and claims its seqs first (taking
   * the row lock, as `post` does), then the messages and their events go in as multi-row INSERTs.
   * A taken id fails an INSERT and rolls back everything, the count and the seqs included.
   */
  postMany(conversationId: string, messages: readonly Message[]): Promise<Message[]> {
    const m = this.codecs.messages;
    const e = this.events as RecordCodec<unknown>;
    return this.db.tx(async (sql) => {
      await this.countBatch(sql, conversationId, messages);
      for (const chunk of chunksOf(messages))
        await sql.exec(
          insertSql(m, chunk.length),
          chunk.flatMap((x) => m.toParams(x)),
        );
      const first = (await readSeq(sql, conversationId)) - messages.length + 1;
      const logged = messages.map((x, i) => ({ ...messageCreated(x), seq: first + i }));
      for (const chunk of chunksOf(logged))
        await sql.exec(
          insertSql(e, chunk.length),
          chunk.flatMap((x) => this.events.toParams(x)),
        );
      await copyActivityToMembers(sql, this.db, conversationId);
      return messages.map((x) => structuredClone(x));
    });
  }

  async get(conversationId: string, messageId: string, viewerId?: string): Promise<Message> {
    const m = this.codecs.messages;
    if (viewerId === undefined) {
      const [row] = await this.db.read((sql) =>
        sql.rows(`SELECT ${m.select()} FROM messages WHERE id = ? AND conversation_id = ?`, [
          messageId,
          conversationId,
        ]),
      );
      if (!row) throw new NotFoundError('message', messageId);
      return m.fromRow(row);
    }
    // The viewer's participant row, with the message joined to it: no row means the conversation
    // does not exist for the viewer; a row without a message, that the message does not.
    const [row] = await this.db.read((sql) =>
      sql.rows(
        `SELECT p.user_id AS viewer_id, ${m.select('m')} FROM participants p
         LEFT JOIN messages m ON m.conversation_id = p.conversation_id AND m.id = ?
         WHERE p.conversation_id = ? AND p.user_id = ?`,
        [messageId, conversationId, viewerId],
      ),
    );
    if (!row) throw new NotFoundError('conversation', conversationId);
    if (row.id === null || row.id === undefined) throw new NotFoundError('message', messageId);
    return m.fromRow(row);
  }

  update(change: MessageUpdate): Promise<Message> {
    const { conversationId, messageId, expectedVersion, patch, editedAt, audit } = change;
    return this.change('message.updated', conversationId, messageId, expectedVersion, audit, [
      ...(patch.content !== undefined ? [['content', JSON.stringify(patch.content)] as const] : []),
      ...(patch.metadata !== undefined ? [['metadata', JSON.stringify(patch.metadata)] as const] : []),
      ['edited_at', this.db.dialect.time(editedAt)],
    ]);
  }

  softDelete(deletion: MessageDeletion): Promise<Message> {
    const { conversationId, messageId, expectedVersion, deletedAt, audit } = deletion;
    return this.change('message.deleted', conversationId, messageId, expectedVersion, audit, [
      ['content', '[]'],
      ['metadata', '{}'],
      ['deleted_at', this.db.dialect.time(deletedAt)],
    ]);
  }

  async list(query: MessageListQuery): Promise<Page<Message>> {
    const m = this.codecs.messages;
    const t = (d: Date) => this.db.dialect.time(d);
    const older = query.direction === 'older';
    const [cmp, order] = older ? ['<', 'DESC'] : ['>', 'ASC'];
    const after = query.after;
    const viewer = query.viewerId;
    // Keyset on ix_messages_conversation_created; `created_at <= ?` bounds the index range, the
    // OR picks the rows of that millisecond past the cursor's id. One row beyond the page tells
    // hasMore. The viewer's membership is an EXISTS of the same statement (PostgreSQL and MySQL
    // evaluate it once, before the scan); only an empty page needs a second look, to tell an empty
    // page from a conversation the viewer does not see. SQLite instead checks membership first:
    // it tests that EXISTS row by row, so a page without a cursor took 4 ms instead of 0.2 in a
    // conversation of 200,000 messages, and a non-member's request scanned all of them (30-50 ms).
    // In-process, the extra statement costs microseconds, not a round trip.
    const apart = viewer !== undefined && this.db.dialect.kind === 'sqlite';
    const inline = viewer !== undefined && !apart;
    const member = (sql: Sql) =>
      sql.rows('SELECT 1 AS found FROM participants WHERE conversation_id = ? AND user_id = ?', [
        query.conversationId,
        viewer,
      ]);
    const rows = await this.db.read(async (sql) => {
      if (apart && (await member(sql)).length === 0) throw new NotFoundError('conversation', query.conversationId);
      const found = await sql.rows(
        `SELECT ${m.select()} FROM messages WHERE conversation_id = ?${after ? ` AND created_at ${cmp}= ? AND (created_at ${cmp} ? OR id ${cmp} ?)` : ''}${inline ? ' AND EXISTS (SELECT 1 FROM participants WHERE conversation_id = ? AND user_id = ?)' : ''}
         ORDER BY created_at ${order}, id ${order} LIMIT ?`,
        [
          query.conversationId,
          ...(after ? [t(after.at), t(after.at), after.id] : []),
          ...(inline ? [query.conversationId, viewer] : []),
          query.limit + 1,
        ],
      );
      if (found.length === 0 && inline && (await member(sql)).length === 0)
        throw new NotFoundError('conversation', query.conversationId);
      return found;
    });
    return { items: rows.slice(0, query.limit).map(m.fromRow), hasMore: rows.length > query.limit };
  }

  /** Counts a batch on its conversation (the row lock first, as a post takes it): `messageCount + n`, `eventSeq + n`, lastMessageAt raised to the latest. */
  private async countBatch(sql: Sql, conversationId: string, messages: readonly Message[]): Promise<void> {
    const d = this.db.dialect;
    const latest = Math.max(...messages.map((x) => x.createdAt.getTime()));
    const later = d.greatest(`COALESCE(last_message_at, ${d.timeParam})`, d.timeParam);
    const at = d.time(new Date(latest));
    const n = messages.length;
    const changed = await sql.exec(
      `UPDATE conversations SET message_count = message_count + ?, event_seq = event_seq + ?, last_message_at = ${later}, activity_at = ${later} WHERE id = ?`,
      [n, n, at, at, at, at, conversationId],
    );
    if (changed === 0) throw new NotFoundError('conversation', conversationId);
  }

  /**
   * Edit or tombstone: a versioned update of a live message, its audit entry, its event, and the
   * stored result. The event's seq is claimed first (taking the conversation's row lock, as posts
   * do); a refused update rolls the claim back with everything else.
   */
  private change(
    type: 'message.updated' | 'message.deleted',
    conversationId: string,
    messageId: string,
    expectedVersion: number | undefined,
    audit: AuditEntry,
    set: VersionedUpdate['set'],
  ): Promise<Message> {
    const m = this.codecs.messages;
    const where = ['id = ? AND conversation_id = ?', [messageId, conversationId]] as const;
    return this.db.tx(async (sql) => {
      const seq = await claimSeq(sql, conversationId);
      if (seq === null) throw new NotFoundError('message', messageId);
      await versionedUpdate(sql, {
        table: 'messages',
        entity: 'message',
        id: messageId,
        where,
        expectedVersion,
        set,
        live: 'deleted_at IS NULL',
      });
      await writeAudit(sql, this.codecs, audit);
      const [row] = await sql.rows(`SELECT ${m.select()} FROM messages WHERE ${where[0]}`, where[1]);
      if (!row) throw new NotFoundError('message', messageId);
      const stored = m.fromRow(row);
      await writeEvent(sql, this.events, messageChanged(type, stored, audit), seq);
      return stored;
    });
  }
}

/** Rows per multi-row INSERT: a batch of any size stays far below every dialect's parameter limit. */
const ROWS_PER_INSERT = 50;

function chunksOf<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) out.push(rows.slice(i, i + ROWS_PER_INSERT));
  return out;
}

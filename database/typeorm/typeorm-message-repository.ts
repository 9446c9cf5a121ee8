import { DuplicateError, NotFoundError } from '../../src/domain/errors.js';
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

  async post(message: Message): Promise<PostResult> {
    try {
      return await this.db.tx(async (sql) => {
        const earlier = await this.byClientId(sql, message);
        if (earlier) return { message: earlier, created: false };
        await this.bumpConversation(sql, message);
        await sql.exec(insertSql(this.codecs.messages), this.codecs.messages.toParams(message));
        await writeEvent(sql, this.events, messageCreated(message), await readSeq(sql, message.conversationId));
        return { message: structuredClone(message), created: true };
      });
    } catch (error) {
      // A concurrent post with the same clientMessageId won the unique index. Our transaction is
      // rolled back by now (on PostgreSQL it was aborted by the failed insert), so read the winner anew.
      if (error instanceof DuplicateError && error.field === 'clientMessageId') {
        const stored = await this.db.read((sql) => this.byClientId(sql, message));
        if (stored) return { message: stored, created: false };
      }
      throw error;
    }
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
      return messages.map((x) => structuredClone(x));
    });
  }

  async get(conversationId: string, messageId: string): Promise<Message> {
    const m = this.codecs.messages;
    const [row] = await this.db.read((sql) =>
      sql.rows(`SELECT ${m.select()} FROM messages WHERE id = ? AND conversation_id = ?`, [messageId, conversationId]),
    );
    if (!row) throw new NotFoundError('message', messageId);
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
    // Keyset on ix_messages_conversation_created; `created_at <= ?` bounds the index range, the
    // OR picks the rows of that millisecond past the cursor's id. One row beyond the page tells hasMore.
    const rows = await this.db.read((sql) =>
      sql.rows(
        `SELECT ${m.select()} FROM messages WHERE conversation_id = ?${after ? ` AND created_at ${cmp}= ? AND (created_at ${cmp} ? OR id ${cmp} ?)` : ''}
         ORDER BY created_at ${order}, id ${order} LIMIT ?`,
        [query.conversationId, ...(after ? [t(after.at), t(after.at), after.id] : []), query.limit + 1],
      ),
    );
    return { items: rows.slice(0, query.limit).map(m.fromRow), hasMore: rows.length > query.limit };
  }

  /**
   * Counts the message on its conversation. This UPDATE runs before the INSERT on purpose: it
   * takes the conversation's row lock first, so concurrent posts queue here. The other order
   * deadlocks on InnoDB (the INSERT's foreign-key check holds a shared lock the UPDATE must upgrade).
   * Posting does not touch updatedAt or version: the conversation itself did not change. The
   * same UPDATE claims the post's event seq (see claimSeq).
   */
  private async bumpConversation(sql: Sql, message: Message): Promise<void> {
    const d = this.db.dialect;
    const later = d.greatest(`COALESCE(last_message_at, ${d.timeParam})`, d.timeParam);
    const at = d.time(message.createdAt);
    const changed = await sql.exec(
      `UPDATE conversations SET message_count = message_count + 1, event_seq = event_seq + 1, last_message_at = ${later}, activity_at = ${later} WHERE id = ?`,
      [at, at, at, at, message.conversationId],
    );
    if (changed === 0) throw new NotFoundError('conversation', message.conversationId);
  }

  /** `bumpConversation` for a batch: `messageCount + n`, `eventSeq + n`, lastMessageAt raised to the latest. */
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

  private async byClientId(sql: Sql, message: Message): Promise<Message | null> {
    if (message.clientMessageId === null) return null;
    const m = this.codecs.messages;
    const [row] = await sql.rows(
      `SELECT ${m.select()} FROM messages WHERE conversation_id = ? AND client_message_id = ?`,
      [message.conversationId, message.clientMessageId],
    );
    return row ? m.fromRow(row) : null;
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

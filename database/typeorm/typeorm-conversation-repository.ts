import { DuplicateError, NotFoundError } from '../../src/domain/errors.js';
import {
  conversationDeleted,
  conversationUpdated,
  participantAdded,
  participantRemoved,
} from '../../src/domain/events.js';
import type { AuditEntry, Conversation, Participant } from '../../src/domain/models.js';
import type {
  ConversationListQuery,
  ConversationRepository,
  ConversationUpdate,
  Page,
} from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { insertSql, type Codecs } from './row-mapper.js';
import { writeAudit } from './typeorm-audit-repository.js';
import { claimSeq, writeEvent, type EventCodec } from './typeorm-event-repository.js';
import { createConversation } from './create-conversation.js';
import { listForUserSql, membersChanged } from './inbox-index.js';
import { writeDeletionRemovals, writeRemoval } from './typeorm-inbox-repository.js';
import { versionedUpdate } from './versioned-update.js';

export class TypeormConversationRepository implements ConversationRepository {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
    private readonly events: EventCodec,
  ) {}

  async create(conversation: Conversation, participants: Participant[], audit: AuditEntry): Promise<Conversation> {
    // A taken id is refused by the primary key on INSERT (mapped to DuplicateError at the edge),
    // so no lookup is spent on it: ids are fresh UUIDv7s and a clash is all but impossible.
    const keys = new Set(participants.map((p) => `${p.conversationId}\u0000${p.userId}`));
    if (keys.size !== participants.length) throw new DuplicateError('participant', 'userId');
    // The users exist: the service checked (see ConversationRepository.create).
    await createConversation(this.db, this.codecs, this.events, conversation, participants, audit);
    return structuredClone(conversation);
  }

  async get(id: string, viewerId?: string): Promise<Conversation> {
    const c = await this.db.read((sql) =>
      viewerId === undefined ? this.selectOne(sql, id) : this.selectSeen(sql, id, viewerId),
    );
    if (!c) throw new NotFoundError('conversation', id);
    return c;
  }

  update({ id, expectedVersion, patch, updatedAt, audit }: ConversationUpdate): Promise<Conversation> {
    return this.db.tx(async (sql) => {
      // Claimed first, as every change of a conversation does: the row lock orders them.
      const seq = await claimSeq(sql, id);
      if (seq === null) throw new NotFoundError('conversation', id);
      await versionedUpdate(sql, {
        table: 'conversations',
        entity: 'conversation',
        id,
        where: ['id = ?', [id]],
        expectedVersion,
        set: [
          ...(patch.title !== undefined ? [['title', patch.title] as const] : []),
          ...(patch.metadata !== undefined ? [['metadata', JSON.stringify(patch.metadata)] as const] : []),
          ['updated_at', this.db.dialect.time(updatedAt)],
        ],
      });
      await writeAudit(sql, this.codecs, audit);
      const c = await this.selectOne(sql, id);
      if (!c) throw new NotFoundError('conversation', id);
      await writeEvent(sql, this.events, conversationUpdated(id, patch, c.updatedAt, c.version, audit), seq);
      return c;
    });
  }

  async delete(id: string, audit: AuditEntry): Promise<void> {
    await this.db.tx(async (sql) => {
      // The final event first; the log has no foreign key and outlives the conversation.
      const seq = await claimSeq(sql, id);
      if (seq === null) throw new NotFoundError('conversation', id);
      await writeEvent(sql, this.events, conversationDeleted(id, audit), seq);
      await writeDeletionRemovals(sql, this.db, id, audit.at);
      // Messages and participants go by ON DELETE CASCADE, declared in every dialect's migration;
      // SQLite enforces it because the dialect turns `foreign_keys` on for every connection.
      if ((await sql.exec('DELETE FROM conversations WHERE id = ?', [id])) === 0)
        throw new NotFoundError('conversation', id);
      await writeAudit(sql, this.codecs, audit);
    });
  }

  /** One statement over the inbox index; see inbox-index.ts for how shared conversations merge in. */
  async listForUser(query: ConversationListQuery): Promise<Page<Conversation>> {
    const c = this.codecs.conversations;
    const { text, params } = listForUserSql(this.db, this.codecs, query.userId, query.limit, query.after);
    const rows = await this.db.read((sql) => sql.rows(text, params));
    return { items: rows.slice(0, query.limit).map(c.fromRow), hasMore: rows.length > query.limit };
  }

  async findParticipant(conversationId: string, userId: string): Promise<Participant | null> {
    const p = this.codecs.participants;
    const [row] = await this.db.read((sql) =>
      sql.rows(`SELECT ${p.select()} FROM participants WHERE conversation_id = ? AND user_id = ?`, [
        conversationId,
        userId,
      ]),
    );
    return row ? p.fromRow(row) : null;
  }

  async listParticipants(conversationId: string): Promise<Participant[]> {
    const p = this.codecs.participants;
    const rows = await this.db.read(async (sql) => {
      if (!(await this.exists(sql, conversationId))) throw new NotFoundError('conversation', conversationId);
      return sql.rows(`SELECT ${p.select()} FROM participants WHERE conversation_id = ? ORDER BY joined_at, user_id`, [
        conversationId,
      ]);
    });
    return rows.map(p.fromRow);
  }

  async addParticipant(participant: Participant, audit: AuditEntry): Promise<Participant> {
    await this.db.tx(async (sql) => {
      // Claiming the seq also tells whether the conversation exists (and locks its row first).
      const seq = await claimSeq(sql, participant.conversationId);
      if (seq === null) throw new NotFoundError('conversation', participant.conversationId);
      // A second row for the same user fails the primary key → DuplicateError('participant', 'userId').
      await sql.exec(insertSql(this.codecs.participants), this.codecs.participants.toParams(participant));
      // Counted, and its inbox row filled (or the conversation turned shared) in this transaction.
      await membersChanged(sql, participant.conversationId, 1);
      await writeAudit(sql, this.codecs, audit);
      await writeEvent(sql, this.events, participantAdded(participant, audit), seq);
    });
    return structuredClone(participant);
  }

  async removeParticipant(conversationId: string, userId: string, audit: AuditEntry): Promise<void> {
    await this.db.tx(async (sql) => {
      const seq = await claimSeq(sql, conversationId);
      const removed =
        seq === null
          ? 0
          : await sql.exec('DELETE FROM participants WHERE conversation_id = ? AND user_id = ?', [
              conversationId,
              userId,
            ]);
      if (seq === null || removed === 0) throw new NotFoundError('participant', `${conversationId}/${userId}`);
      await membersChanged(sql, conversationId, -1);
      await writeAudit(sql, this.codecs, audit);
      await writeEvent(sql, this.events, participantRemoved(conversationId, userId, audit), seq);
      await writeRemoval(sql, this.db, conversationId, userId, audit.at);
    });
  }

  private async exists(sql: Sql, id: string): Promise<boolean> {
    return (await sql.rows('SELECT 1 AS found FROM conversations WHERE id = ?', [id])).length > 0;
  }

  /** The conversation when `viewerId` takes part in it: its participant row joined in. */
  private async selectSeen(sql: Sql, id: string, viewerId: string): Promise<Conversation | null> {
    const c = this.codecs.conversations;
    const [row] = await sql.rows(
      `SELECT ${c.select('c')} FROM conversations c JOIN participants p ON p.conversation_id = c.id AND p.user_id = ? WHERE c.id = ?`,
      [viewerId, id],
    );
    return row ? c.fromRow(row) : null;
  }

  private async selectOne(sql: Sql, id: string): Promise<Conversation | null> {
    const c = this.codecs.conversations;
    const [row] = await sql.rows(`SELECT ${c.select()} FROM conversations WHERE id = ?`, [id]);
    return row ? c.fromRow(row) : null;
  }
}

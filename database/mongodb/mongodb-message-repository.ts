import type { Filter } from 'mongodb';
import { NotFoundError, VersionConflictError } from '../../src/domain/errors.js';
import type { AuditEntry, Message } from '../../src/domain/models.js';
import type {
  MessageDeletion,
  MessageListQuery,
  MessageRepository,
  MessageUpdate,
  Page,
  PostResult,
} from '../../src/repositories/ports.js';
import type { AuditOutbox } from './audit-outbox.js';
import {
  contentDoc,
  fromMessageDoc,
  intOf,
  LIVE,
  MESSAGE_FIELDS,
  metadataDoc,
  toMessageDoc,
  type MessageDoc,
} from './document-mapper.js';
import { checkDocumentSize } from './document-size.js';
import { isDuplicateKey } from './map-mongodb-error.js';
import type { MongoContext } from './mongodb-context.js';
import { changeMessageLogged } from './mongodb-event-repository.js';
import { postInSteps, postInTransaction, postManyInSteps, postManyInTransaction, settlePost } from './posting.js';
import type { Recovery } from './recovery.js';

/** Messages visible to readers: posts that finished (were counted into their conversation). */
const VISIBLE = { _uncountedAt: { $exists: false } } as const;

export class MongoMessageRepository implements MessageRepository {
  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
    private readonly recovery: Recovery,
  ) {}

  /**
   * One transaction where the deployment has them, else the steps of posting.ts (reserve, insert
   * hidden, count once, reveal, release). The unique (conversationId, clientMessageId) index makes
   * a repeated post fail on insert, and the stored message is returned instead — after finishing
   * it if it is still in flight. Readers never see a message its conversation has not counted.
   */
  post(message: Message): Promise<PostResult> {
    return this.ctx.guard('message', async () => {
      await this.requireViewer(message.conversationId, message.authorId);
      const doc = toMessageDoc(message);
      // A second attempt only when the earlier post of this clientMessageId turned out abandoned and was removed.
      for (let attempt = 1; ; attempt++) {
        try {
          if (this.ctx.transactions) await this.ctx.atomically((session) => postInTransaction(this.ctx, doc, session!));
          else await postInSteps(this.ctx, doc);
          return { message: fromMessageDoc(doc), created: true };
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          const earlier = await this.earlierPost(doc, error);
          if (earlier) return { message: earlier, created: false };
          if (attempt === 2) throw error;
        }
      }
    });
  }

  /**
   * `post` for a batch, as one post: one transaction where the deployment has them, else the
   * steps of posting.ts with one reservation, one count and one reveal for the whole batch
   * (recovery finishes or removes a batch a crash interrupted, as a whole). Readers never see
   * part of a batch its conversation has not counted.
   */
  postMany(conversationId: string, messages: readonly Message[]): Promise<Message[]> {
    return this.ctx.guard('message', async () => {
      const docs = messages.map(toMessageDoc);
      try {
        if (this.ctx.transactions)
          await this.ctx.atomically((session) => postManyInTransaction(this.ctx, conversationId, docs, session!));
        else await postManyInSteps(this.ctx, conversationId, docs);
        return docs.map(fromMessageDoc);
      } catch (error) {
        // As on every backend, a missing conversation is reported before a taken id.
        if (isDuplicateKey(error) && !(await this.liveConversation(conversationId)))
          throw new NotFoundError('conversation', conversationId);
        throw error;
      }
    });
  }

  /**
   * The stored post a duplicate key points at, finished if still in flight; null when that post
   * was abandoned and removed (the caller may post again). Rethrows `duplicate` when it is about
   * another key (a taken message id).
   */
  private async earlierPost(doc: MessageDoc, duplicate: unknown): Promise<Message | null> {
    // As on every backend, a missing conversation is reported before anything about the message.
    if (!(await this.liveConversation(doc.conversationId))) throw new NotFoundError('conversation', doc.conversationId);
    if (doc.clientMessageId === null) throw duplicate;
    // `$type` as in the unique index's partial filter: the server uses that index only for a
    // query it can prove lies within the filter, and an equality alone does not prove a type.
    const earlier = await this.ctx.messages.findOne(
      { conversationId: doc.conversationId, clientMessageId: { $eq: doc.clientMessageId, $type: 'string' } },
      this.ctx.opts(),
    );
    if (!earlier) throw duplicate;
    if (earlier._uncountedAt !== undefined && !(await settlePost(this.ctx, earlier))) {
      if (!(await this.liveConversation(doc.conversationId)))
        throw new NotFoundError('conversation', doc.conversationId);
      return null;
    }
    const { _uncountedAt, _outbox, ...stored } = earlier;
    return fromMessageDoc(stored);
  }

  private async liveConversation(conversationId: string): Promise<boolean> {
    const live = await this.ctx.conversations.countDocuments(
      { _id: conversationId, ...LIVE },
      { limit: 1, ...this.ctx.opts() },
    );
    return live > 0;
  }

  private async find(conversationId: string, messageId: string): Promise<MessageDoc | null> {
    await this.recovery.maybeSweep();
    const filter = { _id: messageId, conversationId, ...VISIBLE };
    return this.ctx.messages.findOne(filter, { projection: MESSAGE_FIELDS, ...this.ctx.opts() });
  }

  get(conversationId: string, messageId: string, viewerId?: string): Promise<Message> {
    return this.ctx.guard('message', async () => {
      await this.requireViewer(conversationId, viewerId);
      const doc = await this.find(conversationId, messageId);
      if (!doc) throw new NotFoundError('message', messageId);
      return fromMessageDoc(doc);
    });
  }

  /** The visibility rule for a `viewerId` (or a post's author): 404 when they do not take part. */
  private async requireViewer(conversationId: string, viewerId: string | undefined): Promise<void> {
    if (viewerId === undefined) return;
    const found = await this.ctx.conversations.findOne(
      { _id: conversationId, ...LIVE, 'participants.userId': viewerId },
      { projection: { _id: 1 }, ...this.ctx.opts() },
    );
    if (!found) throw new NotFoundError('conversation', conversationId);
  }

  /**
   * Optimistic concurrency: the version (when given) is part of the update's filter. The event's
   * seq is claimed on the conversation after the message changed, and the event written — one
   * transaction on replica sets; ordered steps on a standalone server (DESIGN.md, "Events").
   */
  private change(
    type: 'message.updated' | 'message.deleted',
    conversationId: string,
    messageId: string,
    expectedVersion: number | undefined,
    set: Partial<MessageDoc>,
    audit: AuditEntry,
  ): Promise<Message> {
    return this.ctx.guard('message', async () => {
      const filter: Filter<MessageDoc> = { _id: messageId, conversationId, deletedAt: null, ...VISIBLE };
      if (expectedVersion !== undefined) filter.version = expectedVersion;
      const update = { $set: set, $inc: { version: 1 }, $push: this.outbox.push(audit) };
      checkDocumentSize('message', 'content', update);
      const doc = await changeMessageLogged(this.ctx, type, conversationId, filter, update, audit);
      if (!doc) {
        const current = await this.find(conversationId, messageId);
        // Tombstones cannot change: to the caller they are not there.
        if (!current || current.deletedAt !== null || expectedVersion === undefined)
          throw new NotFoundError('message', messageId);
        throw new VersionConflictError('message', messageId, expectedVersion, intOf(current.version));
      }
      await this.outbox.deliverAfterWrite('messages', messageId, audit);
      return fromMessageDoc(doc);
    });
  }

  update(change: MessageUpdate): Promise<Message> {
    const { conversationId, messageId, expectedVersion, patch, editedAt, audit } = change;
    const set: Partial<MessageDoc> = { editedAt };
    if (patch.content !== undefined) set.content = contentDoc(patch.content);
    if (patch.metadata !== undefined) set.metadata = metadataDoc(patch.metadata);
    return this.change('message.updated', conversationId, messageId, expectedVersion, set, audit);
  }

  softDelete(deletion: MessageDeletion): Promise<Message> {
    const { conversationId, messageId, expectedVersion, deletedAt, audit } = deletion;
    const tombstone = { content: [], metadata: {}, deletedAt };
    return this.change('message.deleted', conversationId, messageId, expectedVersion, tombstone, audit);
  }

  /** Keyset page on (createdAt, _id), served by the index {conversationId: 1, createdAt: 1, _id: 1} in either direction. */
  list(query: MessageListQuery): Promise<Page<Message>> {
    return this.ctx.guard('message', async () => {
      await this.recovery.maybeSweep();
      await this.requireViewer(query.conversationId, query.viewerId);
      const older = query.direction === 'older';
      const filter: Filter<MessageDoc> = { conversationId: query.conversationId, ...VISIBLE };
      const after = query.after;
      if (after) {
        const { at, id } = after;
        filter.$or = older
          ? [{ createdAt: { $lt: at } }, { createdAt: at, _id: { $lt: id } }]
          : [{ createdAt: { $gt: at } }, { createdAt: at, _id: { $gt: id } }];
      }
      const dir = older ? -1 : 1;
      const limit = query.limit;
      const docs = await this.ctx.messages
        .find(filter, {
          projection: MESSAGE_FIELDS,
          sort: { createdAt: dir, _id: dir },
          limit: limit + 1,
          ...this.ctx.opts(),
        })
        .toArray();
      return { items: docs.slice(0, limit).map(fromMessageDoc), hasMore: docs.length > limit };
    });
  }
}

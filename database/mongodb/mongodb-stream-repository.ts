import type { Filter } from 'mongodb';
import { NotFoundError, StreamError, VersionConflictError } from '../../src/domain/errors.js';
import type { ContentPart, Message } from '../../src/domain/models.js';
import type { StaleStream, StreamFinish, StreamFlush, StreamRepository } from '../../src/repositories/ports.js';
import type { AuditOutbox } from './audit-outbox.js';
import { contentDoc, fromMessageDoc, intOf, MESSAGE_FIELDS, unescapeJson, type MessageDoc } from './document-mapper.js';
import { checkDocumentSize } from './document-size.js';
import type { MongoContext } from './mongodb-context.js';
import { changeMessageLogged } from './mongodb-event-repository.js';

/** Messages a stream may write: counted (visible), live, in progress. */
const STREAMING = { deletedAt: null, status: 'in_progress', _uncountedAt: { $exists: false } } as const;

/**
 * Streamed messages on MongoDB (DESIGN.md, "Streamed messages"). A flush is one conditional
 * findOneAndUpdate of the message document — standalone-safe as it stands, it touches one
 * document and writes no event. A finish changes the message first and then claims the event's
 * seq and writes the event, as edits do: one transaction on a replica set, ordered steps on a
 * standalone server, its audit entry travelling in the document's outbox.
 */
export class MongoStreamRepository implements StreamRepository {
  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
  ) {}

  flush(change: StreamFlush): Promise<Message | null> {
    return this.ctx.guard('message', async () => {
      const filter: Filter<MessageDoc> = {
        _id: change.messageId,
        conversationId: change.conversationId,
        version: change.expectedVersion,
        ...STREAMING,
      };
      const update = {
        $set: { content: contentDoc(change.content), _streamTouchedAt: change.touchedAt },
        $inc: { version: 1 },
      };
      checkDocumentSize('message', 'content', update);
      const doc = await this.ctx.messages.findOneAndUpdate(filter, update, {
        returnDocument: 'after',
        projection: MESSAGE_FIELDS,
        ...this.ctx.opts(),
      });
      return doc ? fromMessageDoc(doc) : null;
    });
  }

  finish(change: StreamFinish): Promise<Message> {
    const { conversationId, messageId, expectedVersion, audit } = change;
    return this.ctx.guard('message', async () => {
      const filter: Filter<MessageDoc> = { _id: messageId, conversationId, ...STREAMING };
      if (expectedVersion !== undefined) filter.version = expectedVersion;
      const update = {
        $set: { content: contentDoc(change.content), status: change.status, statusReason: change.statusReason },
        $unset: { _streamTouchedAt: '' as const },
        $inc: { version: 1 },
        $push: this.outbox.push(audit),
      };
      checkDocumentSize('message', 'content', update);
      const doc = await changeMessageLogged(this.ctx, 'message.updated', conversationId, filter, update, audit);
      if (!doc) {
        const current = await this.ctx.messages.findOne(
          { _id: messageId, conversationId, _uncountedAt: { $exists: false } },
          { projection: { status: 1, version: 1, deletedAt: 1 }, ...this.ctx.opts() },
        );
        if (!current || current.deletedAt !== null) throw new NotFoundError('message', messageId);
        const version = intOf(current.version);
        if (expectedVersion !== undefined && version !== expectedVersion)
          throw new VersionConflictError('message', messageId, expectedVersion, version);
        const status = current.status ?? 'completed';
        throw new StreamError('message_not_in_progress', `message ${messageId} is ${status}`, { status });
      }
      await this.outbox.deliverAfterWrite('messages', messageId, audit);
      return fromMessageDoc(doc);
    });
  }

  /** A probe of the partial index messages_stream_touched (only streaming messages have the field). */
  stale(before: Date, limit: number): Promise<StaleStream[]> {
    return this.ctx.guard('message', async () => {
      const docs = await this.ctx.messages
        .find(
          { _streamTouchedAt: { $exists: true, $lt: before }, ...STREAMING },
          {
            projection: { conversationId: 1, authorId: 1, version: 1, content: 1, _streamTouchedAt: 1 },
            sort: { _streamTouchedAt: 1, _id: 1 },
            limit,
            ...this.ctx.opts(),
          },
        )
        .toArray();
      return docs.map((d) => ({
        conversationId: d.conversationId,
        messageId: d._id,
        authorId: d.authorId,
        version: intOf(d.version),
        content: unescapeJson(d.content) as ContentPart[],
        touchedAt: d._streamTouchedAt!,
      }));
    });
  }
}

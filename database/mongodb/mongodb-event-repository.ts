import type { ClientSession, Filter, UpdateFilter } from 'mongodb';
import type { ConversationEvent, NewEvent } from '../../src/domain/events.js';
import { messageChanged } from '../../src/domain/events.js';
import type { AuditEntry } from '../../src/domain/models.js';
import type { EventRepository, Page } from '../../src/repositories/ports.js';
import {
  escapeJson,
  fromMessageDoc,
  intOf,
  MESSAGE_FIELDS,
  type MessageDoc,
  type StoredInt,
  storedInt,
  unescapeJson,
} from './document-mapper.js';
import type { MongoContext } from './mongodb-context.js';

/**
 * The event log on MongoDB: an `events` collection keyed `<conversationId>:<seq>` (unique
 * (conversationId, seq) as well), and the last seq given out as `eventSeq` on the conversation
 * document. A change of the conversation document claims its seq with `$inc: {eventSeq: 1}` in
 * that same single-document update (atomic on every deployment); a message edit or delete claims
 * it on the conversation right after. The event is inserted next, in the change's transaction on
 * replica sets. On a standalone server see DESIGN.md ("Events").
 */

export interface EventDoc {
  _id: string;
  conversationId: string;
  /** int64 from 2^31 on (storedInt), so the validator's int/long accepts it. */
  seq: StoredInt;
  type: ConversationEvent['type'];
  at: Date;
  actorId: string;
  subject: string;
  data: Record<string, unknown>;
}

export const eventDocId = (conversationId: string, seq: number) => `${conversationId}:${seq}`;

function eventDoc(event: NewEvent, seq: number): EventDoc {
  return {
    _id: eventDocId(event.conversationId, seq),
    conversationId: event.conversationId,
    seq: storedInt(seq),
    type: event.type,
    at: event.at,
    actorId: event.actorId,
    subject: event.subject,
    data: escapeJson(event.data) as Record<string, unknown>,
  };
}

export async function insertEvent(
  ctx: MongoContext,
  event: NewEvent,
  seq: number,
  session?: ClientSession,
): Promise<void> {
  await ctx.events.insertOne(eventDoc(event, seq), ctx.opts(session));
}

/** Inserts `events` with consecutive seqs from `firstSeq`, in one ordered insertMany. */
export async function insertEvents(
  ctx: MongoContext,
  events: readonly NewEvent[],
  firstSeq: number,
  session?: ClientSession,
): Promise<void> {
  const docs = events.map((event, i) => eventDoc(event, firstSeq + i));
  await ctx.events.insertMany(docs, { ordered: true, ...ctx.opts(session) });
}

/**
 * Changes the one message `filter` matches and logs its event under a seq claimed on the
 * conversation after the change: one transaction on replica sets, ordered steps on a standalone
 * server (DESIGN.md, "Events"). Returns the changed message's document, or null when nothing
 * matched (then nothing was written).
 */
export function changeMessageLogged(
  ctx: MongoContext,
  type: 'message.updated' | 'message.deleted',
  conversationId: string,
  filter: Filter<MessageDoc>,
  update: UpdateFilter<MessageDoc>,
  audit: AuditEntry,
): Promise<MessageDoc | null> {
  return ctx.atomically(async (session) => {
    const changed = await ctx.messages.findOneAndUpdate(filter, update, {
      returnDocument: 'after',
      projection: MESSAGE_FIELDS,
      ...ctx.opts(session),
    });
    if (!changed) return null;
    const seq = await claimSeq(ctx, conversationId, session);
    if (seq !== null) await insertEvent(ctx, messageChanged(type, fromMessageDoc(changed), audit), seq, session);
    return changed;
  });
}

/** Claims the next seq of a live conversation (`$inc`, returning the new value); null when it is gone. */
export async function claimSeq(
  ctx: MongoContext,
  conversationId: string,
  session?: ClientSession,
): Promise<number | null> {
  const doc = await ctx.conversations.findOneAndUpdate(
    { _id: conversationId, _deletingAt: { $exists: false } },
    { $inc: { eventSeq: 1 } },
    { returnDocument: 'after', projection: { eventSeq: 1 }, ...ctx.opts(session) },
  );
  return doc ? (doc.eventSeq ?? 0) : null;
}

function fromEventDoc(d: EventDoc): ConversationEvent {
  return {
    conversationId: d.conversationId,
    seq: intOf(d.seq),
    type: d.type,
    at: d.at,
    actorId: d.actorId,
    subject: d.subject,
    data: unescapeJson(d.data) as ConversationEvent['data'],
  };
}

export class MongoEventRepository implements EventRepository {
  constructor(private readonly ctx: MongoContext) {}

  list(conversationId: string, afterSeq: number, limit: number): Promise<Page<ConversationEvent>> {
    return this.ctx.guard('conversation', async () => {
      const docs = await this.ctx.events
        .find({ conversationId, seq: { $gt: afterSeq } }, { sort: { seq: 1 }, limit: limit + 1, ...this.ctx.opts() })
        .toArray();
      return { items: docs.slice(0, limit).map(fromEventDoc), hasMore: docs.length > limit };
    });
  }

  latestSeq(conversationId: string): Promise<number> {
    return this.ctx.guard('conversation', async () => {
      const doc = await this.ctx.conversations.findOne(
        { _id: conversationId },
        { projection: { eventSeq: 1 }, ...this.ctx.opts() },
      );
      if (doc) return doc.eventSeq ?? 0;
      const [last] = await this.ctx.events
        .find({ conversationId }, { sort: { seq: -1 }, limit: 1, projection: { seq: 1 }, ...this.ctx.opts() })
        .toArray();
      return last ? intOf(last.seq) : 0;
    });
  }

  joinedSeq(conversationId: string, userId: string): Promise<number> {
    return this.ctx.guard('conversation', async () => {
      const [last] = await this.ctx.events
        .find(
          { conversationId, subject: userId, type: 'participant.added' },
          { sort: { seq: -1 }, limit: 1, projection: { seq: 1 }, ...this.ctx.opts() },
        )
        .toArray();
      return last ? intOf(last.seq) : 0;
    });
  }

  prune(before: Date): Promise<number> {
    return this.ctx.guard('conversation', async () => {
      const events = await this.ctx.events.deleteMany({ at: { $lt: before } }, this.ctx.opts());
      const removals = await this.ctx.removals.deleteMany({ at: { $lt: before } }, this.ctx.opts());
      return events.deletedCount + removals.deletedCount;
    });
  }
}

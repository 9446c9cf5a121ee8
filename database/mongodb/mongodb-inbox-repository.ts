import { MongoServerError, type ClientSession } from 'mongodb';
import type {
  InboxChange,
  InboxPosition,
  InboxRemoval,
  InboxRepository,
  Page,
  RemovalReason,
  TicketUseRepository,
} from '../../src/repositories/ports.js';
import { fromConversationDoc, LIVE, type ConversationDoc } from './document-mapper.js';
import { compareCodePoints } from './keys.js';
import type { MongoContext } from './mongodb-context.js';

/** A participant removal (migration 0004-inbox-and-tickets). */
export interface RemovalDoc {
  _id: string;
  userId: string;
  conversationId: string;
  at: Date;
  reason: RemovalReason;
}

export interface TicketUseDoc {
  _id: string;
  expiresAt: Date;
}

const DUPLICATE_KEY = 11000;

/** An inclusion projection (MongoDB does not mix `$elemMatch` with exclusions): the conversation's own fields. */
const INBOX_FIELDS = {
  title: 1,
  metadata: 1,
  createdBy: 1,
  createdAt: 1,
  updatedAt: 1,
  lastMessageAt: 1,
  activityAt: 1,
  messageCount: 1,
  version: 1,
} as const;

const removalDoc = (userId: string, conversationId: string, at: Date, reason: RemovalReason): RemovalDoc => ({
  // One removal of a user from a conversation per millisecond; a retried transaction writes the same id.
  _id: `${conversationId}|${at.getTime()}|${userId}`,
  userId,
  conversationId,
  at,
  reason,
});

/**
 * Records removals with the change that caused them (in its transaction where there is one). On a
 * standalone server they are written right after the change: a crash in between loses the
 * removal's inbox notice (the removal itself stands); DESIGN.md, "Events".
 */
export async function insertRemovals(
  ctx: MongoContext,
  conversationId: string,
  userIds: readonly string[],
  at: Date,
  reason: RemovalReason,
  session?: ClientSession,
): Promise<void> {
  if (userIds.length === 0) return;
  const docs = userIds.map((u) => removalDoc(u, conversationId, at, reason));
  try {
    await ctx.removals.insertMany(docs, { ordered: false, ...ctx.opts(session) });
  } catch (error) {
    // Written already (a retry): the same ids, nothing to add.
    if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY) || session) throw error;
  }
}

/** The later of a conversation's change times for one participant. */
function changedAt(doc: ConversationDoc, userId: string): Date {
  const joined = doc.participants.find((p) => p.userId === userId)?.joinedAt.getTime() ?? 0;
  return new Date(Math.max(doc.activityAt.getTime(), doc.updatedAt.getTime(), joined));
}

const compare = (a: InboxPosition, b: InboxPosition) =>
  a.at.getTime() - b.at.getTime() || compareCodePoints(a.id, b.id);

export class MongoInboxRepository implements InboxRepository {
  constructor(private readonly ctx: MongoContext) {}

  /**
   * The user's live conversations with any of the three times at or after the position, ordered
   * here by the computed time. Read as two parts, the small conversations and the shared ones
   * (DESIGN.md, "The inbox"), each from its partial index on participants.userId. Only the caller's
   * own participant entry is fetched, whatever the conversation's size.
   */
  changes(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxChange>> {
    return this.ctx.guard('conversation', async () => {
      const since = after.at;
      const part = (shared: boolean) =>
        this.ctx.conversations
          .find(
            {
              'participants.userId': userId,
              shared,
              ...LIVE,
              $or: [
                { activityAt: { $gte: since } },
                { updatedAt: { $gte: since } },
                { participants: { $elemMatch: { userId, joinedAt: { $gte: since } } } },
              ],
            },
            {
              projection: { ...INBOX_FIELDS, participants: { $elemMatch: { userId } } },
              ...this.ctx.opts(),
            },
          )
          .toArray();
      const docs = (await Promise.all([part(false), part(true)])).flat();
      const items = docs
        .map((doc) => ({ conversation: fromConversationDoc(doc), changedAt: changedAt(doc, userId) }))
        .filter((x) => compare({ at: x.changedAt, id: x.conversation.id }, after) > 0)
        .sort((a, b) =>
          compare({ at: a.changedAt, id: a.conversation.id }, { at: b.changedAt, id: b.conversation.id }),
        );
      return { items: items.slice(0, limit), hasMore: items.length > limit };
    });
  }

  removals(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxRemoval>> {
    return this.ctx.guard('participant', async () => {
      const docs = await this.ctx.removals
        .find(
          {
            userId,
            $or: [{ at: { $gt: after.at } }, { at: after.at, conversationId: { $gt: after.id } }],
          },
          { sort: { at: 1, conversationId: 1 }, limit: limit + 1, ...this.ctx.opts() },
        )
        .toArray();
      return {
        items: docs
          .slice(0, limit)
          .map((d) => ({ userId: d.userId, conversationId: d.conversationId, at: d.at, reason: d.reason })),
        hasMore: docs.length > limit,
      };
    });
  }
}

export class MongoTicketUseRepository implements TicketUseRepository {
  constructor(private readonly ctx: MongoContext) {}

  claim(nonce: string, expiresAt: Date): Promise<boolean> {
    return this.ctx.guard('audit', async () => {
      try {
        await this.ctx.ticketUses.insertOne({ _id: nonce, expiresAt }, this.ctx.opts());
        return true;
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
        throw error;
      }
    });
  }

  prune(now: Date): Promise<number> {
    return this.ctx.guard('audit', async () => {
      const result = await this.ctx.ticketUses.deleteMany({ expiresAt: { $lt: now } }, this.ctx.opts());
      return result.deletedCount;
    });
  }
}

import type { ClientSession } from 'mongodb';
import type { AuditOutbox } from './audit-outbox.js';
import { messageCreated } from '../../src/domain/events.js';
import { fromMessageDoc, LIVE, type AuditDoc, type MessageDoc } from './document-mapper.js';
import type { MongoContext } from './mongodb-context.js';
import { insertEvent, insertEvents } from './mongodb-event-repository.js';

/**
 * The changes that span documents — posting a message or a batch of them (messages +
 * conversation counters) and deleting a conversation (conversation + its messages + audit) — and
 * the repair of what a crash between their steps leaves on a deployment without transactions.
 * See DESIGN.md.
 */

/** How many recently counted message ids a conversation remembers, to count each message once. */
export const RECENT_POSTS_KEPT = 64;
/** A post older than this that is still uncounted was interrupted; recovery finishes it. */
export const INTERRUPTED_POST_MS = 60_000;
/** Recovery runs at most this often per store (it only looks at interrupted work). */
export const SWEEP_INTERVAL_MS = 10_000;

/** What counting a message did: whether it stays, and the event seq this count claimed (null: counted before). */
export interface CountResult {
  counted: boolean;
  seq: number | null;
}

/**
 * Counts `message` into its conversation: messageCount + 1, lastMessageAt and activityAt raised
 * to its createdAt, and the post's event seq claimed (eventSeq + 1) — one atomic update (an
 * update pipeline, so activityAt is exactly `lastMessageAt ?? createdAt`). The conversation
 * remembers the last ids it counted, which makes this idempotent: a post and a recovery sweep
 * racing on one message count it (and claim its seq) once; the one that counted writes the event.
 * `counted` is false when the conversation is gone (missing, or a delete has begun).
 */
export function countMessage(
  ctx: MongoContext,
  message: Pick<MessageDoc, '_id' | 'conversationId' | 'createdAt'>,
  session?: ClientSession,
): Promise<CountResult> {
  return countInto(ctx, message.conversationId, message._id, 1, message.createdAt, session);
}

/**
 * The counting update for `n` messages at once, remembered under `token` (the message's id, or a
 * batch's first id). The returned seq is the last one claimed: the count claims `seq - n + 1 … seq`.
 */
async function countInto(
  ctx: MongoContext,
  conversationId: string,
  token: string,
  n: number,
  latest: Date,
  session?: ClientSession,
): Promise<CountResult> {
  const at = { $literal: latest };
  const result = await ctx.conversations.findOneAndUpdate(
    { _id: conversationId, ...LIVE, _recentPosts: { $ne: token } },
    [
      {
        $set: {
          messageCount: { $add: ['$messageCount', n] },
          lastMessageAt: { $max: ['$lastMessageAt', at] },
          activityAt: { $max: ['$lastMessageAt', at] },
          eventSeq: { $add: [{ $ifNull: ['$eventSeq', 0] }, n] },
          _recentPosts: {
            $slice: [
              { $concatArrays: [{ $ifNull: ['$_recentPosts', []] }, [{ $literal: token }]] },
              -RECENT_POSTS_KEPT,
            ],
          },
        },
      },
    ],
    { returnDocument: 'after', projection: { eventSeq: 1 }, ...ctx.opts(session) },
  );
  if (result) return { counted: true, seq: result.eventSeq ?? 0 };
  const conversation = await ctx.conversations.findOne(
    { _id: conversationId },
    { projection: { _deletingAt: 1 }, ...ctx.opts(session) },
  );
  // Alive, yet not matched: the token was in _recentPosts, so a racing post or recovery counted it already.
  return { counted: conversation !== null && conversation._deletingAt === undefined, seq: null };
}

/** Counts a message and, when this count claimed a seq, writes its `message.created` event. */
export async function countAndLog(ctx: MongoContext, message: MessageDoc, session?: ClientSession): Promise<boolean> {
  const { counted, seq } = await countMessage(ctx, message, session);
  if (seq !== null) await insertEvent(ctx, messageCreated(fromMessageDoc(storedOf(message))), seq, session);
  return counted;
}

/** A message as stored, without the adapter's bookkeeping. */
function storedOf(doc: MessageDoc): MessageDoc {
  const { _uncountedAt, _outbox, _batch, ...stored } = doc;
  return stored;
}

/**
 * Counts a batch of postMany (`docs`, in batch order) into its conversation in one update, under
 * the batch's first id, and, when this count claimed the seqs, writes their `message.created`
 * events in order. False when the conversation is gone.
 */
export async function countBatchAndLog(
  ctx: MongoContext,
  conversationId: string,
  docs: readonly MessageDoc[],
  session?: ClientSession,
): Promise<boolean> {
  const latest = new Date(Math.max(...docs.map((d) => d.createdAt.getTime())));
  const { counted, seq } = await countInto(ctx, conversationId, docs[0]!._id, docs.length, latest, session);
  if (seq !== null) {
    const created = docs.map((d) => messageCreated(fromMessageDoc(storedOf(d))));
    await insertEvents(ctx, created, seq - docs.length + 1, session);
  }
  return counted;
}

/** The last step of a postMany: the batch becomes visible (one updateMany; see DESIGN.md). */
export async function revealBatch(ctx: MongoContext, ids: readonly string[], session?: ClientSession): Promise<void> {
  await ctx.messages.updateMany(
    { _id: { $in: [...ids] } },
    { $unset: { _uncountedAt: '', _batch: '' } },
    ctx.opts(session),
  );
}

/**
 * Finishes an interrupted postMany from one of its messages. Before the count every message of
 * a batch is hidden, so: all of them hidden → the count decides (count, then reveal; or remove
 * them when the conversation is gone); some already visible → the batch was counted and its
 * reveal cut short → reveal the rest; some missing and none visible → the insert never finished,
 * the post failed → remove what it left. Returns whether the batch stays.
 */
async function settleBatch(ctx: MongoContext, member: MessageDoc, ids: readonly string[]): Promise<boolean> {
  const docs = await ctx.messages
    .find({ _id: { $in: [...ids] } }, { projection: { _outbox: 0 }, ...ctx.opts() })
    .toArray();
  const hidden = docs.filter((d) => d._uncountedAt !== undefined && d._batch !== undefined);
  const remove = () => ctx.messages.deleteMany({ _id: { $in: hidden.map((d) => d._id) } }, ctx.opts());
  if (hidden.length === ids.length) {
    const ordered = ids.map((id) => hidden.find((d) => d._id === id)!);
    if (await countBatchAndLog(ctx, member.conversationId, ordered)) {
      await revealBatch(ctx, ids);
      return true;
    }
    await remove();
    return false;
  }
  if (docs.some((d) => d._uncountedAt === undefined)) {
    await revealBatch(ctx, ids);
    return true;
  }
  await remove();
  return false;
}

/** The last step of a post: the message becomes visible. */
export async function markCounted(ctx: MongoContext, messageId: string, session?: ClientSession): Promise<void> {
  await ctx.messages.updateOne({ _id: messageId }, { $unset: { _uncountedAt: '' } }, ctx.opts(session));
}

/**
 * Finishes a posted message that is not counted yet (an interrupted post, or one still in flight
 * that a retry is waiting for): counts it and makes it visible, or removes it when its
 * conversation is gone. Returns whether the message stays.
 */
export async function settlePost(ctx: MongoContext, message: MessageDoc, session?: ClientSession): Promise<boolean> {
  if (message._batch !== undefined) return settleBatch(ctx, message, message._batch);
  if (await countAndLog(ctx, message, session)) {
    await markCounted(ctx, message._id, session);
    return true;
  }
  await ctx.messages.deleteOne({ _id: message._id }, ctx.opts(session));
  return false;
}

export class Recovery {
  private lastSweep = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
  ) {}

  /**
   * The rest of a conversation delete once the conversation is marked (and so gone for readers):
   * deliver its audit entries, remove its messages, remove it. Every step can run again.
   */
  async finishDelete(conversationId: string, outbox: AuditDoc[]): Promise<void> {
    await this.outbox.deliver('conversations', conversationId, outbox);
    await this.ctx.messages.deleteMany({ conversationId }, this.ctx.opts());
    await this.ctx.conversations.deleteOne({ _id: conversationId }, this.ctx.opts());
  }

  /** Runs sweep() when the last one is older than SWEEP_INTERVAL_MS; waits for one in progress. */
  async maybeSweep(): Promise<void> {
    if (this.running) return this.running;
    if (Date.now() - this.lastSweep < SWEEP_INTERVAL_MS) return;
    return this.sweep();
  }

  /**
   * Repairs what interrupted standalone writes left: audit entries waiting in outboxes,
   * conversation deletes that stopped after the mark, posts that stopped before counting.
   * Failures are logged; the caller's own operation decides its outcome.
   */
  sweep(): Promise<void> {
    this.running ??= this.repair()
      .catch((error: unknown) =>
        this.ctx.log.warn({ err: error }, 'MongoDB recovery sweep failed; it runs again later'),
      )
      .finally(() => {
        this.lastSweep = Date.now();
        this.running = undefined;
      });
    return this.running;
  }

  private async repair(): Promise<void> {
    await this.outbox.deliverAll();
    for await (const c of this.ctx.conversations.find(
      { _deletingAt: { $exists: true } },
      { projection: { _outbox: 1 }, ...this.ctx.opts() },
    )) {
      this.ctx.log.warn({ conversationId: c._id }, 'finishing an interrupted conversation delete');
      await this.finishDelete(c._id, c._outbox ?? []);
    }
    const cutoff = new Date(Date.now() - INTERRUPTED_POST_MS);
    const stalled = this.ctx.messages.find(
      { _uncountedAt: { $exists: true, $lt: cutoff } },
      { projection: { _outbox: 0 }, ...this.ctx.opts() },
    );
    for await (const m of stalled) {
      this.ctx.log.warn(
        { messageId: m._id, conversationId: m.conversationId },
        'finishing an interrupted message post',
      );
      await settlePost(this.ctx, m);
    }
  }
}

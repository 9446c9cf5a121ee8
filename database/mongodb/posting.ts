import type { ClientSession } from 'mongodb';
import { NotFoundError, UnavailableError } from '../../src/domain/errors.js';
import { messageCreated } from '../../src/domain/events.js';
import { fromMessageDoc, LIVE, type MessageDoc } from './document-mapper.js';
import { checkDocumentSize } from './document-size.js';
import type { MongoContext } from './mongodb-context.js';
import { insertEvent } from './mongodb-event-repository.js';

/**
 * Posting a message changes two documents: the message, and its conversation's counters
 * (messageCount, lastMessageAt, activityAt) with the post's event seq. With transactions that is
 * one transaction. Without, the post runs in steps that anyone may repeat — the post itself, a
 * client retrying it, or recovery after a crash (DESIGN.md, "Posting a message"):
 *
 * 1. reserve: push `{id, at, counted: false}` onto the live conversation's `_pendingPosts`;
 * 2. insert the message, hidden (`_uncountedAt`: readers skip it);
 * 3. count: the counter update matches only while that entry is uncounted, and marks it counted
 *    in the same single-document update — so the message is counted once, whoever runs this step
 *    and however long after;
 * 4. reveal: unset `_uncountedAt`;
 * 5. release: pull the entry.
 */

/** What counting a message found: it counted now, had been counted, its conversation is gone, or its reservation was given up. */
export type CountOutcome = 'counted' | 'counted-before' | 'gone' | 'abandoned';

type Counted = Pick<MessageDoc, '_id' | 'conversationId' | 'createdAt'>;

/** Step 1: a reservation in the conversation. False when there is no live conversation. */
export async function reserve(ctx: MongoContext, message: Counted): Promise<boolean> {
  const entry = { id: message._id, at: new Date(), counted: false };
  const result = await ctx.conversations.updateOne(
    { _id: message.conversationId, ...LIVE },
    { $push: { _pendingPosts: entry } },
    ctx.opts(),
  );
  return result.matchedCount === 1;
}

/** Step 5: the reservation is no longer needed once the message is visible (or removed). */
export async function release(ctx: MongoContext, message: Pick<MessageDoc, '_id' | 'conversationId'>): Promise<void> {
  await ctx.conversations.updateOne(
    { _id: message.conversationId },
    { $pull: { _pendingPosts: { id: message._id } } },
    ctx.opts(),
  );
}

/**
 * Step 3: messageCount + 1, lastMessageAt and activityAt raised to the message's createdAt, the
 * event seq claimed — one atomic update (a pipeline, so activityAt is exactly
 * `lastMessageAt ?? createdAt`). `guarded` (the steps path) requires and marks the reservation;
 * inside a transaction (`guarded: false`) the transaction itself makes the post happen once.
 * Returns the outcome and, when this call counted, the seq it claimed.
 */
async function count(
  ctx: MongoContext,
  message: Counted,
  guarded: boolean,
  session?: ClientSession,
): Promise<{ outcome: CountOutcome; seq: number | null }> {
  const at = { $literal: message.createdAt };
  const id = { $literal: message._id };
  const markCounted = {
    $map: {
      input: { $ifNull: ['$_pendingPosts', []] },
      in: { $cond: [{ $eq: ['$$this.id', id] }, { $mergeObjects: ['$$this', { counted: true }] }, '$$this'] },
    },
  };
  const result = await ctx.conversations.findOneAndUpdate(
    {
      _id: message.conversationId,
      ...LIVE,
      ...(guarded ? { _pendingPosts: { $elemMatch: { id: message._id, counted: false } } } : {}),
    },
    [
      {
        $set: {
          messageCount: { $add: ['$messageCount', 1] },
          lastMessageAt: { $max: ['$lastMessageAt', at] },
          activityAt: { $max: ['$lastMessageAt', at] },
          eventSeq: { $add: [{ $ifNull: ['$eventSeq', 0] }, 1] },
          ...(guarded ? { _pendingPosts: markCounted } : {}),
        },
      },
    ],
    { returnDocument: 'after', projection: { eventSeq: 1 }, ...ctx.opts(session) },
  );
  if (result) return { outcome: 'counted', seq: Number(result.eventSeq ?? 0) };
  return { outcome: await whyNotCounted(ctx, message, session), seq: null };
}

/** The guarded count matched nothing: find out why, from the conversation and then the message. */
async function whyNotCounted(ctx: MongoContext, message: Counted, session?: ClientSession): Promise<CountOutcome> {
  const conversation = await ctx.conversations.findOne(
    { _id: message.conversationId },
    { projection: { _deletingAt: 1, _pendingPosts: 1, _recentPosts: 1 }, ...ctx.opts(session) },
  );
  if (!conversation || conversation._deletingAt !== undefined) return 'gone';
  if (conversation._pendingPosts?.some((p) => p.id === message._id && p.counted)) return 'counted-before';
  // Builds before _pendingPosts remembered the ids they counted here.
  if (conversation._recentPosts?.includes(message._id)) return 'counted-before';
  // No reservation: it was released after the message became visible, or given up by recovery
  // (a post stalled for longer than INTERRUPTED_POST_MS) while the message was hidden or not yet there.
  const stored = await ctx.messages.findOne(
    { _id: message._id },
    { projection: { _uncountedAt: 1 }, ...ctx.opts(session) },
  );
  return stored && stored._uncountedAt === undefined ? 'counted-before' : 'abandoned';
}

/** Counts a message and, when this count claimed a seq, writes its `message.created` event. */
async function countAndLog(
  ctx: MongoContext,
  message: MessageDoc,
  guarded: boolean,
  session?: ClientSession,
): Promise<CountOutcome> {
  const { outcome, seq } = await count(ctx, message, guarded, session);
  if (seq !== null) {
    const { _uncountedAt, _outbox, ...stored } = message;
    await insertEvent(ctx, messageCreated(fromMessageDoc(stored)), seq, session);
  }
  return outcome;
}

/** Step 4: the message becomes visible. */
export async function reveal(ctx: MongoContext, messageId: string): Promise<void> {
  await ctx.messages.updateOne({ _id: messageId }, { $unset: { _uncountedAt: '' } }, ctx.opts());
}

/**
 * Finishes a hidden message (an interrupted post, or one in flight that a retry waits for): counts
 * it (once) and reveals it, or removes it when its conversation is gone or its reservation was
 * given up. Returns whether the message stays.
 */
export async function settlePost(ctx: MongoContext, message: MessageDoc): Promise<boolean> {
  const outcome = await countAndLog(ctx, message, true);
  const stays = outcome === 'counted' || outcome === 'counted-before';
  if (stays) await reveal(ctx, message._id);
  else await ctx.messages.deleteOne({ _id: message._id }, ctx.opts());
  await release(ctx, message);
  return stays;
}

/** The whole post on a deployment without transactions: the five steps above. */
export async function postInSteps(ctx: MongoContext, doc: MessageDoc): Promise<void> {
  checkDocumentSize('message', 'content', doc);
  if (!(await reserve(ctx, doc))) throw new NotFoundError('conversation', doc.conversationId);
  try {
    await ctx.messages.insertOne({ ...doc, _uncountedAt: new Date() }, ctx.opts());
  } catch (error) {
    await release(ctx, doc).catch(() => undefined);
    throw error;
  }
  const outcome = await countAndLog(ctx, doc, true);
  if (outcome === 'counted' || outcome === 'counted-before') {
    await reveal(ctx, doc._id);
    await release(ctx, doc);
    return;
  }
  await ctx.messages.deleteOne({ _id: doc._id }, ctx.opts());
  await release(ctx, doc);
  if (outcome === 'gone') throw new NotFoundError('conversation', doc.conversationId);
  // The post stalled for so long that recovery gave its reservation up: nothing of it remains.
  throw new UnavailableError('the post took too long and was not stored; retry it', 1);
}

/** The whole post in one transaction: insert the message (visible: nothing is seen before commit) and count it. */
export async function postInTransaction(ctx: MongoContext, doc: MessageDoc, session: ClientSession): Promise<void> {
  checkDocumentSize('message', 'content', doc);
  await ctx.messages.insertOne(doc, ctx.opts(session));
  // Throwing aborts the transaction, the insert with it.
  if ((await countAndLog(ctx, doc, false, session)) !== 'counted')
    throw new NotFoundError('conversation', doc.conversationId);
}

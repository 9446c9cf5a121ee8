import type { ClientSession } from 'mongodb';
import { NotFoundError, UnavailableError } from '../../src/domain/errors.js';
import { messageCreated } from '../../src/domain/events.js';
import { fromMessageDoc, LIVE, type MessageDoc, type PendingPost } from './document-mapper.js';
import { checkDocumentSize } from './document-size.js';
import type { MongoContext } from './mongodb-context.js';
import { insertEvents } from './mongodb-event-repository.js';

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
 *
 * A batch (postMany) takes the same steps as one post ("Posting a batch"): one reservation under
 * its first message's id with its `size`; one ordered insert of its messages, each hidden and
 * naming the whole batch (`_batch`, the ids in order); one count of all of them, claiming their
 * seqs together; then reveal and release. The insert writes the first message first, and the
 * reveal and a removal reach it last, so while anything of a batch is hidden its first message is
 * hidden too, and holds the ids recovery needs.
 */

/** What counting a message found: it counted now, had been counted, its conversation is gone, or its reservation was given up. */
export type CountOutcome = 'counted' | 'counted-before' | 'gone' | 'abandoned';

/**
 * One post in steps: a single message, or a batch. A batch's reservation carries its `size`, so
 * the steps of a batch never take a single post's reservation for theirs.
 */
export interface Post {
  conversationId: string;
  /** Its messages' ids, in order; the first names the reservation. */
  ids: readonly string[];
  /** Set for a batch (postMany): how many messages it holds. */
  size?: number;
}

const single = (doc: Pick<MessageDoc, '_id' | 'conversationId'>): Post => ({
  conversationId: doc.conversationId,
  ids: [doc._id],
});
const batch = (conversationId: string, ids: readonly string[]): Post => ({ conversationId, ids, size: ids.length });
const batchOf = (conversationId: string, docs: readonly MessageDoc[]): Post => {
  const ids = docs.map((d) => d._id);
  return batch(conversationId, ids);
};

/** The post a hidden message belongs to: its batch (its `_batch`), or itself alone. */
export const postOf = (doc: MessageDoc): Post =>
  doc._batch === undefined ? single(doc) : batch(doc.conversationId, doc._batch);

/** The post `entry` reserved, as far as the entry tells (a batch's other ids are on its messages). */
export const reservedBy = (conversationId: string, entry: PendingPost): Post => ({
  conversationId,
  ids: [entry.id],
  size: entry.size,
});

/** The reservation's fields that identify it (`id`, and `size` for a batch). */
function key(post: Post): { id: string; size?: number } {
  const id = post.ids[0]!;
  return post.size === undefined ? { id } : { id, size: post.size };
}

/** Whether `entry` is the reservation of `post`. */
export const reserves = (entry: PendingPost, post: Post): boolean =>
  entry.id === post.ids[0] && entry.size === post.size;

/** Step 1: a reservation in the conversation. False when there is no live conversation. */
async function reserve(ctx: MongoContext, post: Post): Promise<boolean> {
  const entry = { ...key(post), at: new Date(), counted: false };
  const result = await ctx.conversations.updateOne(
    { _id: post.conversationId, ...LIVE },
    { $push: { _pendingPosts: entry } },
    ctx.opts(),
  );
  return result.matchedCount === 1;
}

/** Step 5: the reservation is no longer needed once the messages are visible (or removed). */
export async function release(ctx: MongoContext, post: Post): Promise<void> {
  await ctx.conversations.updateOne({ _id: post.conversationId }, { $pull: { _pendingPosts: key(post) } }, ctx.opts());
}

/**
 * Gives up the reservation of a post that never got as far as counting: pulls it only while it is
 * uncounted, so the count can no longer happen. False when it is counted (or gone) already.
 */
export async function giveUp(ctx: MongoContext, post: Post): Promise<boolean> {
  const uncounted = { ...key(post), counted: false };
  const result = await ctx.conversations.updateOne(
    { _id: post.conversationId, _pendingPosts: { $elemMatch: uncounted } },
    { $pull: { _pendingPosts: uncounted } },
    ctx.opts(),
  );
  return result.modifiedCount === 1;
}

/**
 * Step 3: messageCount + n, lastMessageAt and activityAt raised to the latest createdAt of `docs`,
 * n event seqs claimed — one atomic update (a pipeline, so activityAt is exactly
 * `lastMessageAt ?? createdAt`). `guarded` (the steps path) requires and marks the reservation;
 * inside a transaction (`guarded: false`) the transaction itself makes the post happen once.
 * Returns the outcome and, when this call counted, the last seq it claimed: it claimed
 * `seq - n + 1 … seq`.
 */
async function count(
  ctx: MongoContext,
  post: Post,
  docs: readonly MessageDoc[],
  guarded: boolean,
  session?: ClientSession,
): Promise<{ outcome: CountOutcome; seq: number | null }> {
  const n = docs.length;
  const at = { $literal: new Date(Math.max(...docs.map((d) => d.createdAt.getTime()))) };
  const id = { $literal: post.ids[0] };
  const markCounted = {
    $map: {
      input: { $ifNull: ['$_pendingPosts', []] },
      in: { $cond: [{ $eq: ['$$this.id', id] }, { $mergeObjects: ['$$this', { counted: true }] }, '$$this'] },
    },
  };
  const result = await ctx.conversations.findOneAndUpdate(
    {
      _id: post.conversationId,
      ...LIVE,
      ...(guarded ? { _pendingPosts: { $elemMatch: { ...key(post), counted: false } } } : {}),
    },
    [
      {
        $set: {
          messageCount: { $add: ['$messageCount', n] },
          lastMessageAt: { $max: ['$lastMessageAt', at] },
          activityAt: { $max: ['$lastMessageAt', at] },
          eventSeq: { $add: [{ $ifNull: ['$eventSeq', 0] }, n] },
          ...(guarded ? { _pendingPosts: markCounted } : {}),
        },
      },
    ],
    { returnDocument: 'after', projection: { eventSeq: 1 }, ...ctx.opts(session) },
  );
  if (result) return { outcome: 'counted', seq: Number(result.eventSeq ?? 0) };
  return { outcome: await whyNotCounted(ctx, post, session), seq: null };
}

/** The guarded count matched nothing (or the post cannot be counted): find out why, from the conversation, then the messages. */
async function whyNotCounted(ctx: MongoContext, post: Post, session?: ClientSession): Promise<CountOutcome> {
  const conversation = await ctx.conversations.findOne(
    { _id: post.conversationId },
    { projection: { _deletingAt: 1, _pendingPosts: 1, _recentPosts: 1 }, ...ctx.opts(session) },
  );
  if (!conversation || conversation._deletingAt !== undefined) return 'gone';
  if (conversation._pendingPosts?.some((p) => reserves(p, post) && p.counted)) return 'counted-before';
  // Builds before _pendingPosts remembered the ids they counted here (a batch under its first id).
  if (conversation._recentPosts?.includes(post.ids[0]!)) return 'counted-before';
  // No reservation: it was released after the messages became visible, or given up by recovery
  // (a post stalled for longer than INTERRUPTED_POST_MS) while they were hidden or not yet there.
  const shown = await ctx.messages.findOne(
    { _id: { $in: [...post.ids] }, conversationId: post.conversationId, _uncountedAt: { $exists: false } },
    { projection: { _id: 1 }, ...ctx.opts(session) },
  );
  return shown ? 'counted-before' : 'abandoned';
}

/** Counts `docs` (all of the post, in order) and, when this count claimed their seqs, writes their `message.created` events. */
async function countAndLog(
  ctx: MongoContext,
  post: Post,
  docs: readonly MessageDoc[],
  guarded: boolean,
  session?: ClientSession,
): Promise<CountOutcome> {
  const { outcome, seq } = await count(ctx, post, docs, guarded, session);
  if (seq !== null) {
    const created = docs.map((d) => messageCreated(fromMessageDoc(d)));
    await insertEvents(ctx, created, seq - docs.length + 1, session);
  }
  return outcome;
}

/** The filter of a post's own hidden messages: a batch's carry its ids (a taken id's message does not). */
const hiddenOf = (post: Post) => ({
  conversationId: post.conversationId,
  _uncountedAt: { $exists: true },
  _batch: post.size === undefined ? { $exists: false } : [...post.ids],
});

/** Step 4: the messages become visible, a batch's first one last. */
async function reveal(ctx: MongoContext, post: Post): Promise<void> {
  const [first, ...rest] = post.ids;
  const marks = { $unset: { _uncountedAt: '', _batch: '' } } as const;
  if (rest.length > 0) await ctx.messages.updateMany({ _id: { $in: rest } }, marks, ctx.opts());
  await ctx.messages.updateOne({ _id: first! }, marks, ctx.opts());
}

/** What a post that will not be counted left: its hidden messages, a batch's first one last. */
async function removeHidden(ctx: MongoContext, post: Post): Promise<void> {
  const [first, ...rest] = post.ids;
  if (rest.length > 0) await ctx.messages.deleteMany({ _id: { $in: rest }, ...hiddenOf(post) }, ctx.opts());
  await ctx.messages.deleteOne({ _id: first!, ...hiddenOf(post) }, ctx.opts());
}

/** Steps 4 and 5 after a count's outcome: reveal and release, or remove and release. Returns whether the post stays. */
async function conclude(ctx: MongoContext, post: Post, outcome: CountOutcome): Promise<boolean> {
  const stays = outcome === 'counted' || outcome === 'counted-before';
  if (stays) await reveal(ctx, post);
  else await removeHidden(ctx, post);
  await release(ctx, post);
  return stays;
}

/**
 * Finishes a hidden message (an interrupted post, or one in flight that a retry waits for): counts
 * it (once) and reveals it, or removes it when its conversation is gone or its reservation was
 * given up. A message of a batch settles its whole batch. Returns whether the message stays.
 */
export async function settlePost(ctx: MongoContext, message: MessageDoc): Promise<boolean> {
  const post = postOf(message);
  if (post.size !== undefined) return settleBatch(ctx, post);
  return conclude(ctx, post, await countAndLog(ctx, post, [message], true));
}

/**
 * Finishes an interrupted batch as a whole. Every message there and hidden → the guarded count
 * decides, as for one message: counted once and revealed, or all removed. Otherwise the batch
 * cannot be counted any more (a count takes the whole batch): an uncounted reservation is given
 * up and what the insert left is removed; a batch that was counted (its reservation says so, an
 * older build's `_recentPosts` does, or a message of it is visible) has the rest revealed.
 */
async function settleBatch(ctx: MongoContext, post: Post): Promise<boolean> {
  const hidden = await ctx.messages
    .find({ _id: { $in: [...post.ids] }, ...hiddenOf(post) }, { projection: { _outbox: 0 }, ...ctx.opts() })
    .toArray();
  const docs = post.ids.flatMap((id) => hidden.filter((d) => d._id === id));
  let outcome: CountOutcome;
  if (docs.length === post.ids.length) outcome = await countAndLog(ctx, post, docs, true);
  else if (await giveUp(ctx, post)) outcome = 'abandoned';
  else outcome = await whyNotCounted(ctx, post);
  return conclude(ctx, post, outcome);
}

/** A whole post without transactions: the five steps above. Throws what the post answers. */
async function inSteps(ctx: MongoContext, post: Post, docs: readonly MessageDoc[]): Promise<void> {
  const at = new Date();
  const hidden = docs.map((d) =>
    post.size === undefined ? { ...d, _uncountedAt: at } : { ...d, _uncountedAt: at, _batch: [...post.ids] },
  );
  for (const doc of hidden) checkDocumentSize('message', 'content', doc);
  if (!(await reserve(ctx, post))) throw new NotFoundError('conversation', post.conversationId);
  try {
    if (post.size === undefined) await ctx.messages.insertOne(hidden[0]!, ctx.opts());
    else await ctx.messages.insertMany(hidden, { ordered: true, ...ctx.opts() });
  } catch (error) {
    // An ordered insert that failed part-way (a taken id) keeps what it wrote before: hidden, and
    // removed here. Should this fail too, recovery removes it (the reservation is uncounted).
    if (post.size !== undefined) await removeHidden(ctx, post).catch(() => undefined);
    await release(ctx, post).catch(() => undefined);
    throw error;
  }
  const outcome = await countAndLog(ctx, post, docs, true);
  if (await conclude(ctx, post, outcome)) return;
  if (outcome === 'gone') throw new NotFoundError('conversation', post.conversationId);
  // The post stalled for so long that recovery gave its reservation up: nothing of it remains.
  throw new UnavailableError('the post took too long and was not stored; retry it', 1);
}

/** A whole post in one transaction: insert the messages (visible: nothing is seen before commit) and count them. */
async function inTransaction(
  ctx: MongoContext,
  post: Post,
  docs: readonly MessageDoc[],
  session: ClientSession,
): Promise<void> {
  for (const doc of docs) checkDocumentSize('message', 'content', doc);
  if (post.size === undefined) await ctx.messages.insertOne(docs[0]!, ctx.opts(session));
  else await ctx.messages.insertMany([...docs], { ordered: true, ...ctx.opts(session) });
  // Throwing aborts the transaction, the insert with it.
  if ((await countAndLog(ctx, post, docs, false, session)) !== 'counted')
    throw new NotFoundError('conversation', post.conversationId);
}

/** `post` on a deployment without transactions. */
export const postInSteps = (ctx: MongoContext, doc: MessageDoc): Promise<void> => inSteps(ctx, single(doc), [doc]);

/** `post` in one transaction. */
export const postInTransaction = (ctx: MongoContext, doc: MessageDoc, session: ClientSession): Promise<void> =>
  inTransaction(ctx, single(doc), [doc], session);

/** `postMany` on a deployment without transactions: `docs` (at least one, in order) as one post. */
export const postManyInSteps = (
  ctx: MongoContext,
  conversationId: string,
  docs: readonly MessageDoc[],
): Promise<void> => inSteps(ctx, batchOf(conversationId, docs), docs);

/** `postMany` in one transaction. */
export const postManyInTransaction = (
  ctx: MongoContext,
  conversationId: string,
  docs: readonly MessageDoc[],
  session: ClientSession,
): Promise<void> => inTransaction(ctx, batchOf(conversationId, docs), docs, session);

import {
  MongoBulkWriteError,
  type ClientSession,
  type Collection,
  type Document,
  type Filter,
  type OptionalUnlessRequiredId,
} from 'mongodb';
import { DuplicateError, NotFoundError, type EntityName } from '../../src/domain/errors.js';
import type { AuditEntry, Conversation, Message, Participant, User } from '../../src/domain/models.js';
import type { EntityKind, EntityRecords } from '../../src/repositories/ports.js';
import {
  conversationFields,
  fromAuditDoc,
  fromConversationDoc,
  fromMessageDoc,
  fromUserDoc,
  LIVE,
  toAuditDoc,
  toConversationDoc,
  toMessageDoc,
  toParticipantDoc,
  toUserDoc,
  withParticipants,
  type AuditDoc,
  type ConversationDoc,
  type MessageDoc,
  type ParticipantDoc,
  type UserDoc,
} from './document-mapper.js';
import type { MongoContext } from './mongodb-context.js';

/**
 * How the bulk port writes each kind of record exactly as given: which stored records a batch
 * meets, which other rules would make the batch fail (checked before anything is written), how to
 * insert and overwrite, and how to undo exactly what the batch wrote — only while it is still as
 * the batch wrote it, so the undo never touches a concurrent writer's data.
 */
export interface KindWriter<R> {
  entity: EntityName;
  key(record: R): string;
  /** The stored form of the records among `keys` that exist, by key (kept to undo an overwrite). */
  load(keys: R[], session?: ClientSession): Promise<Map<string, unknown>>;
  /** Throws the domain error the batch would hit besides its own keys (other unique keys, missing parents). */
  check(written: R[], session?: ClientSession): Promise<void>;
  /**
   * Inserts the records; calls `wrote` for each one the server took: all of them on success, the
   * driver's confirmed ones when an ordered batch fails part-way (every one when the failure says
   * nothing, e.g. a lost connection: the undo then checks each).
   */
  insert(records: R[], wrote: (record: R) => void, session?: ClientSession): Promise<void>;
  overwrite(record: R, session?: ClientSession): Promise<void>;
  /** Undo of inserts: removes those records still exactly as inserted. Returns how many it left alone. */
  unInsert(records: R[]): Promise<number>;
  /**
   * Undo of an overwrite: puts the fields the overwrite set back to `stored` (the record before the
   * batch), if they still hold what the batch wrote. False when someone changed them since.
   */
  unOverwrite(record: R, stored: unknown): Promise<boolean>;
}

const byId = <T extends { _id: string }>(docs: T[]) => new Map<string, unknown>(docs.map((d) => [d._id, d]));
const ids = (records: { id: string }[]) => [...new Set(records.map((r) => r.id))];

function duplicatesWithin<R>(records: R[], key: (r: R) => string | null, error: () => Error): void {
  const owners = new Map<string, R>();
  for (const r of records) {
    const k = key(r);
    if (k === null) continue;
    const owner = owners.get(k);
    if (owner !== undefined && owner !== r) throw error();
    owners.set(k, r);
  }
}

/** insertMany (ordered), reporting which records the server took, also when it fails part-way. */
async function insertReported<R, D extends Document>(
  collection: Collection<D>,
  records: R[],
  toDoc: (r: R) => D,
  wrote: (record: R) => void,
  opts: object,
): Promise<void> {
  try {
    await collection.insertMany(records.map(toDoc) as OptionalUnlessRequiredId<D>[], { ordered: true, ...opts });
    records.forEach(wrote);
  } catch (error) {
    // Driver v7: insertedIds of a failed ordered batch are those before the first write error.
    if (error instanceof MongoBulkWriteError)
      for (const index of Object.keys(error.insertedIds)) wrote(records[Number(index)]!);
    else records.forEach(wrote);
    throw error;
  }
}

/** Deletes each document only while all its fields still hold the values it was inserted with. */
async function deleteUnchanged<D extends Document>(collection: Collection<D>, docs: D[]): Promise<number> {
  if (docs.length === 0) return 0;
  const result = await collection.bulkWrite(
    docs.map((doc) => ({ deleteOne: { filter: doc as Filter<D> } })),
    { ordered: false },
  );
  return docs.length - result.deletedCount;
}

/** Sets `fields` back to their values in `previous`, while they still hold what the batch wrote (`written`). */
async function setBackUnchanged<D extends Document>(
  collection: Collection<D>,
  id: string,
  written: Record<string, unknown>,
  previous: Record<string, unknown>,
): Promise<boolean> {
  const back = Object.fromEntries(Object.keys(written).map((k) => [k, previous[k]]));
  const result = await collection.updateOne({ _id: id, ...written } as Filter<D>, { $set: back as Partial<D> });
  return result.matchedCount === 1;
}

function users(ctx: MongoContext): KindWriter<User> {
  return {
    entity: 'user',
    key: (u) => u.id,
    load: async (records, session) =>
      byId(await ctx.users.find({ _id: { $in: ids(records) } }, ctx.opts(session)).toArray()),
    async check(written, session) {
      // Last record per id wins; each handle must then belong to one user only.
      const finalById = new Map(written.map((u) => [u.id, u]));
      duplicatesWithin(
        [...finalById.values()],
        (u) => u.handle,
        () => new DuplicateError('user', 'handle'),
      );
      const holders = await ctx.users
        .find(
          { handle: { $in: [...finalById.values()].map((u) => u.handle) } },
          { projection: { handle: 1 }, ...ctx.opts(session) },
        )
        .toArray();
      for (const holder of holders) {
        const claimant = [...finalById.values()].find((u) => u.handle === holder.handle);
        // Taken by a stored user the batch does not overwrite (an overwrite's new handle was checked above).
        if (claimant && claimant.id !== holder._id && !finalById.has(holder._id))
          throw new DuplicateError('user', 'handle');
      }
    },
    insert: (records, wrote, session) => insertReported(ctx.users, records, toUserDoc, wrote, ctx.opts(session)),
    async overwrite(u, session) {
      const { _id, ...fields } = toUserDoc(u);
      await ctx.users.updateOne({ _id }, { $set: fields }, ctx.opts(session));
    },
    unInsert: (records) => deleteUnchanged(ctx.users, records.map(toUserDoc)),
    unOverwrite(u, stored) {
      const { _id, ...written } = toUserDoc(u);
      const { _id: _, ...previous } = toUserDoc(fromUserDoc(stored as UserDoc));
      return setBackUnchanged(ctx.users, _id, written, previous);
    },
  };
}

function conversations(ctx: MongoContext): KindWriter<Conversation> {
  // Participants arrive in their own batches (they come after conversations in ENTITY_KINDS).
  const toDoc = (c: Conversation) => toConversationDoc(c, []);
  return {
    entity: 'conversation',
    key: (c) => c.id,
    load: async (records, session) =>
      byId(await ctx.conversations.find({ _id: { $in: ids(records) } }, ctx.opts(session)).toArray()),
    async check() {},
    insert: (records, wrote, session) => insertReported(ctx.conversations, records, toDoc, wrote, ctx.opts(session)),
    async overwrite(c, session) {
      // The conversation's own fields only: its participants and bookkeeping stay.
      await ctx.conversations.updateOne({ _id: c.id }, { $set: conversationFields(c) }, ctx.opts(session));
    },
    // Still without participants: a conversation someone joined meanwhile stays.
    unInsert: (records) => deleteUnchanged(ctx.conversations, records.map(toDoc)),
    unOverwrite: (c, stored) =>
      setBackUnchanged(
        ctx.conversations,
        c.id,
        conversationFields(c),
        conversationFields(fromConversationDoc(stored as ConversationDoc)),
      ),
  };
}

const participantKey = (p: Pick<Participant, 'conversationId' | 'userId'>) => `${p.conversationId}\u0000${p.userId}`;

function participants(ctx: MongoContext): KindWriter<Participant> {
  const conversationIds = (records: Participant[]) => [...new Set(records.map((p) => p.conversationId))];
  const byConversation = (records: Participant[]) => {
    const out = new Map<string, Participant[]>();
    for (const p of records) out.set(p.conversationId, [...(out.get(p.conversationId) ?? []), p]);
    return out;
  };
  return {
    entity: 'participant',
    key: participantKey,
    async load(records, session) {
      const docs = await ctx.conversations
        .find({ _id: { $in: conversationIds(records) } }, { projection: { participants: 1 }, ...ctx.opts(session) })
        .toArray();
      return new Map<string, unknown>(
        docs.flatMap((d) =>
          d.participants.map((p) => [participantKey({ conversationId: d._id, userId: p.userId }), p] as const),
        ),
      );
    },
    async check(written, session) {
      const wanted = conversationIds(written);
      const live = await ctx.conversations
        .find({ _id: { $in: wanted }, ...LIVE }, { projection: { _id: 1 }, ...ctx.opts(session) })
        .toArray();
      const found = new Set(live.map((c) => c._id));
      const missing = wanted.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError('conversation', missing);
    },
    async insert(records, wrote, session) {
      for (const [conversationId, list] of byConversation(records)) {
        // A pipeline, so `shared` follows the new member count in the same update.
        const result = await ctx.conversations.updateOne(
          { _id: conversationId, 'participants.userId': { $nin: list.map((p) => p.userId) } },
          withParticipants({ $concatArrays: ['$participants', { $literal: list.map(toParticipantDoc) }] }),
          ctx.opts(session),
        );
        if (result.matchedCount === 0) throw new DuplicateError('participant', 'userId');
        list.forEach(wrote);
      }
    },
    async overwrite(p, session) {
      await ctx.conversations.updateOne(
        { _id: p.conversationId },
        { $set: { 'participants.$[p]': toParticipantDoc(p) } },
        { arrayFilters: [{ 'p.userId': p.userId }], ...ctx.opts(session) },
      );
    },
    async unInsert(records) {
      let left = 0;
      for (const [conversationId, list] of byConversation(records)) {
        // Removes only elements exactly equal to what was pushed (as $pullAll would), and derives
        // `shared` again in the same update.
        const docs = list.map(toParticipantDoc);
        const before = await ctx.conversations.findOne({ _id: conversationId }, { projection: { participants: 1 } });
        await ctx.conversations.updateOne(
          { _id: conversationId },
          withParticipants({
            $filter: { input: '$participants', cond: { $not: [{ $in: ['$$this', { $literal: docs }] }] } },
          }),
        );
        const present = new Set((before?.participants ?? []).map((p) => JSON.stringify(p)));
        left += docs.filter((d) => !present.has(JSON.stringify(d))).length;
      }
      return left;
    },
    async unOverwrite(p, stored) {
      const written = toParticipantDoc(p);
      const result = await ctx.conversations.updateOne(
        { _id: p.conversationId, participants: written },
        { $set: { 'participants.$[p]': stored as ParticipantDoc } },
        { arrayFilters: [{ 'p.userId': written.userId, 'p.role': written.role, 'p.joinedAt': written.joinedAt }] },
      );
      return result.matchedCount === 1;
    },
  };
}

function messages(ctx: MongoContext): KindWriter<Message> {
  const clientKey = (m: Pick<Message, 'conversationId' | 'clientMessageId'>) =>
    m.clientMessageId === null ? null : `${m.conversationId}\u0000${m.clientMessageId}`;
  return {
    entity: 'message',
    key: (m) => m.id,
    load: async (records, session) =>
      byId(await ctx.messages.find({ _id: { $in: ids(records) } }, ctx.opts(session)).toArray()),
    async check(written, session) {
      const wanted = [...new Set(written.map((m) => m.conversationId))];
      const live = await ctx.conversations
        .find({ _id: { $in: wanted }, ...LIVE }, { projection: { _id: 1 }, ...ctx.opts(session) })
        .toArray();
      const found = new Set(live.map((c) => c._id));
      const missing = wanted.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError('conversation', missing);
      const finalById = new Map(written.map((m) => [m.id, m]));
      const duplicate = () => new DuplicateError('message', 'clientMessageId');
      duplicatesWithin([...finalById.values()], clientKey, duplicate);
      const keyed = [...finalById.values()].filter((m) => m.clientMessageId !== null);
      if (keyed.length === 0) return;
      const holders = await ctx.messages
        .find(
          // `$type` as in the unique index's partial filter, so the server can use that index
          // (see MongoMessageRepository.earlierPost).
          {
            conversationId: { $in: wanted },
            clientMessageId: { $in: keyed.map((m) => m.clientMessageId!), $type: 'string' },
          },
          { projection: { conversationId: 1, clientMessageId: 1 }, ...ctx.opts(session) },
        )
        .toArray();
      for (const holder of holders) {
        const claimant = keyed.find((m) => clientKey(m) === clientKey(holder));
        if (claimant && claimant.id !== holder._id && !finalById.has(holder._id)) throw duplicate();
      }
    },
    insert: (records, wrote, session) => insertReported(ctx.messages, records, toMessageDoc, wrote, ctx.opts(session)),
    async overwrite(m, session) {
      const { _id, ...fields } = toMessageDoc(m);
      await ctx.messages.updateOne({ _id }, { $set: fields }, ctx.opts(session));
    },
    unInsert: (records) => deleteUnchanged(ctx.messages, records.map(toMessageDoc)),
    unOverwrite(m, stored) {
      const { _id, ...written } = toMessageDoc(m);
      const { _id: _, ...previous } = toMessageDoc(fromMessageDoc(stored as MessageDoc));
      return setBackUnchanged(ctx.messages, _id, written, previous);
    },
  };
}

function audit(ctx: MongoContext): KindWriter<AuditEntry> {
  return {
    entity: 'audit',
    key: (a) => a.id,
    load: async (records, session) =>
      byId(await ctx.audit.find({ _id: { $in: ids(records) } }, ctx.opts(session)).toArray()),
    async check() {},
    insert: (records, wrote, session) => insertReported(ctx.audit, records, toAuditDoc, wrote, ctx.opts(session)),
    overwrite: async (a, session) => void (await ctx.audit.replaceOne({ _id: a.id }, toAuditDoc(a), ctx.opts(session))),
    unInsert: (records) => deleteUnchanged(ctx.audit, records.map(toAuditDoc)),
    async unOverwrite(a, stored) {
      const result = await ctx.audit.replaceOne(toAuditDoc(a), toAuditDoc(fromAuditDoc(stored as AuditDoc)));
      return result.matchedCount === 1;
    },
  };
}

export type Writers = { [K in EntityKind]: KindWriter<EntityRecords[K]> };

export function kindWriters(ctx: MongoContext): Writers {
  return {
    users: users(ctx),
    conversations: conversations(ctx),
    participants: participants(ctx),
    messages: messages(ctx),
    audit: audit(ctx),
  };
}

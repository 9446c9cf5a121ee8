import type { ClientSession } from 'mongodb';
import { DuplicateError, NotFoundError, type EntityName } from '../../src/domain/errors.js';
import type { AuditEntry, Conversation, Message, Participant, User } from '../../src/domain/models.js';
import type { EntityKind, EntityRecords } from '../../src/repositories/ports.js';
import {
  conversationFields,
  LIVE,
  toAuditDoc,
  toConversationDoc,
  toMessageDoc,
  toParticipantDoc,
  toUserDoc,
  type ConversationDoc,
  type MessageDoc,
  type ParticipantDoc,
  type UserDoc,
} from './document-mapper.js';
import type { MongoContext } from './mongodb-context.js';

/**
 * How the bulk port writes each kind of record exactly as given: which stored records a batch
 * meets, which other rules would make the batch fail (checked before anything is written), and
 * how to insert, overwrite and (on the standalone path) undo.
 */
export interface KindWriter<R> {
  entity: EntityName;
  key(record: R): string;
  /** The stored form of the records among `keys` that exist, by key (kept to undo an overwrite). */
  load(keys: R[], session?: ClientSession): Promise<Map<string, unknown>>;
  /** Throws the domain error the batch would hit besides its own keys (other unique keys, missing parents). */
  check(written: R[], session?: ClientSession): Promise<void>;
  insert(records: R[], session?: ClientSession): Promise<void>;
  overwrite(record: R, session?: ClientSession): Promise<void>;
  /** Undo on the standalone path: remove inserted records, put overwritten ones back. */
  remove(records: R[]): Promise<void>;
  restore(key: string, stored: unknown): Promise<void>;
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
    insert: async (records, session) =>
      void (await ctx.users.insertMany(records.map(toUserDoc), { ordered: true, ...ctx.opts(session) })),
    async overwrite(u, session) {
      const { _id, ...fields } = toUserDoc(u);
      await ctx.users.updateOne({ _id }, { $set: fields }, ctx.opts(session));
    },
    remove: async (records) => void (await ctx.users.deleteMany({ _id: { $in: ids(records) } })),
    restore: async (key, stored) => void (await ctx.users.replaceOne({ _id: key }, stored as UserDoc)),
  };
}

function conversations(ctx: MongoContext): KindWriter<Conversation> {
  return {
    entity: 'conversation',
    key: (c) => c.id,
    load: async (records, session) =>
      byId(await ctx.conversations.find({ _id: { $in: ids(records) } }, ctx.opts(session)).toArray()),
    async check() {},
    // Participants arrive in their own batches (they come after conversations in ENTITY_KINDS).
    insert: async (records, session) =>
      void (await ctx.conversations.insertMany(
        records.map((c) => toConversationDoc(c, [])),
        { ordered: true, ...ctx.opts(session) },
      )),
    async overwrite(c, session) {
      // The conversation's own fields only: its participants and bookkeeping stay.
      await ctx.conversations.updateOne({ _id: c.id }, { $set: conversationFields(c) }, ctx.opts(session));
    },
    remove: async (records) => void (await ctx.conversations.deleteMany({ _id: { $in: ids(records) } })),
    restore: async (key, stored) => void (await ctx.conversations.replaceOne({ _id: key }, stored as ConversationDoc)),
  };
}

const participantKey = (p: Pick<Participant, 'conversationId' | 'userId'>) => `${p.conversationId}\u0000${p.userId}`;

function participants(ctx: MongoContext): KindWriter<Participant> {
  const conversationIds = (records: Participant[]) => [...new Set(records.map((p) => p.conversationId))];
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
    async insert(records, session) {
      const byConversation = new Map<string, Participant[]>();
      for (const p of records)
        byConversation.set(p.conversationId, [...(byConversation.get(p.conversationId) ?? []), p]);
      for (const [conversationId, list] of byConversation) {
        const result = await ctx.conversations.updateOne(
          { _id: conversationId, 'participants.userId': { $nin: list.map((p) => p.userId) } },
          { $push: { participants: { $each: list.map(toParticipantDoc) } } },
          ctx.opts(session),
        );
        if (result.matchedCount === 0) throw new DuplicateError('participant', 'userId');
      }
    },
    async overwrite(p, session) {
      await ctx.conversations.updateOne(
        { _id: p.conversationId },
        { $set: { 'participants.$[p]': toParticipantDoc(p) } },
        { arrayFilters: [{ 'p.userId': p.userId }], ...ctx.opts(session) },
      );
    },
    async remove(records) {
      for (const conversationId of conversationIds(records)) {
        const userIds = records.filter((p) => p.conversationId === conversationId).map((p) => p.userId);
        await ctx.conversations.updateOne(
          { _id: conversationId },
          { $pull: { participants: { userId: { $in: userIds } } } },
        );
      }
    },
    async restore(key, stored) {
      const [conversationId, userId] = key.split('\u0000') as [string, string];
      await ctx.conversations.updateOne(
        { _id: conversationId },
        { $set: { 'participants.$[p]': stored as ParticipantDoc } },
        { arrayFilters: [{ 'p.userId': userId }] },
      );
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
          // `$type` as in the unique index's partial filter, so the server can use that index (see posting).
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
    insert: async (records, session) =>
      void (await ctx.messages.insertMany(records.map(toMessageDoc), { ordered: true, ...ctx.opts(session) })),
    async overwrite(m, session) {
      const { _id, ...fields } = toMessageDoc(m);
      await ctx.messages.updateOne({ _id }, { $set: fields }, ctx.opts(session));
    },
    remove: async (records) => void (await ctx.messages.deleteMany({ _id: { $in: ids(records) } })),
    restore: async (key, stored) => void (await ctx.messages.replaceOne({ _id: key }, stored as MessageDoc)),
  };
}

function audit(ctx: MongoContext): KindWriter<AuditEntry> {
  return {
    entity: 'audit',
    key: (a) => a.id,
    load: async (records, session) =>
      byId(await ctx.audit.find({ _id: { $in: ids(records) } }, ctx.opts(session)).toArray()),
    async check() {},
    insert: async (records, session) =>
      void (await ctx.audit.insertMany(records.map(toAuditDoc), { ordered: true, ...ctx.opts(session) })),
    overwrite: async (a, session) => void (await ctx.audit.replaceOne({ _id: a.id }, toAuditDoc(a), ctx.opts(session))),
    remove: async (records) => void (await ctx.audit.deleteMany({ _id: { $in: ids(records) } })),
    restore: async (key, stored) => void (await ctx.audit.replaceOne({ _id: key }, stored as never)),
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

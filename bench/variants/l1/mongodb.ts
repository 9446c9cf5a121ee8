import { MongoClient, type AnyBulkWriteOperation, type Filter } from 'mongodb';
import {
  CONVERSATION_FIELDS,
  fromConversationDoc,
  fromMessageDoc,
  LIVE,
  MESSAGE_FIELDS,
  toAuditDoc,
  toConversationDoc,
  toMessageDoc,
  toParticipantDoc,
  toUserDoc,
  type AuditDoc,
  type ConversationDoc,
  type MessageDoc,
  type UserDoc,
} from '../../../database/mongodb/document-mapper.js';
import type { Conversation, Message, Participant, User } from '../../../src/domain/models.js';
import type { L1Db, SeedKind } from './types.js';

/** Messages a post has finished counting: the adapter's read filter. */
const VISIBLE = { _uncountedAt: { $exists: false } } as const;

/**
 * L1 on the official MongoDB driver, on the adapter's collections and documents (its own
 * document mapper, so both read and write the same layout). Reads use the adapter's filters,
 * sorts and projections. A post is the two writes a hand-written service would make (count it
 * with $inc/$max where the author is a participant, then insert the message) — polystore's
 * crash-safe post (hidden insert, count, unhide) and its event log are part of what L2/L1 measures.
 */
export async function openMongo(url: string, poolSize: number): Promise<L1Db> {
  const client = new MongoClient(url, {
    maxPoolSize: poolSize,
    serverSelectionTimeoutMS: 5000,
    appName: 'polystore-bench-l1',
  });
  await client.connect();
  const db = client.db();
  const users = db.collection<UserDoc>('users');
  const conversations = db.collection<ConversationDoc>('conversations');
  const messages = db.collection<MessageDoc>('messages');
  const audit = db.collection<AuditDoc>('audit');
  const marker = db.collection<{ _id: string; params: string }>('bench_dataset');
  // A document store cannot join a membership check into a read of another collection cheaply
  // (a $lookup costs more than this primary-key read), so reads ask it first.
  const isMember = async (conversationId: string, userId: string) =>
    (await conversations.countDocuments(
      { _id: conversationId, 'participants.userId': userId, ...LIVE },
      { limit: 1 },
    )) > 0;

  return {
    kind: 'mongodb',

    async listMessages(conversationId, userId, limit, before) {
      if (!(await isMember(conversationId, userId))) return null;
      const filter: Filter<MessageDoc> = { conversationId, ...VISIBLE };
      if (before) filter.$or = [{ createdAt: { $lt: before.at } }, { createdAt: before.at, _id: { $lt: before.id } }];
      const docs = await messages
        .find(filter, { projection: MESSAGE_FIELDS, sort: { createdAt: -1, _id: -1 }, limit })
        .toArray();
      return docs.map(fromMessageDoc);
    },

    async getMessage(conversationId, userId, messageId) {
      if (!(await isMember(conversationId, userId))) return null;
      const doc = await messages.findOne(
        { _id: messageId, conversationId, ...VISIBLE },
        { projection: MESSAGE_FIELDS },
      );
      return doc ? fromMessageDoc(doc) : null;
    },

    async listConversations(userId, limit) {
      const docs = await conversations
        .find(
          { 'participants.userId': userId, ...LIVE },
          { projection: CONVERSATION_FIELDS, sort: { activityAt: -1, _id: -1 }, limit },
        )
        .toArray();
      return docs.map(fromConversationDoc);
    },

    async createConversation(conversation, owner, entry) {
      await conversations.insertOne(toConversationDoc(conversation, [owner]));
      await audit.insertOne(toAuditDoc(entry));
    },

    async postMessage(message) {
      // The membership check is the count's filter; the message goes in once it is counted.
      if (message.clientMessageId !== null) {
        const earlier = await messages.findOne(
          { conversationId: message.conversationId, clientMessageId: message.clientMessageId, ...VISIBLE },
          { projection: MESSAGE_FIELDS },
        );
        if (earlier)
          return (await isMember(message.conversationId, message.authorId))
            ? { message: fromMessageDoc(earlier), created: false }
            : null;
      }
      const at = message.createdAt;
      const counted = await conversations.updateOne(
        { _id: message.conversationId, 'participants.userId': message.authorId, ...LIVE },
        { $inc: { messageCount: 1 }, $max: { lastMessageAt: at, activityAt: at } },
      );
      if (counted.matchedCount !== 1) return null;
      await messages.insertOne(toMessageDoc(message));
      return { message, created: true };
    },

    async insertMessage(message) {
      await messages.insertOne(toMessageDoc(message));
    },

    async insert<K extends SeedKind>(kind: K, records: unknown[]) {
      if (records.length === 0) return;
      if (kind === 'users') await users.insertMany((records as User[]).map(toUserDoc), { ordered: false });
      else if (kind === 'conversations')
        await conversations.insertMany(
          (records as Conversation[]).map((c) => toConversationDoc(c, [])),
          { ordered: false },
        );
      else if (kind === 'messages')
        await messages.insertMany((records as Message[]).map(toMessageDoc), { ordered: false });
      else {
        const ops: AnyBulkWriteOperation<ConversationDoc>[] = (records as Participant[]).map((p) => ({
          updateOne: { filter: { _id: p.conversationId }, update: { $push: { participants: toParticipantDoc(p) } } },
        }));
        await conversations.bulkWrite(ops, { ordered: false });
      }
    },

    async readMarker() {
      return (await marker.findOne({ _id: 'dataset' }))?.params ?? null;
    },

    async writeMarker(params) {
      await marker.replaceOne({ _id: 'dataset' }, { params }, { upsert: true });
    },

    async analyze() {},

    async restore(seededBefore, seeded) {
      await messages.deleteMany({ createdAt: { $gte: seededBefore } });
      await conversations.deleteMany({ createdAt: { $gte: seededBefore } });
      await audit.deleteMany({});
      await conversations.bulkWrite(
        seeded.map((c) => ({
          updateOne: {
            filter: { _id: c.id },
            update: {
              $set: {
                messageCount: c.messageCount,
                lastMessageAt: c.lastMessageAt,
                activityAt: c.lastMessageAt ?? c.createdAt,
              },
              $unset: { _recentPosts: '', _outbox: '' },
            },
          },
        })),
        { ordered: false },
      );
    },

    close: () => client.close(),
  };
}

import type { CursorKey } from '../../../src/domain/cursor.js';
import { conversationCreated, messageCreated, type ConversationEvent } from '../../../src/domain/events.js';
import type { Conversation, Message, Participant, User } from '../../../src/domain/models.js';
import type { EntityRecords } from '../../../src/repositories/ports.js';
import type { L1Db, SeedKind } from './types.js';

const before = (m: Message, key: CursorKey) =>
  m.createdAt.getTime() < key.at.getTime() || (m.createdAt.getTime() === key.at.getTime() && m.id < key.id);

/** First index whose message is not older than `key` (messages are in (createdAt, id) order). */
function lowerBound(list: Message[], key: CursorKey): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid]!, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const activity = (c: Conversation) => (c.lastMessageAt ?? c.createdAt).getTime();

/**
 * L1 for memory: plain Maps and arrays, the data structures a hand-written in-process store would
 * use (messages kept sorted per conversation, an index of conversations per user).
 */
export function openMemory(): L1Db {
  const users = new Map<string, User>();
  const conversations = new Map<string, Conversation>();
  const participants = new Map<string, Map<string, Participant>>();
  const byUser = new Map<string, Set<string>>();
  const messages = new Map<string, Message[]>();
  const messageIds = new Map<string, Message>();
  const byClientId = new Map<string, Message>();
  /** Each conversation's event log, as polystore's memory store keeps one. */
  const events = new Map<string, ConversationEvent[]>();
  const log = (conversationId: string, event: Omit<ConversationEvent, 'seq'>) => {
    let list = events.get(conversationId);
    if (!list) {
      list = [];
      events.set(conversationId, list);
    }
    list.push({ ...event, seq: list.length + 1 });
  };

  const addParticipant = (p: Participant) => {
    let members = participants.get(p.conversationId);
    if (!members) {
      members = new Map();
      participants.set(p.conversationId, members);
    }
    members.set(p.userId, p);
    let mine = byUser.get(p.userId);
    if (!mine) {
      mine = new Set();
      byUser.set(p.userId, mine);
    }
    mine.add(p.conversationId);
  };
  const addMessage = (m: Message) => {
    const list = messages.get(m.conversationId)!;
    const last = list[list.length - 1];
    if (last === undefined || before(last, { at: m.createdAt, id: m.id })) list.push(m);
    else list.splice(lowerBound(list, { at: m.createdAt, id: m.id }), 0, m);
    messageIds.set(m.id, m);
    if (m.clientMessageId !== null) byClientId.set(`${m.conversationId}\u0000${m.clientMessageId}`, m);
  };
  const isMember = (conversationId: string, userId: string) => participants.get(conversationId)?.has(userId) ?? false;

  return {
    kind: 'memory',

    async listMessages(conversationId, userId, limit, key?: CursorKey) {
      if (!isMember(conversationId, userId)) return null;
      const list = messages.get(conversationId) ?? [];
      const end = key ? lowerBound(list, key) : list.length;
      return list.slice(Math.max(0, end - limit), end).reverse();
    },

    async getMessage(conversationId, userId, messageId) {
      const m = messageIds.get(messageId);
      return m && m.conversationId === conversationId && isMember(conversationId, userId) ? m : null;
    },

    async listConversations(userId, limit) {
      const mine: Conversation[] = [];
      for (const id of byUser.get(userId) ?? []) mine.push(conversations.get(id)!);
      mine.sort((a, b) => activity(b) - activity(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      return mine.slice(0, limit);
    },

    async createConversation(conversation, owner, audit) {
      conversations.set(conversation.id, conversation);
      messages.set(conversation.id, []);
      addParticipant(owner);
      log(conversation.id, conversationCreated(conversation, [owner], audit));
    },

    async postMessage(message) {
      const c = conversations.get(message.conversationId);
      if (!c || !isMember(c.id, message.authorId)) return null;
      if (message.clientMessageId !== null) {
        const earlier = byClientId.get(`${c.id}\u0000${message.clientMessageId}`);
        if (earlier) return { message: earlier, created: false };
      }
      addMessage(message);
      c.messageCount += 1;
      if (c.lastMessageAt === null || c.lastMessageAt < message.createdAt) c.lastMessageAt = message.createdAt;
      log(c.id, messageCreated(message));
      return { message, created: true };
    },

    async insertMessage(message) {
      addMessage(message);
    },

    async insert<K extends SeedKind>(kind: K, records: EntityRecords[K][]) {
      for (const r of records) {
        if (kind === 'users') users.set((r as User).id, r as User);
        else if (kind === 'conversations') {
          conversations.set((r as Conversation).id, r as Conversation);
          messages.set((r as Conversation).id, []);
        } else if (kind === 'participants') addParticipant(r as Participant);
        else addMessage(r as Message);
      }
    },

    // Nothing outlives the process: no marker, nothing to restore.
    async readMarker() {
      return null;
    },
    async writeMarker() {},
    async analyze() {},
    async restore() {},
    async close() {},
  };
}

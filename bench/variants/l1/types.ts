import type { CursorKey } from '../../../src/domain/cursor.js';
import type { AuditEntry, Conversation, Message, Participant } from '../../../src/domain/models.js';
import type { EntityRecords } from '../../../src/repositories/ports.js';

/** What a post did: the new message, or the stored one its clientMessageId names (idempotency). */
export interface PostOutcome {
  message: Message;
  created: boolean;
}

/**
 * What an L1 server needs from a database: the handful of reads and writes the benchmarked routes
 * make, written directly against the driver as the fastest correct implementation of polystore's
 * semantics we can write (membership folded into the statement, fewest round trips), so that
 * L2/L1 measures polystore's layers and not its SQL design. Whatever polystore's adapter writes
 * (counters, event log) L1 writes too; only `insertMessage` (L1-insert) leaves everything out.
 */
export interface L1Db {
  readonly kind: string;
  /**
   * Newest first, `limit` rows, strictly older than `before` when given; null when `userId` does
   * not take part in the conversation (the membership check is part of the read).
   */
  listMessages(conversationId: string, userId: string, limit: number, before?: CursorKey): Promise<Message[] | null>;
  /** The message, or null when it does not exist or the user does not take part in its conversation. */
  getMessage(conversationId: string, userId: string, messageId: string): Promise<Message | null>;
  /** The user's conversations by activity (lastMessageAt ?? createdAt), newest first. */
  listConversations(userId: string, limit: number): Promise<Conversation[]>;
  /** Conversation, owner participant, audit entry and its `conversation.created` event, in one transaction. */
  createConversation(conversation: Conversation, owner: Participant, audit: AuditEntry): Promise<void>;
  /**
   * A post as polystore's adapter does it: the author's membership, clientMessageId idempotency,
   * the conversation's message_count/last_message_at/activity_at/event_seq, the message and its
   * `message.created` event, atomically. Null when the author is not a participant.
   */
  postMessage(message: Message): Promise<PostOutcome | null>;
  /** L1-insert: one bare INSERT of the message; no checks, no counters, no event. */
  insertMessage(message: Message): Promise<void>;

  /** Seeding: plain inserts, in the driver's fastest batch form. */
  insert<K extends SeedKind>(kind: K, records: EntityRecords[K][]): Promise<void>;
  /** The stored dataset marker (the parameters it was seeded with), or null when there is none. */
  readMarker(): Promise<string | null>;
  writeMarker(value: string): Promise<void>;
  /** After seeding: refresh the planner's statistics. */
  analyze(): Promise<void>;
  /**
   * Undoes a benchmark run: removes what was written at or after `seededBefore` (messages,
   * conversations, events, audit entries) and puts the counters of `conversations` (those that
   * received posts) back to their seeded values.
   */
  restore(seededBefore: Date, conversations: Conversation[]): Promise<void>;
  close(): Promise<void>;
}

export type SeedKind = 'users' | 'conversations' | 'participants' | 'messages';

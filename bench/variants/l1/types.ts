import type { CursorKey } from '../../../src/domain/cursor.js';
import type { AuditEntry, Conversation, Message, Participant } from '../../../src/domain/models.js';
import type { EntityRecords } from '../../../src/repositories/ports.js';

/**
 * What an L1 server needs from a database: the handful of queries and writes the benchmarked
 * routes make, written directly against the driver. Each method mirrors the statement(s) the
 * polystore adapter runs for the same request, so L2/L1 measures polystore's own layers (routing
 * schemas, services, repositories, TypeORM) rather than a different query.
 */
export interface L1Db {
  readonly kind: string;
  /** The participant check every conversation-scoped route makes first. */
  isParticipant(conversationId: string, userId: string): Promise<boolean>;
  /** Newest first, `limit` rows, strictly older than `before` when given. */
  listMessages(conversationId: string, limit: number, before?: CursorKey): Promise<Message[]>;
  getMessage(conversationId: string, messageId: string): Promise<Message | null>;
  /** The user's conversations by activity (lastMessageAt ?? createdAt), newest first. */
  listConversations(userId: string, limit: number): Promise<Conversation[]>;
  /** Conversation, owner participant and audit entry, in one transaction. */
  createConversation(conversation: Conversation, owner: Participant, audit: AuditEntry): Promise<void>;
  /** Counts the message on its conversation and inserts it, in one transaction. False when the conversation is missing. */
  postMessage(message: Message): Promise<boolean>;

  /** Seeding: plain inserts, in the driver's fastest batch form. */
  insert<K extends SeedKind>(kind: K, records: EntityRecords[K][]): Promise<void>;
  /** The stored dataset marker (the parameters it was seeded with), or null when there is none. */
  readMarker(): Promise<string | null>;
  writeMarker(value: string): Promise<void>;
  /** After seeding: refresh the planner's statistics. */
  analyze(): Promise<void>;
  /**
   * Undoes a benchmark run: removes what was written at or after `seededBefore` and puts the
   * counters of `conversations` (those that received posts) back to their seeded values.
   */
  restore(seededBefore: Date, conversations: Conversation[]): Promise<void>;
  close(): Promise<void>;
}

export type SeedKind = 'users' | 'conversations' | 'participants' | 'messages';

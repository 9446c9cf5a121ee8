import type { CursorKey } from '../domain/cursor.js';
import type { AuditEntry, Conversation, Message, Metadata, Participant, User, ContentPart } from '../domain/models.js';

/**
 * The repository ports: what the services need from a database, free of any driver type.
 * Every adapter (memory, TypeORM dialects, MongoDB) implements them and is proven by the one
 * contract suite under test/contract.
 *
 * Rules every implementation honours:
 * - Returned objects are fresh copies; mutating them never changes stored state.
 * - Missing rows raise NotFoundError; taken unique keys raise DuplicateError; a stale
 *   `expectedVersion` raises VersionConflictError and changes nothing.
 * - A mutation and the audit entry passed with it are written atomically: both or neither.
 */

export interface Page<T> {
  items: T[];
  /** True when another page exists in the direction of travel. */
  hasMore: boolean;
}

export type Direction = 'older' | 'newer';

export interface UserPatch {
  handle?: string;
  displayName?: string;
}

export interface UserRepository {
  /** Inserts a user. DuplicateError on a taken id (`field: 'id'`) or handle (`field: 'handle'`). */
  create(user: User, audit: AuditEntry): Promise<User>;
  get(id: string): Promise<User>;
  find(id: string): Promise<User | null>;
  findByHandle(handle: string): Promise<User | null>;
  /** Applies `patch`, bumps the version, sets `updatedAt`. */
  update(id: string, expectedVersion: number, patch: UserPatch, updatedAt: Date, audit: AuditEntry): Promise<User>;
}

export interface ConversationPatch {
  title?: string | null;
  metadata?: Metadata;
}

export interface ConversationListQuery {
  userId: string;
  limit: number;
  /** Position after which to continue, by (activityAt, id) descending. */
  after?: CursorKey;
}

export interface ConversationRepository {
  /** Inserts the conversation and its participants (the creator as owner among them). */
  create(conversation: Conversation, participants: Participant[], audit: AuditEntry): Promise<Conversation>;
  get(id: string): Promise<Conversation>;
  /** Applies `patch`, bumps the version, sets `updatedAt`. */
  update(id: string, expectedVersion: number, patch: ConversationPatch, updatedAt: Date, audit: AuditEntry): Promise<Conversation>;
  /** Removes the conversation with its messages and participants. */
  delete(id: string, audit: AuditEntry): Promise<void>;
  /**
   * The conversations a user takes part in, most recent activity first
   * (activity = lastMessageAt, or createdAt before the first message), ties by id descending.
   */
  listForUser(query: ConversationListQuery): Promise<Page<Conversation>>;

  /** The participant row, or null when the user does not take part (or the conversation is gone). */
  findParticipant(conversationId: string, userId: string): Promise<Participant | null>;
  /** Participants by joinedAt, then userId. NotFoundError when the conversation does not exist. */
  listParticipants(conversationId: string): Promise<Participant[]>;
  /** NotFoundError for a missing conversation; DuplicateError when the user already takes part. */
  addParticipant(participant: Participant, audit: AuditEntry): Promise<Participant>;
  /** NotFoundError when the user does not take part. */
  removeParticipant(conversationId: string, userId: string, audit: AuditEntry): Promise<void>;
}

export interface PostResult {
  message: Message;
  /** False when an earlier post with the same clientMessageId was returned instead. */
  created: boolean;
}

export interface MessagePatch {
  content?: ContentPart[];
  metadata?: Metadata;
}

export interface MessageListQuery {
  conversationId: string;
  limit: number;
  /** `older`: (createdAt, id) descending; `newer`: ascending. */
  direction: Direction;
  /** Exclusive start position. Without it, `older` starts at the newest message and `newer` at the oldest. */
  after?: CursorKey;
}

export interface MessageRepository {
  /**
   * Inserts the message and, atomically with it, increments the conversation's `messageCount` and
   * raises its `lastMessageAt` to the message's `createdAt`. If the message carries a
   * `clientMessageId` already used in that conversation, returns the stored message and changes
   * nothing. NotFoundError when the conversation does not exist.
   */
  post(message: Message): Promise<PostResult>;
  get(conversationId: string, messageId: string): Promise<Message>;
  /** Applies `patch`, bumps the version, sets `editedAt`. Tombstones cannot be edited (NotFoundError). */
  update(conversationId: string, messageId: string, expectedVersion: number | undefined, patch: MessagePatch, editedAt: Date, audit: AuditEntry): Promise<Message>;
  /** Soft delete: erases content and metadata, sets `deletedAt`, bumps the version; keeps the row. */
  softDelete(conversationId: string, messageId: string, expectedVersion: number | undefined, deletedAt: Date, audit: AuditEntry): Promise<Message>;
  /** One keyset page; tombstones included. */
  list(query: MessageListQuery): Promise<Page<Message>>;
}

export interface AuditRepository {
  /** Entries about one entity, oldest first. */
  listForEntity(entity: AuditEntry['entity'], entityId: string): Promise<AuditEntry[]>;
}

export interface MigrationStatus {
  /** Migrations this build knows, in order. */
  known: string[];
  applied: string[];
  pending: string[];
  /** Applied migrations this build does not know: the schema is newer than the code. */
  unknown: string[];
}

export interface Migrator {
  status(): Promise<MigrationStatus>;
  /** Applies pending migrations in order and returns their names. Refuses a newer schema. */
  up(): Promise<string[]>;
}

/** Every stored entity, by the name used in exports and bulk operations. */
export interface EntityRecords {
  users: User;
  conversations: Conversation;
  participants: Participant;
  messages: Message;
  audit: AuditEntry;
}
export type EntityKind = keyof EntityRecords;
/** Dependency order: a kind only references kinds before it. */
export const ENTITY_KINDS: readonly EntityKind[] = ['users', 'conversations', 'participants', 'messages', 'audit'];

export type ConflictPolicy = 'fail' | 'skip' | 'replace';

export interface BulkResult {
  inserted: number;
  skipped: number;
  replaced: number;
}

/**
 * Whole-store access for export, import, copy and verify. Records move exactly as stored:
 * ids, versions, counters and timestamps are not recomputed.
 */
export interface BulkPort {
  /**
   * Up to `limit` records of one kind in key order, strictly after `after` (a record of the same
   * kind, or null to start). Keys: `id` for most kinds; (conversationId, userId) for participants.
   * Key order is plain code-point order of the id strings on every backend.
   */
  scan<K extends EntityKind>(kind: K, after: EntityRecords[K] | null, limit: number): Promise<EntityRecords[K][]>;
  /**
   * Writes records in one transaction. On a key that exists: `fail` raises DuplicateError and
   * writes nothing, `skip` leaves the stored record, `replace` overwrites it.
   */
  insertBatch<K extends EntityKind>(kind: K, records: EntityRecords[K][], onConflict: ConflictPolicy): Promise<BulkResult>;
  /** How many records of each kind are stored. */
  counts(): Promise<Record<EntityKind, number>>;
}

/** One opened database: the repositories plus lifecycle. */
export interface Store {
  /** The backend's name, e.g. `sqlite`, `postgres`, `memory`. */
  readonly kind: string;
  readonly users: UserRepository;
  readonly conversations: ConversationRepository;
  readonly messages: MessageRepository;
  readonly audit: AuditRepository;
  readonly migrator: Migrator;
  readonly bulk: BulkPort;
  /** Cheap round trip to the database; UnavailableError when it cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What adapters log through (a subset of pino's API, so no logger type leaks into the ports). */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

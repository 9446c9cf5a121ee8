import type { CursorKey } from '../domain/cursor.js';
import type { ConversationEvent } from '../domain/events.js';
import type {
  AuditEntry,
  Conversation,
  ContentPart,
  Message,
  MessageStatus,
  Metadata,
  Participant,
  User,
} from '../domain/models.js';

/**
 * The repository ports: what the services need from a database, free of any driver type.
 * Every adapter (memory, TypeORM dialects, MongoDB) implements them and is proven by the one
 * contract suite under test/contract.
 *
 * Rules every implementation honours:
 * - Returned objects are fresh copies; mutating them never changes stored state.
 * - Missing rows raise NotFoundError; taken unique keys raise DuplicateError; a stale
 *   `expectedVersion` raises VersionConflictError and changes nothing.
 * - `expectedVersion` means the same on every port: when given, the change applies only to that
 *   stored version; when absent, it applies to whatever version is stored (no check).
 * - A mutation and the audit entry passed with it are written atomically: both or neither.
 * - Arguments are trusted domain values: the services (src/domain/validation.ts) have checked
 *   them, so adapters do not validate again. Ids are strings of a known shape, metadata and
 *   content are JSON; an adapter only encodes them for its database (escaping, parameters).
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

export interface UserUpdate {
  id: string;
  /** See the rules above: absent means no version check. */
  expectedVersion?: number | undefined;
  patch: UserPatch;
  updatedAt: Date;
  audit: AuditEntry;
}

export interface UserRepository {
  /** Inserts a user. DuplicateError on a taken id (`field: 'id'`) or handle (`field: 'handle'`). */
  create(user: User, audit: AuditEntry): Promise<User>;
  get(id: string): Promise<User>;
  find(id: string): Promise<User | null>;
  findByHandle(handle: string): Promise<User | null>;
  /** Which of `ids` name a stored user, in one query (`IN` / `$in`). Duplicates and unknown ids are fine. */
  findExisting(ids: readonly string[]): Promise<Set<string>>;
  /** Applies `patch`, bumps the version, sets `updatedAt`. */
  update(change: UserUpdate): Promise<User>;
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

export interface ConversationUpdate {
  id: string;
  /** See the rules above: absent means no version check. */
  expectedVersion?: number | undefined;
  patch: ConversationPatch;
  updatedAt: Date;
  audit: AuditEntry;
}

export interface ConversationRepository {
  /**
   * Inserts the conversation and its participants (the creator as owner among them).
   *
   * Participants must name existing users. The service checks that beforehand with one
   * `UserRepository.findExisting` query, and adapters do not check again inside the write: no
   * port, route or command deletes a user, so a user seen to exist still exists when the write
   * lands. (The same holds for `addParticipant`.) Should users ever become deletable, the check
   * has to move into the write's transaction, or become a foreign key.
   */
  create(conversation: Conversation, participants: Participant[], audit: AuditEntry): Promise<Conversation>;
  /**
   * With `viewerId`, the conversation as that user sees it: NotFoundError also when they do not
   * take part (the visibility rule of src/services/access.ts, checked in the same query).
   */
  get(id: string, viewerId?: string): Promise<Conversation>;
  /** Applies `patch`, bumps the version, sets `updatedAt`. */
  update(change: ConversationUpdate): Promise<Conversation>;
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
  /**
   * NotFoundError for a missing conversation; DuplicateError when the user already takes part.
   * The user must exist (checked by the service, see `create`).
   */
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

export interface MessageUpdate {
  conversationId: string;
  messageId: string;
  /** See the rules above: absent means no version check. */
  expectedVersion?: number | undefined;
  patch: MessagePatch;
  editedAt: Date;
  audit: AuditEntry;
}

export interface MessageDeletion {
  conversationId: string;
  messageId: string;
  /** See the rules above: absent means no version check. */
  expectedVersion?: number | undefined;
  deletedAt: Date;
  audit: AuditEntry;
}

export interface MessageListQuery {
  conversationId: string;
  limit: number;
  /** `older`: (createdAt, id) descending; `newer`: ascending. */
  direction: Direction;
  /** Exclusive start position. Without it, `older` starts at the newest message and `newer` at the oldest. */
  after?: CursorKey;
  /**
   * The reader: NotFoundError('conversation') when they do not take part, checked in the same
   * query as the page (see `MessageRepository.get`).
   */
  viewerId?: string;
}

export interface MessageRepository {
  /**
   * Inserts the message and, atomically with it, increments the conversation's `messageCount` and
   * raises its `lastMessageAt` to the message's `createdAt`. If the message carries a
   * `clientMessageId` already used in that conversation, returns the stored message and changes
   * nothing. NotFoundError('conversation') when the conversation does not exist or the author
   * does not take part in it (checked first, so an outsider learns nothing, not even whether a
   * clientMessageId was used): the membership check is part of the post, not a query before it.
   */
  post(message: Message): Promise<PostResult>;
  /**
   * Posts `messages` (at least one, all of `conversationId`) as one atomic unit: each is inserted
   * and counted as `post` counts one (`messageCount + n`, `lastMessageAt` raised to the latest
   * `createdAt`), each with its `message.created` event, in the order given with consecutive
   * seqs; or, on any failure, nothing at all. Batches are not idempotent: every message's
   * `clientMessageId` is null. NotFoundError when the conversation does not exist; DuplicateError
   * (`field: 'id'`) when an id is taken. Returns the stored messages, in the order given.
   */
  postMany(conversationId: string, messages: readonly Message[]): Promise<Message[]>;
  /**
   * With `viewerId`, NotFoundError('conversation') when that user does not take part (checked in
   * the same query), before NotFoundError('message') for a message that does not exist.
   */
  get(conversationId: string, messageId: string, viewerId?: string): Promise<Message>;
  /** Applies `patch`, bumps the version, sets `editedAt`. Tombstones cannot be edited (NotFoundError). */
  update(change: MessageUpdate): Promise<Message>;
  /** Soft delete: erases content and metadata, sets `deletedAt`, bumps the version; keeps the row. */
  softDelete(deletion: MessageDeletion): Promise<Message>;
  /** One keyset page; tombstones included. */
  list(query: MessageListQuery): Promise<Page<Message>>;
}

/** Accumulated content of a streamed message, written by the instance that takes its appends. */
export interface StreamFlush {
  conversationId: string;
  messageId: string;
  /** The version this writer last read or wrote: the write applies only to it (no error otherwise). */
  expectedVersion: number;
  content: ContentPart[];
  /** When the stream last saw an append (or was kept alive): what the sweep compares. */
  touchedAt: Date;
}

/** A streamed message ends: final content and status, by its author or by the sweep. */
export interface StreamFinish {
  conversationId: string;
  messageId: string;
  /** See the rules above: absent means no version check. */
  expectedVersion?: number | undefined;
  status: Exclude<MessageStatus, 'in_progress'>;
  statusReason: string | null;
  content: ContentPart[];
  audit: AuditEntry;
}

/** An in_progress message nobody has appended to for a while, as the sweep finds it. */
export interface StaleStream {
  conversationId: string;
  messageId: string;
  authorId: string;
  version: number;
  content: ContentPart[];
  touchedAt: Date;
}

/**
 * Streamed messages (src/services/streams.ts): a message posted `in_progress` grows by appends
 * and ends `completed` or `incomplete`. The adapter keeps, beside the message, when its stream
 * was last touched (`stream_touched_at` / `streamTouchedAt`): set to the post's `createdAt` when
 * an `in_progress` message is inserted (also by bulk imports: `editedAt ?? createdAt`), moved by
 * `flush`, cleared when the message leaves `in_progress` (finish, soft delete). An index on
 * (status, touched) serves `stale`.
 */
export interface StreamRepository {
  /**
   * Writes the content of an `in_progress`, live (not deleted) message whose version is
   * `expectedVersion`, moves its touched time, bumps its version; no event, no audit (deltas are
   * not logged; the finish is). Returns the stored message, or null when the message is not
   * there, not in progress, deleted or at another version: the writer has lost its place.
   */
  flush(change: StreamFlush): Promise<Message | null>;
  /**
   * Sets content, status and reason of an `in_progress` live message, clears its touched time,
   * bumps the version and sets nothing else (editedAt stays: finishing is not an edit); writes the
   * audit entry and a `message.updated` event atomically with it. NotFoundError for a missing
   * message or a tombstone; VersionConflictError for a stale `expectedVersion`; StreamError
   * `message_not_in_progress` when the message already ended. Nothing changes on any error.
   */
  finish(change: StreamFinish): Promise<Message>;
  /**
   * Live `in_progress` messages touched before `before`, oldest touch first, at most `limit`,
   * over all conversations (served by the index).
   */
  stale(before: Date, limit: number): Promise<StaleStream[]>;
}

export interface AuditRepository {
  /** Entries about one entity, oldest first. */
  listForEntity(entity: AuditEntry['entity'], entityId: string): Promise<AuditEntry[]>;
}

/**
 * The per-conversation event log (src/domain/events.ts). Every mutation of the ports above that
 * changes something inside a conversation appends its event in the same transaction, with the
 * conversation's next seq (kept on the conversation as `event_seq`): message post (not a repeated
 * clientMessageId), edit, soft delete; participant added, removed; conversation created, updated,
 * deleted. A failed change appends nothing. Log rows have no foreign key: they outlive their
 * conversation until pruned, so a feed can read the final `conversation.deleted`.
 */
export interface EventRepository {
  /** Events with seq > `afterSeq`, ascending, at most `limit`. */
  list(conversationId: string, afterSeq: number, limit: number): Promise<Page<ConversationEvent>>;
  /** The last seq given out in the conversation (0 before its first event, and for unknown ids). */
  latestSeq(conversationId: string): Promise<number>;
  /** The seq of the latest retained `participant.added` of `userId`, or 0 when none is retained. */
  joinedSeq(conversationId: string, userId: string): Promise<number>;
  /** Deletes events and participant removals older than `before` (all conversations); returns how many went. */
  prune(before: Date): Promise<number>;
}

/** Where an inbox read continues: after this time, and after this conversation id at that time. */
export interface InboxPosition {
  at: Date;
  id: string;
}

/** A conversation of the user, as it is now, with the time of its latest change the inbox shows. */
export interface InboxChange {
  conversation: Conversation;
  /** The latest of the conversation's activityAt and updatedAt and the user's joinedAt. */
  changedAt: Date;
}

export type RemovalReason = 'removed' | 'deleted';

/** The user left a conversation: removed from it, or it was deleted while they took part. */
export interface InboxRemoval {
  userId: string;
  conversationId: string;
  at: Date;
  reason: RemovalReason;
}

/**
 * What a user's inbox stream reads (src/services/inbox.ts): the state of their conversations that
 * changed after a position, and their removals. Removals are written by `removeParticipant` and
 * by `delete` (one per participant) in the change's transaction, and pruned with the event log.
 */
export interface InboxRepository {
  /** The user's conversations whose `changedAt` is after `after` (by time, then id), ascending, at most `limit`. */
  changes(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxChange>>;
  /** The user's removals after `after` (by time, then conversation id), ascending, at most `limit`. */
  removals(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxRemoval>>;
}

/**
 * Redeemed stream-ticket nonces, shared by every gateway instance on the database, so a ticket
 * works once in all of them together.
 */
export interface TicketUseRepository {
  /** Records the nonce's use: true the first time, false when it was used before (and has not expired). */
  claim(nonce: string, expiresAt: Date): Promise<boolean>;
  /** Forgets uses that expired before `now`; returns how many went. */
  prune(now: Date): Promise<number>;
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
  insertBatch<K extends EntityKind>(
    kind: K,
    records: EntityRecords[K][],
    onConflict: ConflictPolicy,
  ): Promise<BulkResult>;
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
  readonly streams: StreamRepository;
  readonly audit: AuditRepository;
  readonly events: EventRepository;
  readonly inbox: InboxRepository;
  readonly ticketUses: TicketUseRepository;
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

import { Long, type Document } from 'mongodb';
import {
  activityAt,
  type AuditEntry,
  type ContentPart,
  type Conversation,
  type JsonValue,
  type Message,
  type Metadata,
  type Participant,
  type User,
} from '../../src/domain/models.js';

/**
 * Domain objects ⇄ MongoDB documents. Ids stay the domain's strings and become `_id`; timestamps
 * are BSON dates (millisecond precision, like the domain). Fields starting with `_` besides `_id`
 * are the adapter's bookkeeping (see DESIGN.md) and never leave this module's `from*` functions.
 * Values arrive as checked domain values (src/repositories/ports.ts): they are mapped, not
 * validated again. Free-form JSON is escaped, which is encoding, not validation.
 */

/** An audit entry waiting in the document it describes, until it is copied to `audit`. */
export type AuditDoc = {
  _id: string;
  actorId: string;
  action: AuditEntry['action'];
  entity: AuditEntry['entity'];
  entityId: string;
  at: Date;
  diff: Record<string, unknown>;
};

/**
 * A stored integer (versions, counts). js-bson writes a JS number that is whole but outside the
 * int32 range as a double, which the validators (`bsonType: ['int', 'long']`) refuse; such values
 * are written as int64. The driver reads both back as JS numbers.
 */
export type StoredInt = number | Long;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** `n` as the BSON integer type that holds it: int32 when it fits, else int64. */
export function storedInt(n: number): StoredInt {
  return Number.isSafeInteger(n) && (n < INT32_MIN || n > INT32_MAX) ? Long.fromNumber(n) : n;
}

/** A stored integer read back (the driver returns int64 as a JS number already; a Long only when asked). */
export const intOf = (n: StoredInt): number => (typeof n === 'number' ? n : n.toNumber());

interface Bookkeeping {
  /** Audit entries written atomically with this document's last changes, not yet in `audit`. */
  _outbox?: AuditDoc[];
}

export interface UserDoc extends Bookkeeping {
  _id: string;
  handle: string;
  displayName: string;
  createdAt: Date;
  updatedAt: Date;
  version: StoredInt;
}

export interface ParticipantDoc {
  userId: string;
  role: Participant['role'];
  joinedAt: Date;
}

export interface ConversationDoc extends Bookkeeping {
  _id: string;
  title: string | null;
  metadata: Record<string, string>;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  lastMessageAt: Date | null;
  /** lastMessageAt ?? createdAt, stored so listing can use an index. */
  activityAt: Date;
  messageCount: StoredInt;
  version: StoredInt;
  participants: ParticipantDoc[];
  /**
   * Derived: more than SHARED_ABOVE participants. A small conversation (false) is in the per-member
   * index `conversations_inbox_small` {participants.userId, activityAt, _id}, whose keys a post
   * rewrites; a shared one (true) only in `conversations_inbox_shared` {participants.userId},
   * which a post does not touch. Set with every change of `participants` (DESIGN.md, "The inbox").
   */
  shared: boolean;
  /**
   * Posts in progress on a deployment without transactions (see recovery.ts): a post reserves its
   * entry before inserting its message, the count marks it counted (once: the count requires the
   * uncounted entry), and it is removed once the message is visible.
   */
  _pendingPosts?: PendingPost[];
  /** Ids of the latest messages counted, as builds before _pendingPosts kept them (read, no longer written). */
  _recentPosts?: string[];
  /** Set when a delete began; the conversation is gone for every reader from then on. */
  _deletingAt?: Date;
  /** The last event seq given out (absent before the first event). Not part of the domain object. */
  eventSeq?: number;
}

export interface MessageDoc extends Bookkeeping {
  _id: string;
  conversationId: string;
  authorId: string;
  role: Message['role'];
  content: unknown[];
  metadata: Record<string, string>;
  clientMessageId: string | null;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  version: StoredInt;
  /** Absent on messages stored before streaming existed (migration 0008): they are completed. */
  status?: Message['status'];
  statusReason?: string | null;
  /** While the message is in_progress: when its stream last took an append (the sweep's index). */
  _streamTouchedAt?: Date;
  /** Set while the post that inserted this message has not yet counted it into its conversation. */
  _uncountedAt?: Date;
  /** Set with `_uncountedAt` on the messages of one postMany: the ids of the whole batch, in order. */
  _batch?: string[];
}

export interface PendingPost {
  /** The message id; for a batch (postMany), its first message's id. */
  id: string;
  /** Set for a batch: how many messages it holds (they carry `_batch`). */
  size?: number;
  /** When the post reserved it; recovery settles entries older than INTERRUPTED_POST_MS. */
  at: Date;
  counted: boolean;
}

/** Projections that leave the bookkeeping (and embedded participants) out of reads. */
export const USER_FIELDS = { _outbox: 0 } as const;
export const CONVERSATION_FIELDS = {
  participants: 0,
  shared: 0,
  _outbox: 0,
  _pendingPosts: 0,
  _recentPosts: 0,
  _deletingAt: 0,
  eventSeq: 0,
} as const;
export const MESSAGE_FIELDS = { _outbox: 0, _uncountedAt: 0, _batch: 0 } as const;

/**
 * Conversations with more members than this are shared (`shared: true`): a post no longer rewrites
 * one index key per member, and a member's list merges them in on read. The SQL backends use the
 * same bound, so both behave (and cost) alike.
 */
export const SHARED_ABOVE = 32;

/** Whether a conversation with `members` participants is shared. */
export const isShared = (members: number): boolean => members > SHARED_ABOVE;

/**
 * An update pipeline that sets `participants` to the expression `participants` (and the fields of
 * `set`), then derives `shared` from the new array, all in one single-document update: a change
 * that crosses SHARED_ABOVE switches the conversation between the two inbox indexes atomically.
 * Values inside `participants` and `set` must be expressions: wrap data in `$literal`.
 */
export function withParticipants(participants: Document, set: Document = {}): Document[] {
  return [
    { $set: { ...set, participants } },
    { $set: { shared: { $gt: [{ $size: '$participants' }, SHARED_ABOVE] } } },
  ];
}

/** Filter fragment: conversations a delete has not begun on. */
export const LIVE = { _deletingAt: { $exists: false } } as const;

// --- Free-form JSON keys ----------------------------------------------------------------------
//
// Tool arguments and outputs, metadata keys and audit diffs may hold keys MongoDB or BSON treat
// specially: `$`-prefixed names (operators, and `$ref`/`$id` that BSON readers turn into DBRefs),
// dotted names (paths), NUL (BSON cannot store it in a key) and `_bsontype` (the JS BSON library
// takes an object with that key for one of its own types). Such characters are percent-escaped,
// `%` itself included, so the mapping is reversible and every stored key is a plain field name.

const ESCAPED = /[%.$\0]/g;
const ESCAPE = /%(25|2E|24|00|5F)/g;

export function escapeKey(key: string): string {
  if (key === '_bsontype') return '%5Fbsontype';
  return key.replace(ESCAPED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function unescapeKey(key: string): string {
  return key.includes('%') ? key.replace(ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : key;
}

/** Escapes every object key in a JSON value, keeping key order. */
export function escapeJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(escapeJson);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    // fromEntries defines own properties, so a `__proto__` key stays data.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeKey(k), escapeJson(v)]));
  }
  return value;
}

export function unescapeJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unescapeJson);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [unescapeKey(k), unescapeJson(v)]));
  }
  return value;
}

export function metadataDoc(m: Metadata): Record<string, string> {
  return escapeJson(m) as Record<string, string>;
}
const metadataOf = (m: Record<string, string>) => unescapeJson(m) as Metadata;

export function contentDoc(content: ContentPart[]): unknown[] {
  return escapeJson(content) as unknown[];
}

// --- Users ------------------------------------------------------------------------------------

export function toUserDoc(u: User): UserDoc {
  return {
    _id: u.id,
    handle: u.handle,
    displayName: u.displayName,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
    version: storedInt(u.version),
  };
}

export function fromUserDoc(d: UserDoc): User {
  return {
    id: d._id,
    handle: d.handle,
    displayName: d.displayName,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    version: intOf(d.version),
  };
}

// --- Conversations and participants -----------------------------------------------------------

export function toParticipantDoc(p: Participant): ParticipantDoc {
  return { userId: p.userId, role: p.role, joinedAt: p.joinedAt };
}

export function fromParticipantDoc(conversationId: string, p: ParticipantDoc): Participant {
  return { conversationId, userId: p.userId, role: p.role, joinedAt: p.joinedAt };
}

/** The conversation's own fields (everything but participants, what derives from them, and bookkeeping). */
export function conversationFields(c: Conversation): Omit<ConversationDoc, 'participants' | 'shared' | '_id'> {
  return {
    title: c.title,
    metadata: metadataDoc(c.metadata),
    createdBy: c.createdBy,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    lastMessageAt: c.lastMessageAt,
    activityAt: activityAt(c),
    messageCount: storedInt(c.messageCount),
    version: storedInt(c.version),
  };
}

export function toConversationDoc(c: Conversation, participants: Participant[]): ConversationDoc {
  return {
    _id: c.id,
    ...conversationFields(c),
    participants: participants.map(toParticipantDoc),
    shared: isShared(participants.length),
  };
}

export function fromConversationDoc(d: Omit<ConversationDoc, 'participants' | 'shared'>): Conversation {
  return {
    id: d._id,
    title: d.title,
    metadata: metadataOf(d.metadata),
    createdBy: d.createdBy,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    lastMessageAt: d.lastMessageAt,
    messageCount: intOf(d.messageCount),
    version: intOf(d.version),
  };
}

// --- Messages ---------------------------------------------------------------------------------

export function toMessageDoc(m: Message): MessageDoc {
  return {
    _id: m.id,
    conversationId: m.conversationId,
    authorId: m.authorId,
    role: m.role,
    content: contentDoc(m.content),
    metadata: metadataDoc(m.metadata),
    clientMessageId: m.clientMessageId,
    createdAt: m.createdAt,
    editedAt: m.editedAt,
    deletedAt: m.deletedAt,
    version: storedInt(m.version),
    status: m.status,
    statusReason: m.statusReason,
    ...(m.status === 'in_progress' ? { _streamTouchedAt: m.editedAt ?? m.createdAt } : {}),
  };
}

export function fromMessageDoc(d: MessageDoc): Message {
  return {
    id: d._id,
    conversationId: d.conversationId,
    authorId: d.authorId,
    role: d.role,
    content: unescapeJson(d.content) as ContentPart[],
    metadata: metadataOf(d.metadata),
    clientMessageId: d.clientMessageId,
    createdAt: d.createdAt,
    editedAt: d.editedAt,
    deletedAt: d.deletedAt,
    version: intOf(d.version),
    status: d.status ?? 'completed',
    statusReason: d.statusReason ?? null,
  };
}

// --- Audit ------------------------------------------------------------------------------------

export function toAuditDoc(a: AuditEntry): AuditDoc {
  return {
    _id: a.id,
    actorId: a.actorId,
    action: a.action,
    entity: a.entity,
    entityId: a.entityId,
    at: a.at,
    diff: escapeJson(a.diff) as Record<string, unknown>,
  };
}

export function fromAuditDoc(d: AuditDoc): AuditEntry {
  return {
    id: d._id,
    actorId: d.actorId,
    action: d.action,
    entity: d.entity,
    entityId: d.entityId,
    at: d.at,
    diff: unescapeJson(d.diff) as { [key: string]: JsonValue },
  };
}

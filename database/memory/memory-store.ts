import type { CursorKey } from '../../src/domain/cursor.js';
import { DuplicateError, NotFoundError, VersionConflictError, type EntityName } from '../../src/domain/errors.js';
import * as events from '../../src/domain/events.js';
import type { ConversationEvent, NewEvent } from '../../src/domain/events.js';
import {
  activityAt,
  type AuditEntry,
  type Conversation,
  type Message,
  type Participant,
  type User,
} from '../../src/domain/models.js';
import type {
  AuditRepository,
  BulkPort,
  BulkResult,
  ConflictPolicy,
  ConversationListQuery,
  ConversationRepository,
  ConversationUpdate,
  EntityKind,
  EventRepository,
  EntityRecords,
  InboxChange,
  InboxPosition,
  InboxRemoval,
  InboxRepository,
  MessageDeletion,
  MessageListQuery,
  MessageRepository,
  MessageUpdate,
  Migrator,
  Page,
  PostResult,
  Store,
  TicketUseRepository,
  UserRepository,
  UserUpdate,
} from '../../src/repositories/ports.js';
import { MemoryStreams } from './memory-streams.js';

/**
 * The in-memory adapter: the reference implementation of the ports, for tests, demos and trying
 * the API. Each operation runs synchronously between awaits, which makes every one of them atomic.
 * Nothing survives the process.
 *
 * Fit to serve a demo: every hot read goes through an index kept with the writes — a user's
 * conversations by (activity, id) in a sorted array per user, members by conversation, messages
 * per conversation sorted by (createdAt, id) with binary search for cursors, events by seq, audit
 * entries by entity and removals by user — so no read walks everything stored.
 */

/**
 * A deep copy of stored data (plain objects, arrays, dates, primitives): what the ports promise
 * (returned objects are fresh copies), several times cheaper than structuredClone, which
 * serializes. Keys are copied as own properties, so a `__proto__` key in JSON stays data.
 */
function copy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = copy((value as Record<string, unknown>)[key]);
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out as T;
}

const date = (d: Date | null): Date | null => (d === null ? null : new Date(d.getTime()));

/**
 * A message copy for the hot paths (pages of up to 200): fields spread, content deep-copied,
 * metadata (string values) and dates copied — half the work of the generic copy.
 */
function copyMessage(m: Message): Message {
  return {
    ...m,
    content: copy(m.content),
    metadata: { ...m.metadata },
    createdAt: new Date(m.createdAt.getTime()),
    editedAt: date(m.editedAt),
    deletedAt: date(m.deletedAt),
  };
}

/** Compares (at, id) keys; the order used by every keyset query. */
function compareKey(a: CursorKey, b: CursorKey): number {
  const d = a.at.getTime() - b.at.getTime();
  if (d !== 0) return d;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Conversations with more members than this are shared: a post does not move them in each
 * member's list, which merges them in on read (the bound of the SQL and MongoDB adapters too).
 */
const SHARED_ABOVE = 32;

const participantKey = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;

/** First index of `list` whose key is >= `key` (`strict`: > `key`). */
function bound<T>(list: readonly T[], key: CursorKey, keyOf: (item: T) => CursorKey, strict: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKey(keyOf(list[mid]!), key);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const self = (k: CursorKey) => k;

/** A set of (at, id) keys kept sorted ascending: insert, remove and a page before a key in O(log n + page). */
class KeyIndex {
  private readonly keys: CursorKey[] = [];

  get size(): number {
    return this.keys.length;
  }

  insert(key: CursorKey): void {
    this.keys.splice(bound(this.keys, key, self, true), 0, key);
  }

  remove(key: CursorKey): void {
    const at = bound(this.keys, key, self, false);
    if (at < this.keys.length && compareKey(this.keys[at]!, key) === 0) this.keys.splice(at, 1);
  }

  /** Up to `n` keys strictly before `before` (all keys without it), the greatest first. */
  descending(before: CursorKey | undefined, n: number): CursorKey[] {
    const end = before ? bound(this.keys, before, self, false) : this.keys.length;
    return this.keys.slice(Math.max(0, end - n), end).reverse();
  }

  all(): readonly CursorKey[] {
    return this.keys;
  }
}

export class MemoryData {
  users = new Map<string, User>();
  handles = new Map<string, string>();
  /**
   * Frozen records, replaced on change through setConversation (or countMessage), which keeps the
   * members' lists in order: a change in place would leave them stale, so it throws instead.
   */
  conversations = new Map<string, Readonly<Conversation>>();
  /** participantKey → the participant; change only through addMember / removeMember. */
  participants = new Map<string, Participant>();
  /** conversationId → its messages, kept sorted by (createdAt, id). */
  messages = new Map<string, Message[]>();
  messageIds = new Map<string, Message>();
  /**
   * Ids of messages that were in_progress when stored (a message only starts in that status); the
   * sweep (MemoryStreams.stale) reads these instead of every message, and drops the ones that ended.
   */
  inProgress = new Set<string>();
  clientIds = new Map<string, string>();
  audit: AuditEntry[] = [];
  /** conversationId → the last seq given out (kept after a delete, like the log). */
  eventSeq = new Map<string, number>();
  /** conversationId → its events by seq; outlives the conversation until pruned. */
  events = new Map<string, ConversationEvent[]>();
  /** Who left which conversation when, oldest first; pruned with the events. */
  removals: InboxRemoval[] = [];
  /** Redeemed stream-ticket nonces → their expiry. */
  ticketUses = new Map<string, Date>();
  /** conversationId → its members' user ids (the participants above, by conversation). */
  members = new Map<string, Set<string>>();
  /**
   * userId → the (activityAt, id) keys of their small conversations (at most SHARED_ABOVE members),
   * in order: listForUser reads a page of it. A post moves the conversation's key in each member's
   * list, so that costs at most SHARED_ABOVE moves.
   */
  inboxes = new Map<string, KeyIndex>();
  /** userId → their shared conversations (more members): a post moves nothing per member; lists merge them in. */
  sharedOf = new Map<string, Set<string>>();

  private inboxOf(userId: string): KeyIndex {
    let index = this.inboxes.get(userId);
    if (!index) {
      index = new KeyIndex();
      this.inboxes.set(userId, index);
    }
    return index;
  }

  /** Lists conversation `c` for `userId`: in their ordered list (small) or their shared set. */
  private enter(userId: string, c: Conversation, shared: boolean): void {
    if (!shared) {
      this.inboxOf(userId).insert({ at: activityAt(c), id: c.id });
      return;
    }
    let set = this.sharedOf.get(userId);
    if (!set) {
      set = new Set();
      this.sharedOf.set(userId, set);
    }
    set.add(c.id);
  }

  private leave(userId: string, c: Conversation, shared: boolean): void {
    if (shared) this.sharedOf.get(userId)?.delete(c.id);
    else this.inboxes.get(userId)?.remove({ at: activityAt(c), id: c.id });
  }

  /** Stores a participant (a copy the caller no longer holds) and lists the conversation for them. */
  addMember(p: Participant): void {
    this.participants.set(participantKey(p.conversationId, p.userId), p);
    let members = this.members.get(p.conversationId);
    if (!members) {
      members = new Set();
      this.members.set(p.conversationId, members);
    }
    members.add(p.userId);
    const c = this.conversations.get(p.conversationId);
    if (!c) return;
    if (members.size === SHARED_ABOVE + 1) {
      // Crossing the bound: every member's listing moves from the ordered lists to the shared sets.
      for (const userId of members) if (userId !== p.userId) this.leave(userId, c, false);
      for (const userId of members) this.enter(userId, c, true);
    } else this.enter(p.userId, c, members.size > SHARED_ABOVE);
  }

  removeMember(conversationId: string, userId: string): void {
    if (!this.participants.delete(participantKey(conversationId, userId))) return;
    const members = this.members.get(conversationId);
    if (!members) return;
    const wasShared = members.size > SHARED_ABOVE;
    members.delete(userId);
    const c = this.conversations.get(conversationId);
    if (!c) return;
    this.leave(userId, c, wasShared);
    if (wasShared && members.size === SHARED_ABOVE) {
      // Back to small: into the members' ordered lists again, at the current activity.
      for (const u of members) {
        this.leave(u, c, true);
        this.enter(u, c, false);
      }
    }
  }

  /** Stores a conversation (new or changed; frozen here); when a small one's activity moved, moves it in its members' lists. */
  setConversation(next: Conversation): void {
    const before = this.conversations.get(next.id);
    Object.freeze(next.metadata);
    this.conversations.set(next.id, Object.freeze(next));
    const members = this.members.get(next.id);
    if (!before || !members || members.size > SHARED_ABOVE) return;
    const was = activityAt(before);
    const now = activityAt(next);
    if (was.getTime() === now.getTime()) return;
    for (const userId of members) {
      const index = this.inboxOf(userId);
      index.remove({ at: was, id: next.id });
      index.insert({ at: now, id: next.id });
    }
  }

  /** A message counted into its conversation: messageCount + 1, lastMessageAt raised to its createdAt. */
  countMessage(conversation: Conversation, m: Message): void {
    const raised =
      conversation.lastMessageAt === null || conversation.lastMessageAt < m.createdAt
        ? new Date(m.createdAt)
        : conversation.lastMessageAt;
    this.setConversation({ ...conversation, messageCount: conversation.messageCount + 1, lastMessageAt: raised });
  }

  /** Forgets a conversation and its members (not its log, which outlives it); returns who took part. */
  dropConversation(id: string): string[] {
    const members = [...(this.members.get(id) ?? [])];
    const c = this.conversations.get(id);
    for (const userId of members) {
      this.participants.delete(participantKey(id, userId));
      if (c) this.leave(userId, c, members.length > SHARED_ABOVE);
    }
    this.members.delete(id);
    this.conversations.delete(id);
    return members;
  }

  /** The visibility rule, for ports that take a `viewerId` (or a post's author): 404 to outsiders. */
  requireViewer(conversationId: string, viewerId: string | undefined): void {
    if (viewerId !== undefined && !this.participants.has(participantKey(conversationId, viewerId)))
      throw new NotFoundError('conversation', conversationId);
  }

  /** Appends an event with the conversation's next seq (callers run it with the change, synchronously). */
  appendEvent(event: NewEvent): void {
    const seq = (this.eventSeq.get(event.conversationId) ?? 0) + 1;
    this.eventSeq.set(event.conversationId, seq);
    let log = this.events.get(event.conversationId);
    if (!log) {
      log = [];
      this.events.set(event.conversationId, log);
    }
    log.push(copy({ ...event, seq }));
  }
}

class MemoryUsers implements UserRepository {
  constructor(private readonly d: MemoryData) {}

  async create(user: User, audit: AuditEntry): Promise<User> {
    if (this.d.users.has(user.id)) throw new DuplicateError('user', 'id');
    if (this.d.handles.has(user.handle)) throw new DuplicateError('user', 'handle');
    this.d.users.set(user.id, copy(user));
    this.d.handles.set(user.handle, user.id);
    this.d.audit.push(copy(audit));
    return copy(user);
  }

  async get(id: string): Promise<User> {
    const user = this.d.users.get(id);
    if (!user) throw new NotFoundError('user', id);
    return copy(user);
  }

  async find(id: string): Promise<User | null> {
    const user = this.d.users.get(id);
    return user ? copy(user) : null;
  }

  async findByHandle(handle: string): Promise<User | null> {
    const id = this.d.handles.get(handle);
    return id === undefined ? null : this.find(id);
  }

  async findExisting(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.d.users.has(id)));
  }

  async update({ id, expectedVersion, patch, updatedAt, audit }: UserUpdate): Promise<User> {
    const user = this.d.users.get(id);
    if (!user) throw new NotFoundError('user', id);
    checkVersion('user', id, user.version, expectedVersion);
    if (patch.handle !== undefined && patch.handle !== user.handle) {
      if (this.d.handles.has(patch.handle)) throw new DuplicateError('user', 'handle');
      this.d.handles.delete(user.handle);
      this.d.handles.set(patch.handle, id);
    }
    const next: User = { ...user, ...definedOnly(patch), updatedAt: new Date(updatedAt), version: user.version + 1 };
    this.d.users.set(id, next);
    this.d.audit.push(copy(audit));
    return copy(next);
  }
}

function checkVersion(entity: EntityName, id: string, stored: number, expected: number | undefined): void {
  if (expected !== undefined && stored !== expected) throw new VersionConflictError(entity, id, expected, stored);
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

class MemoryConversations implements ConversationRepository {
  constructor(private readonly d: MemoryData) {}

  async create(conversation: Conversation, participants: Participant[], audit: AuditEntry): Promise<Conversation> {
    if (this.d.conversations.has(conversation.id)) throw new DuplicateError('conversation', 'id');
    const keys = new Set(participants.map((p) => participantKey(p.conversationId, p.userId)));
    if (keys.size !== participants.length) throw new DuplicateError('participant', 'userId');
    this.d.setConversation(copy(conversation));
    for (const p of participants) this.d.addMember(copy(p));
    this.d.messages.set(conversation.id, []);
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.conversationCreated(conversation, participants, audit));
    return copy(conversation);
  }

  async get(id: string, viewerId?: string): Promise<Conversation> {
    const c = this.d.conversations.get(id);
    if (!c) throw new NotFoundError('conversation', id);
    this.d.requireViewer(id, viewerId);
    return copy(c);
  }

  async update({ id, expectedVersion, patch, updatedAt, audit }: ConversationUpdate): Promise<Conversation> {
    const c = this.d.conversations.get(id);
    if (!c) throw new NotFoundError('conversation', id);
    checkVersion('conversation', id, c.version, expectedVersion);
    const next: Conversation = {
      ...c,
      ...copy(definedOnly(patch)),
      updatedAt: new Date(updatedAt),
      version: c.version + 1,
    };
    this.d.setConversation(next);
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.conversationUpdated(id, patch, next.updatedAt, next.version, audit));
    return copy(next);
  }

  async delete(id: string, audit: AuditEntry): Promise<void> {
    if (!this.d.conversations.has(id)) throw new NotFoundError('conversation', id);
    for (const userId of this.d.dropConversation(id))
      this.d.removals.push({ userId, conversationId: id, at: new Date(audit.at), reason: 'deleted' });
    for (const m of this.d.messages.get(id) ?? []) {
      this.d.messageIds.delete(m.id);
      if (m.clientMessageId !== null) this.d.clientIds.delete(participantKey(id, m.clientMessageId));
    }
    this.d.messages.delete(id);
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.conversationDeleted(id, audit));
  }

  /**
   * A page of the user's own sorted list of small conversations, O(log n + limit) whatever their
   * number, merged with their shared conversations (few: sorted here) in (activity, id) order.
   */
  async listForUser(query: ConversationListQuery): Promise<Page<Conversation>> {
    const { userId, after, limit } = query;
    const small = this.d.inboxes.get(userId)?.descending(after, limit + 1) ?? [];
    const shared: CursorKey[] = [];
    for (const id of this.d.sharedOf.get(userId) ?? []) {
      const key = { at: activityAt(this.d.conversations.get(id)!), id };
      if (!after || compareKey(key, after) < 0) shared.push(key);
    }
    const keys = shared.length === 0 ? small : [...small, ...shared].sort((a, b) => compareKey(b, a));
    const items = keys.slice(0, limit).map((k) => copy(this.d.conversations.get(k.id)!));
    return { items, hasMore: keys.length > limit };
  }

  async findParticipant(conversationId: string, userId: string): Promise<Participant | null> {
    const p = this.d.participants.get(participantKey(conversationId, userId));
    return p ? copy(p) : null;
  }

  async listParticipants(conversationId: string): Promise<Participant[]> {
    if (!this.d.conversations.has(conversationId)) throw new NotFoundError('conversation', conversationId);
    return [...(this.d.members.get(conversationId) ?? [])]
      .map((userId) => this.d.participants.get(participantKey(conversationId, userId))!)
      .sort((a, b) => compareKey({ at: a.joinedAt, id: a.userId }, { at: b.joinedAt, id: b.userId }))
      .map(copy);
  }

  async addParticipant(participant: Participant, audit: AuditEntry): Promise<Participant> {
    if (!this.d.conversations.has(participant.conversationId))
      throw new NotFoundError('conversation', participant.conversationId);
    const key = participantKey(participant.conversationId, participant.userId);
    if (this.d.participants.has(key)) throw new DuplicateError('participant', 'userId');
    this.d.addMember(copy(participant));
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.participantAdded(participant, audit));
    return copy(participant);
  }

  async removeParticipant(conversationId: string, userId: string, audit: AuditEntry): Promise<void> {
    const key = participantKey(conversationId, userId);
    if (!this.d.participants.has(key)) throw new NotFoundError('participant', `${conversationId}/${userId}`);
    this.d.removeMember(conversationId, userId);
    this.d.removals.push({ userId, conversationId, at: new Date(audit.at), reason: 'removed' });
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.participantRemoved(conversationId, userId, audit));
  }
}

class MemoryMessages implements MessageRepository {
  constructor(private readonly d: MemoryData) {}

  async post(message: Message): Promise<PostResult> {
    const conversation = this.d.conversations.get(message.conversationId);
    if (!conversation) throw new NotFoundError('conversation', message.conversationId);
    this.d.requireViewer(message.conversationId, message.authorId);
    if (message.clientMessageId !== null) {
      const existing = this.d.clientIds.get(participantKey(message.conversationId, message.clientMessageId));
      if (existing !== undefined) return { message: copyMessage(this.d.messageIds.get(existing)!), created: false };
    }
    if (this.d.messageIds.has(message.id)) throw new DuplicateError('message', 'id');
    const stored = copyMessage(message);
    const list = this.d.messages.get(message.conversationId)!;
    insertSorted(list, stored);
    this.d.messageIds.set(stored.id, stored);
    if (stored.status === 'in_progress') this.d.inProgress.add(stored.id);
    if (stored.clientMessageId !== null)
      this.d.clientIds.set(participantKey(stored.conversationId, stored.clientMessageId), stored.id);
    this.d.countMessage(conversation, stored);
    this.d.appendEvent(events.messageCreated(stored));
    return { message: copyMessage(stored), created: true };
  }

  async postMany(conversationId: string, messages: readonly Message[]): Promise<Message[]> {
    const conversation = this.d.conversations.get(conversationId);
    if (!conversation) throw new NotFoundError('conversation', conversationId);
    // Every check before the first write: the batch lands whole or not at all.
    const ids = new Set<string>();
    for (const m of messages) {
      if (this.d.messageIds.has(m.id) || ids.has(m.id)) throw new DuplicateError('message', 'id');
      ids.add(m.id);
    }
    const list = this.d.messages.get(conversationId)!;
    const stored = messages.map(copyMessage);
    for (const m of stored) {
      insertSorted(list, m);
      this.d.messageIds.set(m.id, m);
      if (m.status === 'in_progress') this.d.inProgress.add(m.id);
      this.d.countMessage(this.d.conversations.get(conversationId)!, m);
      this.d.appendEvent(events.messageCreated(m));
    }
    return stored.map(copyMessage);
  }

  private find(conversationId: string, messageId: string): Message {
    const m = this.d.messageIds.get(messageId);
    if (!m || m.conversationId !== conversationId) throw new NotFoundError('message', messageId);
    return m;
  }

  async get(conversationId: string, messageId: string, viewerId?: string): Promise<Message> {
    this.d.requireViewer(conversationId, viewerId);
    return copyMessage(this.find(conversationId, messageId));
  }

  async update(change: MessageUpdate): Promise<Message> {
    const { conversationId, messageId, expectedVersion, patch, editedAt, audit } = change;
    const m = this.find(conversationId, messageId);
    if (m.deletedAt !== null) throw new NotFoundError('message', messageId);
    checkVersion('message', m.id, m.version, expectedVersion);
    if (patch.content !== undefined) m.content = copy(patch.content);
    if (patch.metadata !== undefined) m.metadata = copy(patch.metadata);
    m.editedAt = new Date(editedAt);
    m.version += 1;
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.messageChanged('message.updated', m, audit));
    return copyMessage(m);
  }

  async softDelete(deletion: MessageDeletion): Promise<Message> {
    const { conversationId, messageId, expectedVersion, deletedAt, audit } = deletion;
    const m = this.find(conversationId, messageId);
    if (m.deletedAt !== null) throw new NotFoundError('message', messageId);
    checkVersion('message', m.id, m.version, expectedVersion);
    m.content = [];
    m.metadata = {};
    m.deletedAt = new Date(deletedAt);
    m.version += 1;
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.messageChanged('message.deleted', m, audit));
    return copyMessage(m);
  }

  async list(query: MessageListQuery): Promise<Page<Message>> {
    this.d.requireViewer(query.conversationId, query.viewerId);
    const all = this.d.messages.get(query.conversationId) ?? [];
    const after = query.after;
    let slice: Message[];
    if (query.direction === 'older') {
      const end = after ? lowerBound(all, after) : all.length;
      slice = all.slice(Math.max(0, end - query.limit - 1), end).reverse();
    } else {
      const start = after ? upperBound(all, after) : 0;
      slice = all.slice(start, start + query.limit + 1);
    }
    return { items: slice.slice(0, query.limit).map(copyMessage), hasMore: slice.length > query.limit };
  }
}

const keyOf = (m: Message): CursorKey => ({ at: m.createdAt, id: m.id });

/** First index whose key is >= `key`. */
function lowerBound(list: Message[], key: CursorKey): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKey(keyOf(list[mid]!), key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`. */
function upperBound(list: Message[], key: CursorKey): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKey(keyOf(list[mid]!), key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(list: Message[], m: Message): void {
  const at = upperBound(list, keyOf(m));
  list.splice(at, 0, m);
}

/**
 * An index of a list that is only appended to, or replaced whole: built lazily from the entries
 * appended since the last read (so every writer's `push` is covered), rebuilt when the list was
 * replaced (bulk removal, pruning).
 */
class LazyIndex<T> {
  private list: T[] | null = null;
  private upTo = 0;
  private readonly groups = new Map<string, T[]>();

  constructor(
    private readonly keyOf: (entry: T) => string,
    /** Where an entry goes in its group: by default at the end (the list's own order). */
    private readonly place: (group: T[], entry: T) => void = (group, entry) => group.push(entry),
  ) {}

  group(list: T[], key: string): readonly T[] {
    if (list !== this.list) {
      this.list = list;
      this.upTo = 0;
      this.groups.clear();
    }
    for (; this.upTo < list.length; this.upTo++) {
      const entry = list[this.upTo]!;
      const k = this.keyOf(entry);
      let group = this.groups.get(k);
      if (!group) {
        group = [];
        this.groups.set(k, group);
      }
      this.place(group, entry);
    }
    return this.groups.get(key) ?? [];
  }
}

class MemoryAudit implements AuditRepository {
  private readonly byEntity = new LazyIndex<AuditEntry>((a) => `${a.entity}\u0000${a.entityId}`);

  constructor(private readonly d: MemoryData) {}

  async listForEntity(entity: AuditEntry['entity'], entityId: string): Promise<AuditEntry[]> {
    return this.byEntity.group(this.d.audit, `${entity}\u0000${entityId}`).map(copy);
  }
}

class MemoryEvents implements EventRepository {
  constructor(private readonly d: MemoryData) {}

  async list(conversationId: string, afterSeq: number, limit: number): Promise<Page<ConversationEvent>> {
    const log = this.d.events.get(conversationId) ?? [];
    // The log is in seq order: binary search for the first seq after `afterSeq`.
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (log[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const rest = log.slice(lo, lo + limit + 1);
    return { items: rest.slice(0, limit).map(copy), hasMore: rest.length > limit };
  }

  async latestSeq(conversationId: string): Promise<number> {
    return this.d.eventSeq.get(conversationId) ?? 0;
  }

  async joinedSeq(conversationId: string, userId: string): Promise<number> {
    const log = this.d.events.get(conversationId) ?? [];
    // The latest join: from the end of the log.
    for (let i = log.length - 1; i >= 0; i--) {
      const e = log[i]!;
      if (e.type === 'participant.added' && e.subject === userId) return e.seq;
    }
    return 0;
  }

  async prune(before: Date): Promise<number> {
    let removed = 0;
    for (const [id, log] of this.d.events) {
      const kept = log.filter((e) => e.at >= before);
      removed += log.length - kept.length;
      if (kept.length === 0) this.d.events.delete(id);
      else this.d.events.set(id, kept);
    }
    const removals = this.d.removals.filter((r) => r.at >= before);
    removed += this.d.removals.length - removals.length;
    this.d.removals = removals;
    return removed;
  }
}

const removalKey = (r: InboxRemoval): CursorKey => ({ at: r.at, id: r.conversationId });

class MemoryInbox implements InboxRepository {
  /** Each user's removals by (at, conversationId). */
  private readonly byUser = new LazyIndex<InboxRemoval>(
    (r) => r.userId,
    (group, r) => group.splice(bound(group, removalKey(r), removalKey, true), 0, r),
  );

  constructor(private readonly d: MemoryData) {}

  /** The user's conversations only (their list's index), not every participant stored. */
  async changes(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxChange>> {
    const mine: InboxChange[] = [];
    const small = (this.d.inboxes.get(userId)?.all() ?? []).map((k) => k.id);
    for (const id of [...small, ...(this.d.sharedOf.get(userId) ?? [])]) {
      const c = this.d.conversations.get(id);
      const p = this.d.participants.get(participantKey(id, userId));
      if (!c || !p) continue;
      const changedAt = new Date(Math.max(activityAt(c).getTime(), c.updatedAt.getTime(), p.joinedAt.getTime()));
      if (compareKey({ at: changedAt, id: c.id }, after) > 0) mine.push({ conversation: c, changedAt });
    }
    mine.sort((a, b) =>
      compareKey({ at: a.changedAt, id: a.conversation.id }, { at: b.changedAt, id: b.conversation.id }),
    );
    return {
      items: mine.slice(0, limit).map((x) => ({ conversation: copy(x.conversation), changedAt: x.changedAt })),
      hasMore: mine.length > limit,
    };
  }

  async removals(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxRemoval>> {
    const mine = this.byUser.group(this.d.removals, userId);
    const start = bound(mine, after, removalKey, true);
    const rest = mine.slice(start, start + limit + 1);
    return { items: rest.slice(0, limit).map(copy), hasMore: rest.length > limit };
  }
}

class MemoryTicketUses implements TicketUseRepository {
  constructor(private readonly d: MemoryData) {}

  async claim(nonce: string, expiresAt: Date): Promise<boolean> {
    if (this.d.ticketUses.has(nonce)) return false;
    this.d.ticketUses.set(nonce, new Date(expiresAt));
    return true;
  }

  async prune(now: Date): Promise<number> {
    let removed = 0;
    for (const [nonce, expiresAt] of this.d.ticketUses) {
      if (expiresAt >= now) continue;
      this.d.ticketUses.delete(nonce);
      removed++;
    }
    return removed;
  }
}

/** Code-point order of keys, as every backend's bulk scan uses. */
function bulkKey(kind: EntityKind, record: EntityRecords[EntityKind]): string {
  if (kind === 'participants') {
    const p = record as Participant;
    return `${p.conversationId}\u0000${p.userId}`;
  }
  return (record as { id: string }).id;
}

class MemoryBulk implements BulkPort {
  constructor(private readonly d: MemoryData) {}

  private all<K extends EntityKind>(kind: K): EntityRecords[K][] {
    const d = this.d;
    const table = {
      users: () => [...d.users.values()],
      conversations: () => [...d.conversations.values()],
      participants: () => [...d.participants.values()],
      messages: () => [...d.messageIds.values()],
      audit: () => d.audit,
    }[kind];
    return table() as EntityRecords[K][];
  }

  async scan<K extends EntityKind>(
    kind: K,
    after: EntityRecords[K] | null,
    limit: number,
  ): Promise<EntityRecords[K][]> {
    const start = after === null ? null : bulkKey(kind, after);
    return this.all(kind)
      .map((r) => ({ k: bulkKey(kind, r), r }))
      .filter((x) => start === null || x.k > start)
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
      .slice(0, limit)
      .map((x) => copy(x.r));
  }

  async insertBatch<K extends EntityKind>(
    kind: K,
    records: EntityRecords[K][],
    onConflict: ConflictPolicy,
  ): Promise<BulkResult> {
    const result: BulkResult = { inserted: 0, skipped: 0, replaced: 0 };
    // Lookups by key, not a set of every stored key: a batch costs what it holds (audit entries,
    // kept as a list, are looked up in a set of their ids made once per batch).
    this.auditIds = kind === 'audit' ? new Set(this.d.audit.map((a) => a.id)) : null;
    if (onConflict === 'fail') {
      const seen = new Set<string>();
      for (const r of records) {
        const k = bulkKey(kind, r);
        if (this.has(kind, r) || seen.has(k))
          throw new DuplicateError(kind === 'audit' ? 'audit' : (kind.slice(0, -1) as 'user'), 'id');
        seen.add(k);
      }
    }
    for (const r of records) {
      if (this.has(kind, r)) {
        if (onConflict === 'skip') {
          result.skipped += 1;
          continue;
        }
        this.remove(kind, r);
        result.replaced += 1;
      } else result.inserted += 1;
      this.put(kind, copy(r));
    }
    return result;
  }

  private has(kind: EntityKind, record: EntityRecords[EntityKind]): boolean {
    const d = this.d;
    switch (kind) {
      case 'users':
        return d.users.has((record as User).id);
      case 'conversations':
        return d.conversations.has((record as Conversation).id);
      case 'participants': {
        const p = record as Participant;
        return d.participants.has(participantKey(p.conversationId, p.userId));
      }
      case 'messages':
        return d.messageIds.has((record as Message).id);
      case 'audit':
        return this.auditIds?.has((record as AuditEntry).id) ?? false;
    }
  }

  private auditIds: Set<string> | null = null;

  private remove(kind: EntityKind, record: EntityRecords[EntityKind]): void {
    const d = this.d;
    switch (kind) {
      case 'users': {
        const old = d.users.get((record as User).id)!;
        d.handles.delete(old.handle);
        d.users.delete(old.id);
        break;
      }
      case 'conversations':
        // Replaced by put(), which moves the conversation in its members' lists; members stay.
        break;
      case 'participants': {
        const p = record as Participant;
        d.removeMember(p.conversationId, p.userId);
        break;
      }
      case 'messages': {
        const old = d.messageIds.get((record as Message).id)!;
        const list = d.messages.get(old.conversationId);
        if (list) list.splice(list.indexOf(old), 1);
        if (old.clientMessageId !== null) d.clientIds.delete(participantKey(old.conversationId, old.clientMessageId));
        d.messageIds.delete(old.id);
        break;
      }
      case 'audit':
        d.audit = d.audit.filter((a) => a.id !== (record as AuditEntry).id);
        break;
    }
  }

  private put(kind: EntityKind, record: EntityRecords[EntityKind]): void {
    const d = this.d;
    switch (kind) {
      case 'users': {
        const u = record as User;
        if (d.handles.has(u.handle)) throw new DuplicateError('user', 'handle');
        d.users.set(u.id, u);
        d.handles.set(u.handle, u.id);
        break;
      }
      case 'conversations': {
        const c = record as Conversation;
        d.setConversation(c);
        if (!d.messages.has(c.id)) d.messages.set(c.id, []);
        break;
      }
      case 'participants': {
        const p = record as Participant;
        if (!d.conversations.has(p.conversationId)) throw new NotFoundError('conversation', p.conversationId);
        d.addMember(p);
        break;
      }
      case 'messages': {
        const m = record as Message;
        const list = d.messages.get(m.conversationId);
        if (!list) throw new NotFoundError('conversation', m.conversationId);
        if (m.clientMessageId !== null) {
          const key = participantKey(m.conversationId, m.clientMessageId);
          if (d.clientIds.has(key)) throw new DuplicateError('message', 'clientMessageId');
          d.clientIds.set(key, m.id);
        }
        insertSorted(list, m);
        d.messageIds.set(m.id, m);
        if (m.status === 'in_progress') d.inProgress.add(m.id);
        break;
      }
      case 'audit':
        d.audit.push(record as AuditEntry);
        this.auditIds?.add((record as AuditEntry).id);
        break;
    }
  }

  async counts(): Promise<Record<EntityKind, number>> {
    const d = this.d;
    return {
      users: d.users.size,
      conversations: d.conversations.size,
      participants: d.participants.size,
      messages: d.messageIds.size,
      audit: d.audit.length,
    };
  }
}

const MEMORY_MIGRATIONS = ['0001-memory-has-no-schema'];

class MemoryMigrator implements Migrator {
  async status() {
    return { known: MEMORY_MIGRATIONS, applied: MEMORY_MIGRATIONS, pending: [], unknown: [] };
  }
  async up(): Promise<string[]> {
    return [];
  }
}

export function openMemoryStore(): Store {
  const d = new MemoryData();
  return {
    kind: 'memory',
    users: new MemoryUsers(d),
    conversations: new MemoryConversations(d),
    messages: new MemoryMessages(d),
    streams: new MemoryStreams(d),
    audit: new MemoryAudit(d),
    events: new MemoryEvents(d),
    inbox: new MemoryInbox(d),
    ticketUses: new MemoryTicketUses(d),
    bulk: new MemoryBulk(d),
    migrator: new MemoryMigrator(),
    async ping() {},
    async close() {},
  };
}

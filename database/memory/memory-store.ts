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
 * The in-memory adapter: the reference implementation of the ports, for tests and trying the API.
 * Each operation runs synchronously between awaits, which makes every one of them atomic.
 * Nothing survives the process.
 */

const copy = <T>(value: T): T => structuredClone(value);

/** Compares (at, id) keys; the order used by every keyset query. */
function compareKey(a: CursorKey, b: CursorKey): number {
  const d = a.at.getTime() - b.at.getTime();
  if (d !== 0) return d;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const participantKey = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;

export class MemoryData {
  users = new Map<string, User>();
  handles = new Map<string, string>();
  conversations = new Map<string, Conversation>();
  participants = new Map<string, Participant>();
  /** conversationId → its messages, kept sorted by (createdAt, id). */
  messages = new Map<string, Message[]>();
  messageIds = new Map<string, Message>();
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
    this.d.conversations.set(conversation.id, copy(conversation));
    for (const p of participants) this.d.participants.set(participantKey(p.conversationId, p.userId), copy(p));
    this.d.messages.set(conversation.id, []);
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.conversationCreated(conversation, participants, audit));
    return copy(conversation);
  }

  async get(id: string): Promise<Conversation> {
    const c = this.d.conversations.get(id);
    if (!c) throw new NotFoundError('conversation', id);
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
    this.d.conversations.set(id, next);
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.conversationUpdated(id, patch, next.updatedAt, next.version, audit));
    return copy(next);
  }

  async delete(id: string, audit: AuditEntry): Promise<void> {
    if (!this.d.conversations.has(id)) throw new NotFoundError('conversation', id);
    this.d.conversations.delete(id);
    for (const m of this.d.messages.get(id) ?? []) {
      this.d.messageIds.delete(m.id);
      if (m.clientMessageId !== null) this.d.clientIds.delete(participantKey(id, m.clientMessageId));
    }
    this.d.messages.delete(id);
    for (const [key, p] of this.d.participants) {
      if (p.conversationId !== id) continue;
      this.d.participants.delete(key);
      this.d.removals.push({ userId: p.userId, conversationId: id, at: new Date(audit.at), reason: 'deleted' });
    }
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.conversationDeleted(id, audit));
  }

  async listForUser(query: ConversationListQuery): Promise<Page<Conversation>> {
    const mine: { key: CursorKey; c: Conversation }[] = [];
    for (const p of this.d.participants.values()) {
      if (p.userId !== query.userId) continue;
      const c = this.d.conversations.get(p.conversationId);
      if (c) mine.push({ key: { at: activityAt(c), id: c.id }, c });
    }
    mine.sort((a, b) => compareKey(b.key, a.key));
    const after = query.after;
    const rest = after ? mine.filter((x) => compareKey(x.key, after) < 0) : mine;
    return { items: rest.slice(0, query.limit).map((x) => copy(x.c)), hasMore: rest.length > query.limit };
  }

  async findParticipant(conversationId: string, userId: string): Promise<Participant | null> {
    const p = this.d.participants.get(participantKey(conversationId, userId));
    return p ? copy(p) : null;
  }

  async listParticipants(conversationId: string): Promise<Participant[]> {
    if (!this.d.conversations.has(conversationId)) throw new NotFoundError('conversation', conversationId);
    return [...this.d.participants.values()]
      .filter((p) => p.conversationId === conversationId)
      .sort((a, b) => compareKey({ at: a.joinedAt, id: a.userId }, { at: b.joinedAt, id: b.userId }))
      .map(copy);
  }

  async addParticipant(participant: Participant, audit: AuditEntry): Promise<Participant> {
    if (!this.d.conversations.has(participant.conversationId))
      throw new NotFoundError('conversation', participant.conversationId);
    const key = participantKey(participant.conversationId, participant.userId);
    if (this.d.participants.has(key)) throw new DuplicateError('participant', 'userId');
    this.d.participants.set(key, copy(participant));
    this.d.audit.push(copy(audit));
    this.d.appendEvent(events.participantAdded(participant, audit));
    return copy(participant);
  }

  async removeParticipant(conversationId: string, userId: string, audit: AuditEntry): Promise<void> {
    const key = participantKey(conversationId, userId);
    if (!this.d.participants.has(key)) throw new NotFoundError('participant', `${conversationId}/${userId}`);
    this.d.participants.delete(key);
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
    if (message.clientMessageId !== null) {
      const existing = this.d.clientIds.get(participantKey(message.conversationId, message.clientMessageId));
      if (existing !== undefined) return { message: copy(this.d.messageIds.get(existing)!), created: false };
    }
    if (this.d.messageIds.has(message.id)) throw new DuplicateError('message', 'id');
    const stored = copy(message);
    const list = this.d.messages.get(message.conversationId)!;
    insertSorted(list, stored);
    this.d.messageIds.set(stored.id, stored);
    if (stored.clientMessageId !== null)
      this.d.clientIds.set(participantKey(stored.conversationId, stored.clientMessageId), stored.id);
    conversation.messageCount += 1;
    if (conversation.lastMessageAt === null || conversation.lastMessageAt < stored.createdAt)
      conversation.lastMessageAt = new Date(stored.createdAt);
    this.d.appendEvent(events.messageCreated(stored));
    return { message: copy(stored), created: true };
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
    const stored = messages.map(copy);
    for (const m of stored) {
      insertSorted(list, m);
      this.d.messageIds.set(m.id, m);
      conversation.messageCount += 1;
      if (conversation.lastMessageAt === null || conversation.lastMessageAt < m.createdAt)
        conversation.lastMessageAt = new Date(m.createdAt);
      this.d.appendEvent(events.messageCreated(m));
    }
    return stored.map(copy);
  }

  private find(conversationId: string, messageId: string): Message {
    const m = this.d.messageIds.get(messageId);
    if (!m || m.conversationId !== conversationId) throw new NotFoundError('message', messageId);
    return m;
  }

  async get(conversationId: string, messageId: string): Promise<Message> {
    return copy(this.find(conversationId, messageId));
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
    return copy(m);
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
    return copy(m);
  }

  async list(query: MessageListQuery): Promise<Page<Message>> {
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
    return { items: slice.slice(0, query.limit).map(copy), hasMore: slice.length > query.limit };
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

class MemoryAudit implements AuditRepository {
  constructor(private readonly d: MemoryData) {}
  async listForEntity(entity: AuditEntry['entity'], entityId: string): Promise<AuditEntry[]> {
    return this.d.audit.filter((a) => a.entity === entity && a.entityId === entityId).map(copy);
  }
}

class MemoryEvents implements EventRepository {
  constructor(private readonly d: MemoryData) {}

  async list(conversationId: string, afterSeq: number, limit: number): Promise<Page<ConversationEvent>> {
    const log = this.d.events.get(conversationId) ?? [];
    const rest = log.filter((e) => e.seq > afterSeq);
    return { items: rest.slice(0, limit).map(copy), hasMore: rest.length > limit };
  }

  async latestSeq(conversationId: string): Promise<number> {
    return this.d.eventSeq.get(conversationId) ?? 0;
  }

  async joinedSeq(conversationId: string, userId: string): Promise<number> {
    const log = this.d.events.get(conversationId) ?? [];
    const joins = log.filter((e) => e.type === 'participant.added' && e.subject === userId);
    return joins.at(-1)?.seq ?? 0;
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

class MemoryInbox implements InboxRepository {
  constructor(private readonly d: MemoryData) {}

  async changes(userId: string, after: InboxPosition, limit: number): Promise<Page<InboxChange>> {
    const mine: InboxChange[] = [];
    for (const p of this.d.participants.values()) {
      if (p.userId !== userId) continue;
      const c = this.d.conversations.get(p.conversationId);
      if (!c) continue;
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
    const mine = this.d.removals
      .filter((r) => r.userId === userId && compareKey({ at: r.at, id: r.conversationId }, after) > 0)
      .sort((a, b) => compareKey({ at: a.at, id: a.conversationId }, { at: b.at, id: b.conversationId }));
    return { items: mine.slice(0, limit).map(copy), hasMore: mine.length > limit };
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
    const existing = new Set(this.all(kind).map((r) => bulkKey(kind, r)));
    if (onConflict === 'fail') {
      const seen = new Set<string>();
      for (const r of records) {
        const k = bulkKey(kind, r);
        if (existing.has(k) || seen.has(k))
          throw new DuplicateError(kind === 'audit' ? 'audit' : (kind.slice(0, -1) as 'user'), 'id');
        seen.add(k);
      }
    }
    for (const r of records) {
      const k = bulkKey(kind, r);
      if (existing.has(k)) {
        if (onConflict === 'skip') {
          result.skipped += 1;
          continue;
        }
        this.remove(kind, r);
        result.replaced += 1;
      } else result.inserted += 1;
      this.put(kind, copy(r));
      existing.add(k);
    }
    return result;
  }

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
        d.conversations.delete((record as Conversation).id);
        break;
      case 'participants': {
        const p = record as Participant;
        d.participants.delete(participantKey(p.conversationId, p.userId));
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
        d.conversations.set(c.id, c);
        if (!d.messages.has(c.id)) d.messages.set(c.id, []);
        break;
      }
      case 'participants': {
        const p = record as Participant;
        if (!d.conversations.has(p.conversationId)) throw new NotFoundError('conversation', p.conversationId);
        d.participants.set(participantKey(p.conversationId, p.userId), p);
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
        break;
      }
      case 'audit':
        d.audit.push(record as AuditEntry);
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

import {
  activityAt,
  type AuditEntry,
  type Conversation,
  type Message,
  type Participant,
  type User,
} from '../../src/domain/models.js';
import type { ConversationEvent } from '../../src/domain/events.js';
import type { EntityKind, EntityRecords } from '../../src/repositories/ports.js';
import type { Dialect } from './dialects/dialect.js';

/**
 * The one place where rows become domain objects and domain objects become bound parameters.
 * Drivers hand back different shapes for the same column (Date, epoch number or text for a
 * timestamp; parsed object or text for JSON; number or string for a count), so every read goes
 * through the converters below.
 */

export type Row = Record<string, unknown>;

/** How one table is read and written: column order, key, and the conversions both ways. */
export interface RecordCodec<T> {
  table: string;
  columns: readonly string[];
  /** Key columns, in bulk-scan order. */
  key: readonly string[];
  keyOf(record: T): string[];
  toParams(record: T): unknown[];
  fromRow(row: Row): T;
  /** `a.col1, a.col2, …` for a SELECT. */
  select(alias?: string): string;
}

export type Codecs = { [K in EntityKind]: RecordCodec<EntityRecords[K]> };

export function toDate(value: unknown): Date {
  if (value instanceof Date) return new Date(value.getTime());
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  if (typeof value === 'string') {
    if (/^-?\d+$/.test(value)) return new Date(Number(value));
    // A DATETIME as text ("2024-05-01 12:00:00.123") is UTC by our connection settings.
    return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
  }
  throw new TypeError(`not a timestamp: ${String(value)}`);
}

const toDateOrNull = (value: unknown): Date | null => (value === null || value === undefined ? null : toDate(value));

/** node-postgres parses `json` columns itself; the others return the stored text. */
export function toJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

const toInt = (value: unknown): number => Number(value);
const toStr = (value: unknown): string => String(value);
const toStrOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function codec<T>(spec: Omit<RecordCodec<T>, 'select'>): RecordCodec<T> {
  return { ...spec, select: (alias) => spec.columns.map((c) => (alias ? `${alias}.${c}` : c)).join(', ') };
}

export function buildCodecs(dialect: Pick<Dialect, 'time'>): Codecs {
  const t = (d: Date) => dialect.time(d);
  const tOrNull = (d: Date | null) => (d === null ? null : dialect.time(d));

  const users = codec<User>({
    table: 'users',
    columns: ['id', 'handle', 'display_name', 'created_at', 'updated_at', 'version'],
    key: ['id'],
    keyOf: (u) => [u.id],
    toParams: (u) => [u.id, u.handle, u.displayName, t(u.createdAt), t(u.updatedAt), u.version],
    fromRow: (r) => ({
      id: toStr(r.id),
      handle: toStr(r.handle),
      displayName: toStr(r.display_name),
      createdAt: toDate(r.created_at),
      updatedAt: toDate(r.updated_at),
      version: toInt(r.version),
    }),
  });

  const conversations = codec<Conversation>({
    table: 'conversations',
    // activity_at is derived (lastMessageAt ?? createdAt) and stored only to index the listing.
    columns: [
      'id',
      'title',
      'metadata',
      'created_by',
      'created_at',
      'updated_at',
      'last_message_at',
      'activity_at',
      'message_count',
      'version',
    ],
    key: ['id'],
    keyOf: (c) => [c.id],
    toParams: (c) => [
      c.id,
      c.title,
      JSON.stringify(c.metadata),
      c.createdBy,
      t(c.createdAt),
      t(c.updatedAt),
      tOrNull(c.lastMessageAt),
      t(activityAt(c)),
      c.messageCount,
      c.version,
    ],
    fromRow: (r) => ({
      id: toStr(r.id),
      title: toStrOrNull(r.title),
      metadata: toJson(r.metadata),
      createdBy: toStr(r.created_by),
      createdAt: toDate(r.created_at),
      updatedAt: toDate(r.updated_at),
      lastMessageAt: toDateOrNull(r.last_message_at),
      messageCount: toInt(r.message_count),
      version: toInt(r.version),
    }),
  });

  const participants = codec<Participant>({
    table: 'participants',
    columns: ['conversation_id', 'user_id', 'role', 'joined_at'],
    key: ['conversation_id', 'user_id'],
    keyOf: (p) => [p.conversationId, p.userId],
    toParams: (p) => [p.conversationId, p.userId, p.role, t(p.joinedAt)],
    fromRow: (r) => ({
      conversationId: toStr(r.conversation_id),
      userId: toStr(r.user_id),
      role: toStr(r.role) as Participant['role'],
      joinedAt: toDate(r.joined_at),
    }),
  });

  const messages = codec<Message>({
    table: 'messages',
    columns: [
      'id',
      'conversation_id',
      'author_id',
      'role',
      'content',
      'metadata',
      'client_message_id',
      'created_at',
      'edited_at',
      'deleted_at',
      'version',
      'status',
      'status_reason',
      // Not a field of the message: when its stream last took an append (ports.ts, StreamRepository).
      'stream_touched_at',
    ],
    key: ['id'],
    keyOf: (m) => [m.id],
    toParams: (m) => [
      m.id,
      m.conversationId,
      m.authorId,
      m.role,
      JSON.stringify(m.content),
      JSON.stringify(m.metadata),
      m.clientMessageId,
      t(m.createdAt),
      tOrNull(m.editedAt),
      tOrNull(m.deletedAt),
      m.version,
      m.status,
      m.statusReason,
      m.status === 'in_progress' ? t(m.editedAt ?? m.createdAt) : null,
    ],
    fromRow: (r) => ({
      id: toStr(r.id),
      conversationId: toStr(r.conversation_id),
      authorId: toStr(r.author_id),
      role: toStr(r.role) as Message['role'],
      content: toJson(r.content),
      metadata: toJson(r.metadata),
      clientMessageId: toStrOrNull(r.client_message_id),
      createdAt: toDate(r.created_at),
      editedAt: toDateOrNull(r.edited_at),
      deletedAt: toDateOrNull(r.deleted_at),
      version: toInt(r.version),
      status: toStr(r.status) as Message['status'],
      statusReason: toStrOrNull(r.status_reason),
    }),
  });

  const audit = codec<AuditEntry>({
    table: 'audit_entries',
    columns: ['id', 'actor_id', 'action', 'entity', 'entity_id', 'at', 'diff'],
    key: ['id'],
    keyOf: (a) => [a.id],
    toParams: (a) => [a.id, a.actorId, a.action, a.entity, a.entityId, t(a.at), JSON.stringify(a.diff)],
    fromRow: (r) => ({
      id: toStr(r.id),
      actorId: toStr(r.actor_id),
      action: toStr(r.action) as AuditEntry['action'],
      entity: toStr(r.entity) as AuditEntry['entity'],
      entityId: toStr(r.entity_id),
      at: toDate(r.at),
      diff: toJson(r.diff),
    }),
  });

  return { users, conversations, participants, messages, audit };
}

/** The event log's rows (conversation_events); not a bulk kind: events are not transferred. */
export function buildEventCodec(dialect: Pick<Dialect, 'time'>): RecordCodec<ConversationEvent> {
  return codec<ConversationEvent>({
    table: 'conversation_events',
    columns: ['conversation_id', 'seq', 'type', 'at', 'actor_id', 'subject', 'data'],
    key: ['conversation_id', 'seq'],
    keyOf: (e) => [e.conversationId, String(e.seq)],
    toParams: (e) => [
      e.conversationId,
      e.seq,
      e.type,
      dialect.time(e.at),
      e.actorId,
      e.subject,
      JSON.stringify(e.data),
    ],
    fromRow: (r) => ({
      conversationId: toStr(r.conversation_id),
      seq: toInt(r.seq),
      type: toStr(r.type) as ConversationEvent['type'],
      at: toDate(r.at),
      actorId: toStr(r.actor_id),
      subject: toStr(r.subject),
      data: toJson(r.data),
    }),
  });
}

const insertTexts = new WeakMap<RecordCodec<unknown>, Map<number, string>>();

/**
 * `INSERT INTO table (cols) VALUES (?, …), (?, …)` for `rows` records; built once per
 * (codec, rows) for the small row counts of the hot paths and reused.
 */
export function insertSql(c: RecordCodec<unknown>, rows = 1): string {
  let byRows = insertTexts.get(c);
  if (!byRows) {
    byRows = new Map();
    insertTexts.set(c, byRows);
  }
  let text = byRows.get(rows);
  if (text === undefined) {
    const one = `(${c.columns.map(() => '?').join(', ')})`;
    text = `INSERT INTO ${c.table} (${c.columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => one).join(', ')}`;
    // Bulk batches come in many sizes; keep only the small, frequent ones.
    if (rows <= 16) byRows.set(rows, text);
  }
  return text;
}

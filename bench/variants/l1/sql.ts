import type { CursorKey } from '../../../src/domain/cursor.js';
import type { AuditEntry, Conversation, Message, Participant, User } from '../../../src/domain/models.js';
import type { EntityRecords } from '../../../src/repositories/ports.js';
import type { L1Db, SeedKind } from './types.js';

/**
 * The L1 queries shared by the SQL drivers. Table and column names come from migrations/<dialect>;
 * the statements are those of database/typeorm (same WHERE, ORDER BY and LIMIT, same write order),
 * run through the bare driver. Each driver module supplies a connection and its dialect bits.
 */

export type Row = Record<string, unknown>;

export interface SqlConn {
  rows(text: string, params: unknown[]): Promise<Row[]>;
  /** Rows matched by a write. */
  exec(text: string, params: unknown[]): Promise<number>;
}

export interface SqlDriver {
  readonly kind: string;
  /** Rewrites `?` placeholders into the driver's own. */
  placeholders(text: string): string;
  time(value: Date): unknown;
  /** One bound timestamp, cast where the database would otherwise compare text. */
  readonly timeParam: string;
  greatest(a: string, b: string): string;
  /** A statement on any pooled connection. */
  read: SqlConn;
  tx<T>(work: (conn: SqlConn) => Promise<T>): Promise<T>;
  /** Many rows into one table, in the driver's fastest form. */
  insertMany(table: string, columns: readonly string[], rows: unknown[][]): Promise<void>;
  close(): Promise<void>;
}

export const COLUMNS = {
  users: ['id', 'handle', 'display_name', 'created_at', 'updated_at', 'version'],
  conversations: [
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
  participants: ['conversation_id', 'user_id', 'role', 'joined_at'],
  messages: [
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
  ],
  audit_entries: ['id', 'actor_id', 'action', 'entity', 'entity_id', 'at', 'diff'],
} as const;

const TABLES: Record<SeedKind, keyof typeof COLUMNS> = {
  users: 'users',
  conversations: 'conversations',
  participants: 'participants',
  messages: 'messages',
};

const list = (table: keyof typeof COLUMNS, alias?: string) =>
  COLUMNS[table].map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
const marks = (n: number) => `(${Array.from({ length: n }, () => '?').join(', ')})`;

// ---- rows ⇄ domain ----------------------------------------------------------------------------

function date(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  return new Date(String(value));
}
const dateOrNull = (value: unknown) => (value === null || value === undefined ? null : date(value));
/** node-postgres parses `json` columns; the other drivers hand back the text. */
const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

export function messageOf(r: Row): Message {
  return {
    id: r.id as string,
    conversationId: r.conversation_id as string,
    authorId: r.author_id as string,
    role: r.role as Message['role'],
    content: json(r.content),
    metadata: json(r.metadata),
    clientMessageId: (r.client_message_id as string | null) ?? null,
    createdAt: date(r.created_at),
    editedAt: dateOrNull(r.edited_at),
    deletedAt: dateOrNull(r.deleted_at),
    version: Number(r.version),
    status: (r.status as Message['status'] | undefined) ?? 'completed',
    statusReason: (r.status_reason as string | null | undefined) ?? null,
  };
}

export function conversationOf(r: Row): Conversation {
  return {
    id: r.id as string,
    title: (r.title as string | null) ?? null,
    metadata: json(r.metadata),
    createdBy: r.created_by as string,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    lastMessageAt: dateOrNull(r.last_message_at),
    messageCount: Number(r.message_count),
    version: Number(r.version),
  };
}

/** Bound parameters of each record, in COLUMNS order. */
export function paramsOf(time: (d: Date) => unknown) {
  const t = (d: Date | null) => (d === null ? null : time(d));
  return {
    users: (u: User) => [u.id, u.handle, u.displayName, t(u.createdAt), t(u.updatedAt), u.version],
    conversations: (c: Conversation) => [
      c.id,
      c.title,
      JSON.stringify(c.metadata),
      c.createdBy,
      t(c.createdAt),
      t(c.updatedAt),
      t(c.lastMessageAt),
      t(c.lastMessageAt ?? c.createdAt),
      c.messageCount,
      c.version,
    ],
    participants: (p: Participant) => [p.conversationId, p.userId, p.role, t(p.joinedAt)],
    messages: (m: Message) => [
      m.id,
      m.conversationId,
      m.authorId,
      m.role,
      JSON.stringify(m.content),
      JSON.stringify(m.metadata),
      m.clientMessageId,
      t(m.createdAt),
      t(m.editedAt),
      t(m.deletedAt),
      m.version,
    ],
    audit: (a: AuditEntry) => [a.id, a.actorId, a.action, a.entity, a.entityId, t(a.at), JSON.stringify(a.diff)],
  };
}

// ---- the L1 database ----------------------------------------------------------------------------

export function sqlL1(d: SqlDriver): L1Db {
  const p = (text: string) => d.placeholders(text);
  const params = paramsOf((x) => d.time(x));
  const later = d.greatest(`COALESCE(last_message_at, ${d.timeParam})`, d.timeParam);

  const q = {
    participant: p(`SELECT ${list('participants')} FROM participants WHERE conversation_id = ? AND user_id = ?`),
    newest: p(
      `SELECT ${list('messages')} FROM messages WHERE conversation_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    older: p(
      `SELECT ${list('messages')} FROM messages WHERE conversation_id = ? AND created_at <= ? AND (created_at < ? OR id < ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    message: p(`SELECT ${list('messages')} FROM messages WHERE id = ? AND conversation_id = ?`),
    conversations: p(
      `SELECT ${list('conversations', 'c')} FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = ? ORDER BY c.activity_at DESC, c.id DESC LIMIT ?`,
    ),
    insertConversation: p(
      `INSERT INTO conversations (${list('conversations')}) VALUES ${marks(COLUMNS.conversations.length)}`,
    ),
    insertParticipant: p(
      `INSERT INTO participants (${list('participants')}) VALUES ${marks(COLUMNS.participants.length)}`,
    ),
    insertAudit: p(
      `INSERT INTO audit_entries (${list('audit_entries')}) VALUES ${marks(COLUMNS.audit_entries.length)}`,
    ),
    insertMessage: p(`INSERT INTO messages (${list('messages')}) VALUES ${marks(COLUMNS.messages.length)}`),
    bump: p(
      `UPDATE conversations SET message_count = message_count + 1, last_message_at = ${later}, activity_at = ${later} WHERE id = ?`,
    ),
  };

  return {
    kind: d.kind,

    async isParticipant(conversationId, userId) {
      return (await d.read.rows(q.participant, [conversationId, userId])).length > 0;
    },

    async listMessages(conversationId, limit, before?: CursorKey) {
      const rows = before
        ? await d.read.rows(q.older, [conversationId, d.time(before.at), d.time(before.at), before.id, limit])
        : await d.read.rows(q.newest, [conversationId, limit]);
      return rows.map(messageOf);
    },

    async getMessage(conversationId, messageId) {
      const [row] = await d.read.rows(q.message, [messageId, conversationId]);
      return row ? messageOf(row) : null;
    },

    async listConversations(userId, limit) {
      return (await d.read.rows(q.conversations, [userId, limit])).map(conversationOf);
    },

    async createConversation(conversation, owner, audit) {
      await d.tx(async (c) => {
        await c.exec(q.insertConversation, params.conversations(conversation));
        await c.exec(q.insertParticipant, params.participants(owner));
        await c.exec(q.insertAudit, params.audit(audit));
      });
    },

    async postMessage(message) {
      const at = d.time(message.createdAt);
      return d.tx(async (c) => {
        // UPDATE before INSERT, as the adapter does: the conversation's row lock first.
        if ((await c.exec(q.bump, [at, at, at, at, message.conversationId])) === 0) return false;
        await c.exec(q.insertMessage, params.messages(message));
        return true;
      });
    },

    async insert<K extends SeedKind>(kind: K, records: EntityRecords[K][]) {
      const encode = params[kind] as (r: EntityRecords[K]) => unknown[];
      await d.insertMany(TABLES[kind], COLUMNS[TABLES[kind]], records.map(encode));
    },

    async readMarker() {
      try {
        const [row] = await d.read.rows('SELECT params FROM bench_dataset', []);
        return row ? String(row.params) : null;
      } catch {
        return null; // no marker table: not seeded by this benchmark
      }
    },

    async writeMarker(value) {
      await d.read.exec('CREATE TABLE IF NOT EXISTS bench_dataset (params TEXT NOT NULL)', []);
      await d.read.exec('DELETE FROM bench_dataset', []);
      await d.read.exec(p('INSERT INTO bench_dataset (params) VALUES (?)'), [value]);
    },

    async analyze() {
      const tables = ['users', 'conversations', 'participants', 'messages'];
      if (d.kind === 'sqlite' || d.kind === 'postgres') await d.read.exec('ANALYZE', []);
      else await d.read.rows(`ANALYZE TABLE ${tables.join(', ')}`, []);
    },

    async restore(seededBefore, conversations) {
      const t = d.time(seededBefore);
      await d.tx(async (c) => {
        await c.exec(p('DELETE FROM messages WHERE created_at >= ?'), [t]);
        await c.exec(
          p('DELETE FROM participants WHERE conversation_id IN (SELECT id FROM conversations WHERE created_at >= ?)'),
          [t],
        );
        await c.exec(p('DELETE FROM conversations WHERE created_at >= ?'), [t]);
        await c.exec('DELETE FROM audit_entries', []);
        const reset = p(
          'UPDATE conversations SET message_count = ?, last_message_at = ?, activity_at = ? WHERE id = ?',
        );
        for (const conversation of conversations) {
          const last = conversation.lastMessageAt;
          await c.exec(reset, [
            conversation.messageCount,
            last && d.time(last),
            d.time(last ?? conversation.createdAt),
            conversation.id,
          ]);
        }
      });
    },

    close: () => d.close(),
  };
}

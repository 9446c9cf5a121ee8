import type { CursorKey } from '../../../src/domain/cursor.js';
import { conversationCreated, messageCreated } from '../../../src/domain/events.js';
import type { AuditEntry, Conversation, Message, Participant, User } from '../../../src/domain/models.js';
import type { EntityRecords } from '../../../src/repositories/ports.js';
import type { L1Db, PostOutcome, SeedKind } from './types.js';

/**
 * The L1 statements shared by the SQL drivers, on the tables of migrations/<dialect>. They are
 * the fastest correct form of what polystore's adapter does that we can write, not a copy of the
 * adapter's SQL: reads carry the membership check inside (EXISTS or a join), and each driver
 * module writes a post in the fewest round trips its database allows (PostgreSQL: one statement;
 * MySQL/MariaDB: one multi-statement transaction; SQLite: one synchronous transaction).
 */

export type Row = Record<string, unknown>;

export interface SqlConn {
  rows(text: string, params: unknown[]): Promise<Row[]>;
  /** Rows matched by a write. */
  exec(text: string, params: unknown[]): Promise<number>;
}

export interface SqlDriver {
  readonly kind: 'postgres' | 'mysql' | 'mariadb' | 'sqlite';
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
  /** Whether `table.column` exists and may hold NULL; null when the column does not exist. */
  column(table: string, column: string): Promise<{ nullable: boolean } | null>;
  /** The dialect's post (see PostInput); the driver module writes it in its fewest round trips. */
  post(input: PostInput): Promise<PostOutcome | null>;
  /** Conversation, owner, audit entry and event: one statement or one transaction. */
  create(input: CreateInput): Promise<void>;
  close(): Promise<void>;
}

/** A post's bound values, encoded for the driver. */
export interface PostInput {
  message: Message;
  /** The message's columns, in COLUMNS.messages order. */
  row: unknown[];
  /** The `message.created` event's data, as JSON text. */
  event: string;
  /** The post time, encoded. */
  at: unknown;
  /** The selected columns of `messages` (for the stored message a clientMessageId names). */
  select: string;
  schema: Schema;
}

export interface CreateInput {
  conversation: unknown[];
  participant: unknown[];
  audit: unknown[];
  /** The `conversation.created` event's row, in EVENT_COLUMNS order (seq 1). */
  event: unknown[];
  schema: Schema;
}

export const EVENT_COLUMNS = ['conversation_id', 'seq', 'type', 'at', 'actor_id', 'subject', 'data'] as const;

/**
 * The schema features L1 adapts to, detected once when it opens. `inbox`: the per-user inbox
 * index (`participants.activity_at`, migration 0004 of the SQL dialects): posts keep the members'
 * activity_at of a small conversation current, and list-conversations reads that index. THE place
 * to change when polystore's inbox schema differs from what is assumed here: `detectSchema`, the
 * `conversations`/`inbox` statements below, and each driver's post (its `schema.inbox` branch).
 */
export interface Schema {
  inbox: { nullable: boolean } | null;
}

/** Members of a conversation up to which its members' activity_at is kept; larger ones are "shared". */
export const INBOX_MEMBERS = 32;

export async function detectSchema(d: Pick<SqlDriver, 'column'>): Promise<Schema> {
  return { inbox: await d.column('participants', 'activity_at') };
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

const activityOf = (c: Conversation) => c.lastMessageAt ?? c.createdAt;

/**
 * A user's shared conversations with their sort key. PostgreSQL reads the user's shared member
 * rows first and each conversation by key (as L2 does, database/typeorm/inbox-index.ts): its
 * planner misjudges the join form and walks every conversation by activity.
 */
function sharedOf(kind: SqlDriver['kind'], c: string): string {
  if (kind !== 'postgres')
    return `SELECT ${c}, c.activity_at AS sort_at FROM participants p JOIN conversations c ON c.id = p.conversation_id
               WHERE p.user_id = ? AND p.activity_at IS NULL`;
  // The expression of ix_participants_shared (polystore's PostgreSQL migration 0006), whose
  // statistics keep the planner from reading the whole table for a user in many conversations.
  return `SELECT c.* FROM (SELECT conversation_id FROM participants WHERE (CASE WHEN activity_at IS NULL THEN user_id END) = ? AND activity_at IS NULL OFFSET 0) s
               CROSS JOIN LATERAL (SELECT ${c}, c.activity_at AS sort_at FROM conversations c WHERE c.id = s.conversation_id OFFSET 0) c`;
}

export async function sqlL1(d: SqlDriver): Promise<L1Db> {
  const p = (text: string) => d.placeholders(text);
  const params = paramsOf((x) => d.time(x));
  const schema = await detectSchema(d);
  // SQLite tests an EXISTS like this row by row (a page without a cursor of a 200,000-message
  // conversation: 4 ms against 0.2 ms; a non-member's, a scan of all of it), so there the pages
  // check membership first, one in-process statement; the other servers evaluate it once.
  const apart = d.kind === 'sqlite';
  const member = 'EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = ? AND p.user_id = ?)';
  const pageMember = apart ? '' : ` AND ${member}`;
  const c = list('conversations', 'c');

  const q = {
    participant: p('SELECT 1 AS found FROM participants WHERE conversation_id = ? AND user_id = ?'),
    newest: p(
      `SELECT ${list('messages')} FROM messages WHERE conversation_id = ?${pageMember} ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    older: p(
      `SELECT ${list('messages')} FROM messages WHERE conversation_id = ?${pageMember} AND created_at <= ? AND (created_at < ? OR id < ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    message: p(`SELECT ${list('messages')} FROM messages WHERE id = ? AND conversation_id = ? AND ${member}`),
    // Inbox schema: a small conversation's order is its member row's activity_at (read off the
    // per-user index); a shared one's (activity_at NULL on its member rows) is the conversation's.
    // Both halves are bounded by the limit before they are merged.
    conversations: p(
      schema.inbox
        ? `SELECT * FROM (
             SELECT * FROM (SELECT ${c}, p.activity_at AS sort_at FROM participants p JOIN conversations c ON c.id = p.conversation_id
               WHERE p.user_id = ? AND p.activity_at IS NOT NULL ORDER BY p.activity_at DESC, p.conversation_id DESC LIMIT ?) AS small
             UNION ALL
             SELECT * FROM (${sharedOf(d.kind, c)} ORDER BY c.activity_at DESC, c.id DESC LIMIT ?) AS shared
           ) AS mine ORDER BY sort_at DESC, id DESC LIMIT ?`
        : `SELECT ${c} FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = ? ORDER BY c.activity_at DESC, c.id DESC LIMIT ?`,
    ),
    insertMessage: p(`INSERT INTO messages (${list('messages')}) VALUES ${marks(COLUMNS.messages.length)}`),
  };

  const notMember = async (conversationId: string, userId: string) =>
    (await d.read.rows(q.participant, [conversationId, userId])).length === 0;

  return {
    kind: d.kind,

    async listMessages(conversationId, userId, limit, before?: CursorKey) {
      if (apart && (await notMember(conversationId, userId))) return null;
      const viewer = apart ? [] : [conversationId, userId];
      const rows = before
        ? await d.read.rows(q.older, [
            conversationId,
            ...viewer,
            d.time(before.at),
            d.time(before.at),
            before.id,
            limit,
          ])
        : await d.read.rows(q.newest, [conversationId, ...viewer, limit]);
      // No rows: an empty page of a member, or no member at all; only then is it asked apart.
      if (!apart && rows.length === 0 && (await notMember(conversationId, userId))) return null;
      return rows.map(messageOf);
    },

    async getMessage(conversationId, userId, messageId) {
      const [row] = await d.read.rows(q.message, [messageId, conversationId, conversationId, userId]);
      return row ? messageOf(row) : null;
    },

    async listConversations(userId, limit) {
      const rows = await d.read.rows(
        q.conversations,
        schema.inbox ? [userId, limit, userId, limit, limit] : [userId, limit],
      );
      return rows.map(conversationOf);
    },

    createConversation(conversation, owner, audit) {
      const event = conversationCreated(conversation, [owner], audit);
      return d.create({
        conversation: params.conversations(conversation),
        participant: params.participants(owner),
        audit: params.audit(audit),
        event: [
          conversation.id,
          1,
          event.type,
          d.time(event.at),
          event.actorId,
          event.subject,
          JSON.stringify(event.data),
        ],
        schema,
      });
    },

    postMessage(message) {
      return d.post({
        message,
        row: params.messages(message),
        event: JSON.stringify(messageCreated(message).data),
        at: d.time(message.createdAt),
        select: list('messages'),
        schema,
      });
    },

    async insertMessage(message) {
      await d.read.exec(q.insertMessage, params.messages(message));
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
      // The seeded member rows carry no activity_at yet: give them their conversation's
      // (every row when the column is NOT NULL; else only those of small conversations).
      if (schema.inbox) await d.read.exec(fillInbox(d.kind, schema.inbox.nullable), []);
      // polystore decides by its stored member count whether a post copies the activity onto the
      // member rows (and whether an added member makes the conversation shared): seeded rows
      // start at the column's default, 0, so count them here.
      if (await d.column('conversations', 'member_count'))
        await d.read.exec(
          'UPDATE conversations SET member_count = (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = conversations.id)',
          [],
        );
      const tables = ['users', 'conversations', 'participants', 'messages'];
      // PostgreSQL: VACUUM too, so the visibility map is set and index-only scans are planned as
      // cheap as they are; right after the seed the planner prices them as heap fetches and picks
      // a sequential scan of participants for the shared half of the inbox (5 ms against 0.4 ms).
      if (d.kind === 'postgres') await d.read.exec('VACUUM ANALYZE', []);
      else if (d.kind === 'sqlite') await d.read.exec('ANALYZE', []);
      else await d.read.rows(`ANALYZE TABLE ${tables.join(', ')}`, []);
    },

    async restore(seededBefore, conversations) {
      const t = d.time(seededBefore);
      await d.tx(async (x) => {
        await x.exec(p('DELETE FROM messages WHERE created_at >= ?'), [t]);
        await x.exec(
          p('DELETE FROM participants WHERE conversation_id IN (SELECT id FROM conversations WHERE created_at >= ?)'),
          [t],
        );
        await x.exec(p('DELETE FROM conversations WHERE created_at >= ?'), [t]);
        await x.exec(p('DELETE FROM conversation_events WHERE at >= ?'), [t]);
        await x.exec('DELETE FROM audit_entries', []);
        const reset = p(
          'UPDATE conversations SET message_count = ?, last_message_at = ?, activity_at = ?, event_seq = 0 WHERE id = ?',
        );
        for (const conversation of conversations) {
          const last = conversation.lastMessageAt;
          await x.exec(reset, [
            conversation.messageCount,
            last && d.time(last),
            d.time(activityOf(conversation)),
            conversation.id,
          ]);
        }
        if (schema.inbox)
          await x.exec(
            p(
              'UPDATE participants SET activity_at = (SELECT c.activity_at FROM conversations c WHERE c.id = participants.conversation_id) WHERE activity_at >= ?',
            ),
            [t],
          );
      });
    },

    close: () => d.close(),
  };
}

/** The seeded member rows' activity_at (see Schema): one UPDATE per dialect. */
function fillInbox(kind: SqlDriver['kind'], nullable: boolean): string {
  const small = `SELECT conversation_id FROM participants GROUP BY conversation_id HAVING COUNT(*) <= ${INBOX_MEMBERS}`;
  if (kind === 'mysql' || kind === 'mariadb')
    return `UPDATE participants p JOIN conversations c ON c.id = p.conversation_id${nullable ? ` JOIN (${small}) k ON k.conversation_id = p.conversation_id` : ''} SET p.activity_at = c.activity_at`;
  return `UPDATE participants SET activity_at = (SELECT c.activity_at FROM conversations c WHERE c.id = participants.conversation_id)${nullable ? ` WHERE conversation_id IN (${small})` : ''}`;
}

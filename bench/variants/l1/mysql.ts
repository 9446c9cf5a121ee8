import mysql from 'mysql2/promise';
import {
  COLUMNS,
  EVENT_COLUMNS,
  messageOf,
  INBOX_MEMBERS,
  sqlL1,
  type CreateInput,
  type PostInput,
  type SqlConn,
  type SqlDriver,
} from './sql.js';
import type { L1Db, PostOutcome } from './types.js';

/** Rows per multi-row INSERT: well under MariaDB's default 16 MB max_allowed_packet. */
const ROWS_PER_INSERT = 2000;
const DUPLICATE_ENTRY = 'ER_DUP_ENTRY';

function conn(target: mysql.Pool | mysql.PoolConnection): SqlConn {
  return {
    rows: async (text, params) => (await target.query(text, params))[0] as Record<string, unknown>[],
    exec: async (text, params) => ((await target.query(text, params))[0] as mysql.ResultSetHeader).affectedRows,
  };
}

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const at = 'CAST(? AS DATETIME(3))';
const member = 'EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = ? AND p.user_id = ?)';

/**
 * A post as one transaction sent in ONE round trip (a multi-statement query): the conversation's
 * UPDATE carries the membership check (and, with a clientMessageId, the check that no message
 * has it yet) and claims the event seq through LAST_INSERT_ID(expr); the message and event
 * INSERTs run only when the statement before them wrote its row (ROW_COUNT() = 1). The UPDATE
 * comes first, after a locking read of the conversation, as in the adapter: the conversation's
 * row lock before anything else, the order that does not deadlock on InnoDB. With the inbox schema
 * the members' activity moves by a join with the conversation, only while its member_count is small.
 */
function postScript(select: string, withClientId: boolean, inbox: boolean): string {
  const fresh = withClientId
    ? ' AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = ? AND m.client_message_id = ?)'
    : '';
  const later = `GREATEST(COALESCE(last_message_at, ${at}), ${at})`;
  const row = COLUMNS.messages.map((c) => (c.endsWith('_at') ? at : '?')).join(', ');
  return [
    'START TRANSACTION',
    ...(withClientId
      ? [`SELECT ${select} FROM messages WHERE conversation_id = ? AND client_message_id = ? AND ${member}`]
      : []),
    // The conversation's row lock first (as the adapter does): without it the UPDATE's membership
    // subquery takes a shared lock on the author's member row before the conversation's lock, and
    // the members' UPDATE below deadlocks with a concurrent post to the same conversation.
    'SELECT 1 FROM conversations WHERE id = ? FOR UPDATE',
    `UPDATE conversations SET message_count = message_count + 1, event_seq = LAST_INSERT_ID(event_seq + 1), last_message_at = ${later}, activity_at = ${later} WHERE id = ? AND ${member}${fresh}`,
    `INSERT INTO messages (${COLUMNS.messages.join(', ')}) SELECT ${row} FROM DUAL WHERE ROW_COUNT() = 1`,
    `INSERT INTO conversation_events (${EVENT_COLUMNS.join(', ')}) SELECT ?, LAST_INSERT_ID(), 'message.created', ${at}, ?, ?, ? FROM DUAL WHERE ROW_COUNT() = 1`,
    ...(inbox
      ? [
          `UPDATE participants p JOIN conversations c ON c.id = p.conversation_id SET p.activity_at = GREATEST(p.activity_at, c.activity_at) WHERE c.id = ? AND c.member_count <= ${INBOX_MEMBERS} AND p.activity_at IS NOT NULL AND ROW_COUNT() = 1`,
        ]
      : []),
    'COMMIT',
  ].join(';\n');
}

/**
 * L1 on mysql2 for MySQL and MariaDB, connected as the adapter is (UTC, utf8mb4_bin). Reads go
 * through a pool like the adapter's; writes through a second pool of the same size whose
 * connections allow multi-statement queries, so a post or a create is one round trip.
 */
export async function openMysql(kind: 'mysql' | 'mariadb', url: string, poolSize: number): Promise<L1Db> {
  const u = new URL(url);
  const options: mysql.PoolOptions = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    connectionLimit: poolSize,
    connectTimeout: 5000,
    timezone: 'Z',
    charset: 'UTF8MB4_BIN',
    dateStrings: false,
  };
  const pool = mysql.createPool(options);
  const writes = mysql.createPool({ ...options, multipleStatements: true });
  await pool.query('SELECT 1');
  const texts = new Map<string, string>();
  const once = (key: string, build: () => string) => {
    let text = texts.get(key);
    if (text === undefined) {
      text = build();
      texts.set(key, text);
    }
    return text;
  };

  /** Runs a START TRANSACTION … COMMIT script; on an error the transaction is rolled back before the connection is reused. */
  const script = async (text: string, params: unknown[]) => {
    const c = await writes.getConnection();
    try {
      return (await c.query(text, params))[0] as (mysql.ResultSetHeader | Record<string, unknown>[])[];
    } catch (error) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      c.release();
    }
  };

  const earlier = async ({ message, select }: PostInput): Promise<PostOutcome | null> => {
    const [rows] = await pool.query(
      `SELECT ${select} FROM messages WHERE conversation_id = ? AND client_message_id = ? AND ${member}`,
      [message.conversationId, message.clientMessageId, message.conversationId, message.authorId],
    );
    const row = (rows as Record<string, unknown>[])[0];
    return row ? { message: messageOf(row), created: false } : null;
  };

  const driver: SqlDriver = {
    kind,
    placeholders: (text) => text,
    time: (d) => d,
    timeParam: at,
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    read: conn(pool),
    async tx(work) {
      const c = await pool.getConnection();
      try {
        await c.query('START TRANSACTION');
        const result = await work(conn(c));
        await c.query('COMMIT');
        return result;
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        c.release();
      }
    },
    async insertMany(table, columns, rows) {
      const c = await pool.getConnection();
      try {
        // Our own freshly migrated database, filled in key order: skip the per-row checks.
        await c.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          await c.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ?`, [rows.slice(i, i + ROWS_PER_INSERT)]);
        }
      } finally {
        await c.query('SET SESSION foreign_key_checks = 1, unique_checks = 1').catch(() => undefined);
        c.release();
      }
    },
    async column(table, column) {
      const [rows] = await pool.query(
        'SELECT is_nullable AS n FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?',
        [table, column],
      );
      const row = (rows as { n: string }[])[0];
      return row ? { nullable: row.n === 'YES' } : null;
    },
    async post(input) {
      const { message, row, event, schema } = input;
      const withClientId = message.clientMessageId !== null;
      const inbox = Boolean(schema.inbox);
      const text = once(`post:${withClientId}:${inbox}`, () => postScript(input.select, withClientId, inbox));
      const c = message.conversationId;
      const t = input.at;
      const params = [
        ...(withClientId ? [c, message.clientMessageId, c, message.authorId] : []),
        c,
        t,
        t,
        t,
        t,
        c,
        c,
        message.authorId,
        ...(withClientId ? [c, message.clientMessageId] : []),
        ...row,
        c,
        t,
        message.authorId,
        message.id,
        event,
        ...(inbox ? [c] : []),
      ];
      try {
        const results = await script(text, params);
        const found = withClientId ? (results[1] as Record<string, unknown>[]) : [];
        // After START TRANSACTION, the earlier-message SELECT (with a clientMessageId) and the lock.
        const bumped = results[withClientId ? 3 : 2] as mysql.ResultSetHeader;
        if (bumped.affectedRows === 1) return { message, created: true };
        return found[0] ? { message: messageOf(found[0]), created: false } : null;
      } catch (error) {
        // A concurrent post with the same clientMessageId won the unique index: answer with it.
        if ((error as { code?: string }).code === DUPLICATE_ENTRY && withClientId) {
          const stored = await earlier(input);
          if (stored) return stored;
        }
        throw error;
      }
    },
    async create(input: CreateInput) {
      const inbox = Boolean(input.schema.inbox);
      const cc = [...COLUMNS.conversations, 'event_seq'];
      const pc = inbox ? [...COLUMNS.participants, 'activity_at'] : [...COLUMNS.participants];
      const text = once(`create:${inbox}`, () =>
        [
          'START TRANSACTION',
          `INSERT INTO conversations (${cc.join(', ')}) VALUES (${marks(cc.length)})`,
          `INSERT INTO participants (${pc.join(', ')}) VALUES (${marks(pc.length)})`,
          `INSERT INTO audit_entries (${COLUMNS.audit_entries.join(', ')}) VALUES (${marks(COLUMNS.audit_entries.length)})`,
          `INSERT INTO conversation_events (${EVENT_COLUMNS.join(', ')}) VALUES (${marks(EVENT_COLUMNS.length)})`,
          'COMMIT',
        ].join(';\n'),
      );
      const participant = inbox ? [...input.participant, input.participant[3]] : input.participant;
      await script(text, [...input.conversation, 1, ...participant, ...input.audit, ...input.event]);
    },
    close: async () => {
      await Promise.all([pool.end(), writes.end()]);
    },
  };
  return sqlL1(driver);
}

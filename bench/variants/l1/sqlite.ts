import Database from 'better-sqlite3';
import { COLUMNS, EVENT_COLUMNS, INBOX_MEMBERS, messageOf, sqlL1, type SqlConn, type SqlDriver } from './sql.js';
import type { L1Db, PostOutcome } from './types.js';

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const member = 'EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = ? AND p.user_id = ?)';

/**
 * L1 on better-sqlite3 with the adapter's settings (WAL, foreign keys, busy timeout) and cached
 * prepared statements. The driver is synchronous, so a write is one synchronous transaction:
 * nothing else runs on the connection in between, and a branch on a statement's result costs
 * no round trip. Each call still returns a promise so the request path has the same shape as on
 * the server databases.
 */
export async function openSqlite(file: string): Promise<L1Db> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const prepare = (text: string) => {
    let s = statements.get(text);
    if (!s) {
      s = db.prepare(text);
      statements.set(text, s);
    }
    return s;
  };
  const conn: SqlConn = {
    rows: async (text, params) => {
      const s = prepare(text);
      if (s.reader) return s.all(...params) as Record<string, unknown>[];
      s.run(...params);
      return [];
    },
    exec: async (text, params) => prepare(text).run(...params).changes,
  };
  let tail: Promise<unknown> = Promise.resolve();
  const later = 'MAX(COALESCE(last_message_at, ?), ?)';
  const driver: SqlDriver = {
    kind: 'sqlite',
    placeholders: (text) => text,
    time: (d) => d.getTime(),
    timeParam: '?',
    greatest: (a, b) => `MAX(${a}, ${b})`,
    read: conn,
    tx(work) {
      // Used off the measured path (restore). Transactions take turns; BEGIN IMMEDIATE takes the write lock up front.
      const run = tail.then(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(conn);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      });
      tail = run.catch(() => undefined);
      return run;
    },
    async insertMany(table, columns, rows) {
      const insert = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${marks(columns.length)})`);
      db.transaction(() => {
        for (const r of rows) insert.run(...r);
      })();
    },
    async column(table, column) {
      const found = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; notnull: number }[]).find(
        (c) => c.name === column,
      );
      return found ? { nullable: found.notnull === 0 } : null;
    },
    async post({ message, row, event, at, select, schema }) {
      const c = message.conversationId;
      return db
        .transaction((): PostOutcome | null => {
          if (message.clientMessageId !== null) {
            const stored = prepare(
              `SELECT ${select} FROM messages WHERE conversation_id = ? AND client_message_id = ? AND ${member}`,
            ).get(c, message.clientMessageId, c, message.authorId) as Record<string, unknown> | undefined;
            if (stored) return { message: messageOf(stored), created: false };
          }
          const bumped = prepare(
            `UPDATE conversations SET message_count = message_count + 1, event_seq = event_seq + 1, last_message_at = ${later}, activity_at = ${later} WHERE id = ? AND ${member} RETURNING event_seq, ${schema.inbox ? 'member_count' : '0 AS member_count'}`,
          ).get(at, at, at, at, c, c, message.authorId) as { event_seq: number; member_count: number } | undefined;
          if (!bumped) return null;
          prepare(
            `INSERT INTO messages (${COLUMNS.messages.join(', ')}) VALUES (${marks(COLUMNS.messages.length)})`,
          ).run(...row);
          prepare(
            `INSERT INTO conversation_events (${EVENT_COLUMNS.join(', ')}) VALUES (${marks(EVENT_COLUMNS.length)})`,
          ).run(c, bumped.event_seq, 'message.created', at, message.authorId, message.id, event);
          // Only a small conversation's member rows carry the activity (the adapter decides the same way).
          if (schema.inbox && bumped.member_count <= INBOX_MEMBERS)
            prepare(
              'UPDATE participants SET activity_at = MAX(activity_at, ?) WHERE conversation_id = ? AND activity_at IS NOT NULL',
            ).run(at, c);
          return { message, created: true };
        })
        .immediate();
    },
    async create({ conversation, participant, audit, event, schema }) {
      const cc = [...COLUMNS.conversations, 'event_seq'];
      const pc = schema.inbox ? [...COLUMNS.participants, 'activity_at'] : [...COLUMNS.participants];
      db.transaction(() => {
        prepare(`INSERT INTO conversations (${cc.join(', ')}) VALUES (${marks(cc.length)})`).run(...conversation, 1);
        prepare(`INSERT INTO participants (${pc.join(', ')}) VALUES (${marks(pc.length)})`).run(
          ...(schema.inbox ? [...participant, participant[3]] : participant),
        );
        prepare(
          `INSERT INTO audit_entries (${COLUMNS.audit_entries.join(', ')}) VALUES (${marks(COLUMNS.audit_entries.length)})`,
        ).run(...audit);
        prepare(
          `INSERT INTO conversation_events (${EVENT_COLUMNS.join(', ')}) VALUES (${marks(EVENT_COLUMNS.length)})`,
        ).run(...event);
      }).immediate();
    },
    async close() {
      db.close();
    },
  };
  return sqlL1(driver);
}

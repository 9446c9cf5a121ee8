import { DuplicateError, NotFoundError } from '../../src/domain/errors.js';
import { messageCreated } from '../../src/domain/events.js';
import type { Message } from '../../src/domain/models.js';
import type { PostResult } from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import type { Dialect } from './dialects/dialect.js';
import { copyActivityToMembers, INBOX_FANOUT_LIMIT } from './inbox-index.js';
import type { Codecs, RecordCodec } from './row-mapper.js';
import type { EventCodec } from './typeorm-event-repository.js';
import { writeEvent } from './typeorm-event-repository.js';

/**
 * Posting one message (issue 13, item 1): the author's membership, the clientMessageId, the
 * conversation's counters and seq, the message, its `message.created` event and the member rows
 * of the inbox index, with the fewest round trips each database allows. Every column list comes
 * from the codecs (row-mapper.ts), so a new message column is one entry there.
 *
 * - PostgreSQL: one statement (`postgresPostSql`), a data-modifying CTE, outside any explicit
 *   transaction (one statement is atomic by itself).
 * - MySQL/MariaDB: one multi-statement script, START TRANSACTION to COMMIT (`mysqlPostScript`),
 *   one round trip.
 * - SQLite: one transaction of four statements (`postInSteps`).
 *
 * Either way a concurrent post of the same clientMessageId loses on the unique index
 * `(conversation_id, client_message_id)`, its changes are undone, and the winner is read
 * afterwards: `{ created: false }`.
 */
export async function postMessage(db: Db, codecs: Codecs, events: EventCodec, message: Message): Promise<PostResult> {
  try {
    if (db.dialect.kind === 'postgres')
      return await db.once((sql) => postInOneStatement(sql, db, codecs, events, message));
    if (db.dialect.kind === 'sqlite') return await db.tx((sql) => postInSteps(sql, db, codecs, events, message));
    return await postInOneScript(db, codecs, events, message);
  } catch (error) {
    if (error instanceof DuplicateError && error.field === 'clientMessageId') {
      const stored = await db.read((sql) => byClientId(sql, codecs, message));
      if (stored) return { message: stored, created: false };
    }
    throw error;
  }
}

/** `INSERT INTO table (columns) SELECT values FROM bumped`, with `seq` taken from the conversation's new event_seq. */
function insertFromBumped(c: RecordCodec<unknown>): string {
  const values = c.columns.map((col) => (col === 'seq' ? 'b.event_seq' : '?'));
  return `INSERT INTO ${c.table} (${c.columns.join(', ')}) SELECT ${values.join(', ')} FROM bumped b`;
}

/** The bound values of the message's `message.created` event but its seq, which the statement computes. */
function createdEventParams(events: EventCodec, message: Message): unknown[] {
  const event = events.toParams({ ...messageCreated(message), seq: 0 });
  return event.filter((_, i) => events.columns[i] !== 'seq');
}

const postgresTexts = new WeakMap<Codecs, string>();

/**
 * The PostgreSQL post, one statement. Every sub-statement sees the same snapshot; `bumped` runs
 * only when the author takes part and the clientMessageId is free, and the INSERTs and the member
 * rows' UPDATE read from it, so without it nothing is written. The row lock `bumped` takes orders
 * concurrent posts; the counters are computed from the latest row version after the wait.
 *
 * Parameters: conversation id, author id (member); conversation id, clientMessageId (earlier);
 * time ×4, conversation id (bumped); the message's columns; the event's columns but seq;
 * conversation id (fanned out). The result row says which case it was: `member` false → 404;
 * `id` set → the earlier message; `event_seq` set → created.
 */
export function postgresPostSql(codecs: Codecs, events: EventCodec): string {
  let text = postgresTexts.get(codecs);
  if (text !== undefined) return text;
  const m = codecs.messages;
  const later = 'GREATEST(COALESCE(last_message_at, CAST(? AS timestamptz)), CAST(? AS timestamptz))';
  text = `WITH member AS (
  SELECT 1 FROM participants WHERE conversation_id = ? AND user_id = ?
), earlier AS (
  SELECT ${m.select()} FROM messages WHERE conversation_id = ? AND client_message_id = ?
), bumped AS (
  UPDATE conversations SET message_count = message_count + 1, event_seq = event_seq + 1,
    last_message_at = ${later}, activity_at = ${later}
  WHERE id = ? AND EXISTS (SELECT 1 FROM member) AND NOT EXISTS (SELECT 1 FROM earlier)
  RETURNING event_seq, activity_at, member_count
), inserted AS (
  ${insertFromBumped(m as RecordCodec<unknown>)}
), logged AS (
  ${insertFromBumped(events as RecordCodec<unknown>)}
), fanned AS (
  UPDATE participants p SET activity_at = b.activity_at FROM bumped b
  WHERE p.conversation_id = ? AND b.member_count <= ${INBOX_FANOUT_LIMIT} AND p.activity_at <> b.activity_at
)
SELECT EXISTS (SELECT 1 FROM member) AS member, (SELECT event_seq FROM bumped) AS event_seq, e.*
FROM (SELECT 1) AS one LEFT JOIN earlier e ON true`;
  postgresTexts.set(codecs, text);
  return text;
}

async function postInOneStatement(
  sql: Sql,
  db: Db,
  codecs: Codecs,
  events: EventCodec,
  message: Message,
): Promise<PostResult> {
  const m = codecs.messages;
  const at = db.dialect.time(message.createdAt);
  const eventParams = createdEventParams(events, message);
  const c = message.conversationId;
  const [row] = await sql.rows(postgresPostSql(codecs, events), [
    c,
    message.authorId,
    c,
    message.clientMessageId,
    at,
    at,
    at,
    at,
    c,
    ...m.toParams(message),
    ...eventParams,
    c,
  ]);
  if (!row?.member) throw new NotFoundError('conversation', c);
  if (row.id !== null && row.id !== undefined) return { message: m.fromRow(row), created: false };
  if (row.event_seq === null || row.event_seq === undefined) throw new NotFoundError('conversation', c);
  return { message: structuredClone(message), created: true };
}

const mysqlScripts = new WeakMap<Codecs, string>();

/**
 * The MySQL/MariaDB post, one script sent as one query (Db.script), its own transaction included.
 * Every statement after the lock runs only when the one before wrote its row, so the script can
 * always end in COMMIT: a non-member (or a missing conversation) writes nothing.
 *
 * (1) `SELECT … FOR UPDATE` takes the conversation's row lock before anything else is read, so a
 * post waiting for it holds no other lock: with the membership checked in the UPDATE alone, InnoDB
 * would take a shared lock on the participant row while waiting for the conversation's lock, and
 * the post holding that lock would deadlock with the waiters when it updates the member rows;
 * (2) the conversation's UPDATE, guarded by the author's participant row, counts the message
 * and claims the seq through LAST_INSERT_ID(expr) (the header's insertId); (3) the message and
 * (4) its event, `INSERT … SELECT … FROM DUAL WHERE ROW_COUNT() = 1`, the event's seq being
 * LAST_INSERT_ID() (no table here has AUTO_INCREMENT, so nothing else moves it); a taken
 * clientMessageId fails the unique index in (3), the server stops the script there and
 * ScriptPool.run rolls back; (5) the inbox's member rows, unless the conversation is shared.
 *
 * Parameters: conversation id (lock); time ×4, conversation id, conversation id, author id
 * (bump); the message's columns; the event's columns but seq; conversation id (members).
 */
export function mysqlPostScript(d: Dialect, codecs: Codecs, events: EventCodec): string {
  let text = mysqlScripts.get(codecs);
  if (text !== undefined) return text;
  const m = codecs.messages;
  const later = d.greatest(`COALESCE(last_message_at, ${d.timeParam})`, d.timeParam);
  const eventValues = events.columns.map((col) => (col === 'seq' ? 'LAST_INSERT_ID()' : '?'));
  text = [
    'START TRANSACTION',
    'SELECT 1 FROM conversations WHERE id = ? FOR UPDATE',
    `UPDATE conversations SET message_count = message_count + 1, event_seq = LAST_INSERT_ID(event_seq + 1), last_message_at = ${later}, activity_at = ${later}
  WHERE id = ? AND EXISTS (SELECT 1 FROM participants WHERE conversation_id = ? AND user_id = ?)`,
    `INSERT INTO ${m.table} (${m.columns.join(', ')}) SELECT ${m.columns.map(() => '?').join(', ')} FROM DUAL WHERE ROW_COUNT() = 1`,
    `INSERT INTO ${events.table} (${events.columns.join(', ')}) SELECT ${eventValues.join(', ')} FROM DUAL WHERE ROW_COUNT() = 1`,
    `UPDATE participants p JOIN conversations c ON c.id = p.conversation_id SET p.activity_at = c.activity_at
  WHERE c.id = ? AND c.member_count <= ${INBOX_FANOUT_LIMIT} AND p.activity_at <> c.activity_at AND ROW_COUNT() = 1`,
    'COMMIT',
  ].join(';\n');
  mysqlScripts.set(codecs, text);
  return text;
}

/** Index of the conversation's UPDATE among the script's results (START TRANSACTION and the lock come first). */
const BUMP = 2;

async function postInOneScript(db: Db, codecs: Codecs, events: EventCodec, message: Message): Promise<PostResult> {
  const at = db.dialect.time(message.createdAt);
  const eventParams = createdEventParams(events, message);
  const c = message.conversationId;
  const results = await db.script(mysqlPostScript(db.dialect, codecs, events), [
    c,
    at,
    at,
    at,
    at,
    c,
    c,
    message.authorId,
    ...codecs.messages.toParams(message),
    ...eventParams,
    c,
  ]);
  const bumped = results[BUMP] as { affectedRows?: number } | undefined;
  if (bumped?.affectedRows !== 1) throw new NotFoundError('conversation', c);
  return { message: structuredClone(message), created: true };
}

/**
 * SQLite, in one transaction: (1) the conversation's UPDATE counts the message and claims its
 * seq (handed back through RETURNING, so no SELECT follows); (2) the message, as an
 * `INSERT … SELECT` from the author's participant row: no row, no message, and the transaction
 * rolls back with a 404. The same INSERT is the idempotency check: a taken clientMessageId fails
 * the unique index, and `postMessage` returns the stored message; (3) the event; (4) the member
 * rows of the inbox index (skipped when the conversation is shared).
 */
async function postInSteps(
  sql: Sql,
  db: Db,
  codecs: Codecs,
  events: EventCodec,
  message: Message,
): Promise<PostResult> {
  const d = db.dialect;
  const m = codecs.messages;
  const at = d.time(message.createdAt);
  const later = d.greatest(`COALESCE(last_message_at, ${d.timeParam})`, d.timeParam);
  const [row] = await sql.rows(
    `UPDATE conversations SET message_count = message_count + 1, event_seq = event_seq + 1, last_message_at = ${later}, activity_at = ${later} WHERE id = ?
     RETURNING event_seq, member_count`,
    [at, at, at, at, message.conversationId],
  );
  if (!row) throw new NotFoundError('conversation', message.conversationId);
  const inserted = await sql.exec(
    `INSERT INTO messages (${m.columns.join(', ')}) SELECT ${m.columns.map(() => '?').join(', ')} FROM participants WHERE conversation_id = ? AND user_id = ?`,
    [...m.toParams(message), message.conversationId, message.authorId],
  );
  if (inserted === 0) throw new NotFoundError('conversation', message.conversationId);
  await writeEvent(sql, events, messageCreated(message), Number(row.event_seq));
  if (Number(row.member_count) <= INBOX_FANOUT_LIMIT) await copyActivityToMembers(sql, db, message.conversationId);
  return { message: structuredClone(message), created: true };
}

export async function byClientId(sql: Sql, codecs: Codecs, message: Message): Promise<Message | null> {
  if (message.clientMessageId === null) return null;
  const m = codecs.messages;
  const [row] = await sql.rows(
    `SELECT ${m.select()} FROM messages WHERE conversation_id = ? AND client_message_id = ?`,
    [message.conversationId, message.clientMessageId],
  );
  return row ? m.fromRow(row) : null;
}

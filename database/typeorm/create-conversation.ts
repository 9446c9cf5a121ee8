import { conversationCreated } from '../../src/domain/events.js';
import type { AuditEntry, Conversation, Participant } from '../../src/domain/models.js';
import { DuplicateError } from '../../src/domain/errors.js';
import type { Db, Sql } from './db.js';
import { DatabaseFailure } from './error-helpers.js';
import { memberActivity, participantColumns, participantParams } from './inbox-index.js';
import { insertSql, type Codecs, type RecordCodec } from './row-mapper.js';
import type { EventCodec } from './typeorm-event-repository.js';

/**
 * Creating a conversation (issue 13, item 1): the conversation (counting its members and giving
 * out seq 1 at once), its participants (with their inbox activity), the audit entry and the
 * `conversation.created` event. PostgreSQL: one statement, a CTE that inserts the participants
 * from arrays (`unnest`), so its text is the same for any number of them. MySQL/MariaDB: the
 * four INSERTs as one multi-statement script, COMMIT included (one round trip). SQLite: the four
 * INSERTs in one transaction, the participants as multi-row INSERTs.
 */
export async function createConversation(
  db: Db,
  codecs: Codecs,
  events: EventCodec,
  conversation: Conversation,
  participants: readonly Participant[],
  audit: AuditEntry,
): Promise<void> {
  const event = { ...conversationCreated(conversation, [...participants], audit), seq: 1 };
  const head = [...codecs.conversations.toParams(conversation), participants.length];
  if (db.dialect.kind === 'postgres') {
    const activity = memberActivity(conversation, participants.length);
    const columns = codecs.participants.columns.filter((c) => c !== 'conversation_id');
    const arrays = columns.map((column) =>
      participants.map((p) => codecs.participants.toParams(p)[codecs.participants.columns.indexOf(column)]),
    );
    await db.once((sql) =>
      sql.rows(postgresCreateSql(codecs, events), [
        ...head,
        activity,
        ...arrays,
        ...codecs.audit.toParams(audit),
        ...events.toParams(event),
      ]),
    );
    return;
  }
  if (db.dialect.kind === 'mysql' || db.dialect.kind === 'mariadb') {
    // The same four INSERTs as one multi-statement script, COMMIT included: one round trip where
    // the transaction took six (see Db.script; the post does the same).
    const activity = memberActivity(conversation, participants.length);
    try {
      await db.script(mysqlCreateScript(codecs, events, participants.length), [
        ...head,
        ...participants.flatMap((p) => participantParams(db, codecs, p, activity)),
        ...codecs.audit.toParams(audit),
        ...events.toParams(event),
      ]);
    } catch (error) {
      // MariaDB calls every primary key PRIMARY, and a script names no single table to tell them
      // apart; here only the conversation's id can clash (the members were deduplicated, the
      // audit entry and the event are the new conversation's own), as the single INSERT would say.
      if (error instanceof DatabaseFailure && error.constraint === 'PRIMARY')
        throw new DuplicateError('conversation', 'id');
      throw error;
    }
    return;
  }
  await db.tx(async (sql) => {
    await sql.exec(conversationInsert(codecs), head);
    await insertParticipants(sql, db, codecs, conversation, participants);
    await sql.exec(insertSql(codecs.audit), codecs.audit.toParams(audit));
    await sql.exec(insertSql(events as RecordCodec<unknown>), events.toParams(event));
  });
}

/** The conversation's own INSERT, with its member count and seq 1 (the `conversation.created` event's). */
function conversationInsert(codecs: Codecs): string {
  const c = codecs.conversations;
  return `INSERT INTO conversations (${c.columns.join(', ')}, member_count, event_seq) VALUES (${c.columns.map(() => '?').join(', ')}, ?, 1)`;
}

/**
 * MySQL/MariaDB: START TRANSACTION, the conversation, its `members` participants in one multi-row
 * INSERT, the audit entry, the event, COMMIT. Built from constants and the member count only.
 */
function mysqlCreateScript(codecs: Codecs, events: EventCodec, members: number): string {
  const columns = participantColumns(codecs);
  const one = `(${columns.map(() => '?').join(', ')})`;
  return [
    'START TRANSACTION',
    conversationInsert(codecs),
    `INSERT INTO participants (${columns.join(', ')}) VALUES ${Array.from({ length: members }, () => one).join(', ')}`,
    insertSql(codecs.audit),
    insertSql(events as RecordCodec<unknown>),
    'COMMIT',
  ].join(';\n');
}

/** Rows per multi-row INSERT of participants: well below SQLite's parameter limit. */
const ROWS_PER_INSERT = 100;

async function insertParticipants(
  sql: Sql,
  db: Db,
  codecs: Codecs,
  conversation: Conversation,
  participants: readonly Participant[],
): Promise<void> {
  const activity = memberActivity(conversation, participants.length);
  const columns = participantColumns(codecs);
  const one = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < participants.length; i += ROWS_PER_INSERT) {
    const chunk = participants.slice(i, i + ROWS_PER_INSERT);
    await sql.exec(
      `INSERT INTO participants (${columns.join(', ')}) VALUES ${chunk.map(() => one).join(', ')}`,
      chunk.flatMap((p) => participantParams(db, codecs, p, activity)),
    );
  }
}

/** PostgreSQL types of the participant columns, for the arrays `unnest` reads them from. */
const PARTICIPANT_ARRAY_TYPES: Record<string, string> = {
  user_id: 'varchar[]',
  role: 'varchar[]',
  joined_at: 'timestamptz[]',
};

const postgresTexts = new WeakMap<Codecs, string>();

/**
 * Parameters: the conversation's columns and member count; the members' activity (NULL for a
 * shared conversation); one array per participant column but conversation_id; the audit entry's
 * columns; the event's columns.
 */
export function postgresCreateSql(codecs: Codecs, events: EventCodec): string {
  let text = postgresTexts.get(codecs);
  if (text !== undefined) return text;
  const columns = codecs.participants.columns.filter((c) => c !== 'conversation_id');
  const arrays = columns.map((column) => {
    const type = PARTICIPANT_ARRAY_TYPES[column];
    if (type === undefined) throw new Error(`no array type for participants.${column}`);
    return `CAST(? AS ${type})`;
  });
  text = `WITH conv AS (
  ${conversationInsert(codecs)} RETURNING id
), members AS (
  INSERT INTO participants (conversation_id, ${columns.join(', ')}, activity_at)
  SELECT conv.id, ${columns.map((c) => `x.${c}`).join(', ')}, CAST(? AS timestamptz)
  FROM conv, unnest(${arrays.join(', ')}) AS x(${columns.join(', ')})
), audited AS (
  ${insertSql(codecs.audit)}
), logged AS (
  ${insertSql(events as RecordCodec<unknown>)}
)
SELECT id FROM conv`;
  postgresTexts.set(codecs, text);
  return text;
}

import pg from 'pg';
import {
  COLUMNS,
  EVENT_COLUMNS,
  INBOX_MEMBERS,
  sqlL1,
  type CreateInput,
  type PostInput,
  type SqlConn,
  type SqlDriver,
} from './sql.js';
import type { L1Db, PostOutcome } from './types.js';
import { messageOf } from './sql.js';

const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

function conn(client: pg.Pool | pg.PoolClient): SqlConn {
  return {
    rows: async (text, params) => (await client.query(text, params)).rows,
    exec: async (text, params) => (await client.query(text, params)).rowCount ?? 0,
  };
}

/** `$from, $from+1, …` for n values, cast to the types of `columns` where the driver sends text. */
const CASTS: Record<string, string> = {
  content: '::json',
  metadata: '::json',
  data: '::json',
  diff: '::json',
  created_at: '::timestamptz',
  edited_at: '::timestamptz',
  deleted_at: '::timestamptz',
  joined_at: '::timestamptz',
  updated_at: '::timestamptz',
  last_message_at: '::timestamptz',
  activity_at: '::timestamptz',
  at: '::timestamptz',
  version: '::int',
  message_count: '::int',
  seq: '::int',
  event_seq: '::int',
};
const values = (columns: readonly string[], from: number) =>
  columns.map((c, i) => `$${from + i}${CASTS[c] ?? '::varchar'}`).join(', ');

/**
 * A post as ONE statement (data-modifying CTEs, one snapshot, one round trip): the author's
 * membership, the stored message a clientMessageId names, the conversation's counters and
 * event_seq (its row lock orders concurrent posts), the message, and its event with that seq.
 * Parameters: $1…$11 the message's columns (COLUMNS.messages order), $12 the event's data.
 * With the inbox schema, the members' activity_at of a small conversation moves too; the
 * conversation's member_count says which (as in the adapter), so a shared one's rows are not read.
 */
function postStatement(select: string, inbox: boolean): string {
  const m = COLUMNS.messages;
  const at = '$8::timestamptz';
  const later = `GREATEST(COALESCE(last_message_at, ${at}), ${at})`;
  return `WITH member AS (SELECT 1 FROM participants WHERE conversation_id = $2 AND user_id = $3),
earlier AS (
  SELECT ${select} FROM messages
  WHERE $7::varchar IS NOT NULL AND conversation_id = $2 AND client_message_id = $7::varchar AND EXISTS (SELECT 1 FROM member)
),
bump AS (
  UPDATE conversations SET message_count = message_count + 1, event_seq = event_seq + 1,
    last_message_at = ${later}, activity_at = ${later}
  WHERE id = $2 AND EXISTS (SELECT 1 FROM member) AND NOT EXISTS (SELECT 1 FROM earlier)
  RETURNING event_seq${inbox ? ', member_count' : ''}
),
posted AS (INSERT INTO messages (${m.join(', ')}) SELECT ${values(m, 1)} FROM bump RETURNING 1),
logged AS (
  INSERT INTO conversation_events (${EVENT_COLUMNS.join(', ')})
  SELECT $2, event_seq, 'message.created', ${at}, $3, $1, $12::json FROM bump
)${
    inbox
      ? `,
inbox AS (
  UPDATE participants p SET activity_at = GREATEST(p.activity_at, ${at}) FROM bump b
  WHERE p.conversation_id = $2 AND b.member_count <= ${INBOX_MEMBERS} AND p.activity_at IS NOT NULL
)`
      : ''
  }
SELECT (SELECT count(*) FROM posted)::int AS created, e.* FROM (SELECT 1) AS one LEFT JOIN earlier e ON true`;
}

/** Conversation (event_seq 1: its first event is written here), owner, audit entry, event: one statement. */
function createStatement(inbox: boolean): string {
  const cc = [...COLUMNS.conversations, 'event_seq'];
  const pc = inbox ? [...COLUMNS.participants, 'activity_at'] : [...COLUMNS.participants];
  const ac = COLUMNS.audit_entries;
  let n = 1;
  const next = (columns: readonly string[]) => {
    const text = values(columns, n);
    n += columns.length;
    return text;
  };
  const conversation = next(cc);
  const participant = next(pc);
  const audit = next(ac);
  const event = next(EVENT_COLUMNS);
  return `WITH c AS (INSERT INTO conversations (${cc.join(', ')}) VALUES (${conversation})),
p AS (INSERT INTO participants (${pc.join(', ')}) VALUES (${participant})),
a AS (INSERT INTO audit_entries (${ac.join(', ')}) VALUES (${audit}))
INSERT INTO conversation_events (${EVENT_COLUMNS.join(', ')}) VALUES (${event})`;
}

const UNIQUE_VIOLATION = '23505';

/** L1 on node-postgres: a pool of `poolSize` like the adapter's, unnamed parameterized statements. */
export async function openPostgres(url: string, poolSize: number): Promise<L1Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    application_name: 'polystore-bench-l1',
  });
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  const columnTypes = new Map<string, Map<string, string>>();
  const texts = new Map<string, string>();
  const once = (key: string, build: () => string) => {
    let text = texts.get(key);
    if (text === undefined) {
      text = build();
      texts.set(key, text);
    }
    return text;
  };
  const earlier = async (input: PostInput): Promise<PostOutcome | null> => {
    const { message, select } = input;
    const [row] = (
      await pool.query(
        `SELECT ${select} FROM messages WHERE conversation_id = $1 AND client_message_id = $2 AND EXISTS (SELECT 1 FROM participants WHERE conversation_id = $1 AND user_id = $3)`,
        [message.conversationId, message.clientMessageId, message.authorId],
      )
    ).rows;
    return row ? { message: messageOf(row), created: false } : null;
  };
  const driver: SqlDriver = {
    kind: 'postgres',
    placeholders: numbered,
    time: (d) => d,
    timeParam: 'CAST(? AS timestamptz)',
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    read: conn(pool),
    async tx(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(conn(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async insertMany(table, columns, rows) {
      // One array parameter per column, spread back into rows by unnest(): a single statement of
      // any size, far cheaper to bind than one parameter per value.
      let types = columnTypes.get(table);
      if (!types) {
        const found = await pool.query<{ column_name: string; udt_name: string }>(
          'SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        );
        types = new Map(found.rows.map((r) => [r.column_name, r.udt_name]));
        columnTypes.set(table, types);
      }
      const arrays = columns.map((_, c) => rows.map((r) => r[c]));
      const unnest = columns.map((name, c) => `$${c + 1}::${types!.get(name)}[]`).join(', ');
      await pool.query(`INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${unnest})`, arrays);
    },
    async column(table, column) {
      const [row] = (
        await pool.query(
          'SELECT is_nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2',
          [table, column],
        )
      ).rows;
      return row ? { nullable: row.is_nullable === 'YES' } : null;
    },
    async post(input) {
      const text = once(`post:${Boolean(input.schema.inbox)}`, () =>
        postStatement(input.select, Boolean(input.schema.inbox)),
      );
      try {
        const [row] = (await pool.query(text, [...input.row, input.event])).rows;
        if (row.created === 1) return { message: input.message, created: true };
        return row.id === null ? null : { message: messageOf(row), created: false };
      } catch (error) {
        // A concurrent post with the same clientMessageId won the unique index: answer with it.
        if ((error as { code?: string }).code === UNIQUE_VIOLATION && input.message.clientMessageId !== null) {
          const stored = await earlier(input);
          if (stored) return stored;
        }
        throw error;
      }
    },
    async create(input: CreateInput) {
      const text = once(`create:${Boolean(input.schema.inbox)}`, () => createStatement(Boolean(input.schema.inbox)));
      const participant = input.schema.inbox ? [...input.participant, input.participant[3]] : input.participant;
      await pool.query(text, [...input.conversation, 1, ...participant, ...input.audit, ...input.event]);
    },
    close: () => pool.end(),
  };
  return sqlL1(driver);
}

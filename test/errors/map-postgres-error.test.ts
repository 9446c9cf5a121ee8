import '../support/provided-context.js';
import { serverFor } from '../support/initializer.js';
import pg from 'pg';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapPostgresError } from '../../database/typeorm/map-postgres-error.js';
import { POSTGRES_MIGRATIONS } from '../../migrations/postgres/index.js';
import { NotFoundError, ValidationError } from '../../src/domain/errors.js';
import {
  duplicate,
  expectTranslated,
  failure,
  notFound,
  socketError,
  unavailable,
  viaTypeorm,
  type Row,
} from './expect.js';

/** A node-postgres DatabaseError with the fields the server sent (as pg-protocol's parser fills them). */
function pgError(code: string, message: string, fields: Partial<pg.DatabaseError> = {}): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, message.length + 50, 'error'), {
    severity: 'ERROR',
    code,
    file: 'postgres.c',
    line: '1',
    routine: 'x',
    ...fields,
  });
}

const unique = (table: string, constraint: string, detail: string) =>
  pgError('23505', `duplicate key value violates unique constraint "${constraint}"`, {
    detail,
    schema: 'public',
    table,
    constraint,
    routine: '_bt_check_unique',
  });

const foreignKey = (table: string, constraint: string, conversationId: string) =>
  pgError('23503', `insert or update on table "${table}" violates foreign key constraint "${constraint}"`, {
    detail: `Key (conversation_id)=(${conversationId}) is not present in table "conversations".`,
    schema: 'public',
    table,
    constraint,
    routine: 'ri_ReportViolation',
  });

const INSERT_USER =
  'INSERT INTO users (id, handle, display_name, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6)';
const INSERT_MESSAGE = 'INSERT INTO messages (id, conversation_id, author_id, role, content) VALUES ($1, …)';

const rows: Row[] = [
  // 23505 unique_violation: the constraint names the key (migrations/postgres/0001).
  {
    name: '23505 uq_users_handle, through TypeORM',
    error: viaTypeorm(unique('users', 'uq_users_handle', 'Key (handle)=(ada) already exists.'), INSERT_USER),
    expected: duplicate('user', 'handle'),
  },
  {
    name: '23505 pk_users, the driver error alone',
    error: unique('users', 'pk_users', 'Key (id)=(u1) already exists.'),
    expected: duplicate('user', 'id'),
  },
  {
    name: '23505 pk_conversations',
    error: viaTypeorm(unique('conversations', 'pk_conversations', 'Key (id)=(c1) already exists.'), 'INSERT INTO …'),
    expected: duplicate('conversation', 'id'),
  },
  {
    name: '23505 pk_participants',
    error: viaTypeorm(
      unique('participants', 'pk_participants', 'Key (conversation_id, user_id)=(c1, u1) already exists.'),
      'INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)',
    ),
    expected: duplicate('participant', 'userId'),
  },
  {
    name: '23505 pk_messages',
    error: viaTypeorm(unique('messages', 'pk_messages', 'Key (id)=(m1) already exists.'), INSERT_MESSAGE),
    expected: duplicate('message', 'id'),
  },
  {
    name: '23505 uq_messages_client_message',
    error: viaTypeorm(
      unique(
        'messages',
        'uq_messages_client_message',
        'Key (conversation_id, client_message_id)=(c1, k1) already exists.',
      ),
      INSERT_MESSAGE,
    ),
    expected: duplicate('message', 'clientMessageId'),
  },
  {
    name: '23505 pk_audit_entries',
    error: viaTypeorm(unique('audit_entries', 'pk_audit_entries', 'Key (id)=(a1) already exists.'), 'INSERT INTO …'),
    expected: duplicate('audit', 'id'),
  },
  {
    name: '23505 on a key the schema does not have: a failure, not an invented conflict',
    error: viaTypeorm(unique('users', 'uq_users_email', 'Key (email)=(a@b) already exists.'), INSERT_USER),
    expected: failure({
      constraint: 'uq_users_email',
      message: "postgres refused a duplicate on unique key uq_users_email, which is not one of the schema's keys",
    }),
  },
  {
    name: '23505 without a constraint name',
    error: pgError('23505', 'duplicate key value violates unique constraint'),
    expected: failure({ constraint: undefined, message: expect.stringContaining('unique key (unnamed)') }),
  },
  // 23503 foreign_key_violation: every foreign key points at conversations.
  {
    name: '23503 fk_messages_conversation names the conversation',
    error: viaTypeorm(foreignKey('messages', 'fk_messages_conversation', 'c404'), INSERT_MESSAGE),
    expected: notFound('conversation', 'c404'),
  },
  {
    name: '23503 fk_participants_conversation',
    error: foreignKey('participants', 'fk_participants_conversation', 'c405'),
    expected: notFound('conversation', 'c405'),
  },
  {
    name: '23503 on a foreign key the schema does not have',
    error: foreignKey('messages', 'fk_messages_author', 'u1'),
    expected: failure({
      constraint: 'fk_messages_author',
      message: expect.stringContaining('foreign key fk_messages_author'),
    }),
  },
  // 23514 check_violation: the PostgreSQL schema has none, so any is a failure naming it.
  {
    name: '23514 check_violation',
    error: pgError('23514', 'new row for relation "users" violates check constraint "ck_users_handle"', {
      detail: 'Failing row contains (u1, , Ada, …).',
      table: 'users',
      constraint: 'ck_users_handle',
    }),
    expected: failure({
      constraint: 'ck_users_handle',
      entity: undefined,
      message: 'postgres refused the row: CHECK constraint ck_users_handle failed',
    }),
  },
  // Transaction conflicts: the transaction may run again.
  {
    name: '40001 serialization_failure',
    error: viaTypeorm(pgError('40001', 'could not serialize access due to concurrent update'), 'UPDATE …'),
    expected: unavailable(1, true),
  },
  {
    name: '40P01 deadlock_detected',
    error: pgError('40P01', 'deadlock detected', {
      detail: 'Process 101 waits for ShareLock on transaction 7; blocked by process 102.',
    }),
    expected: unavailable(1, true),
  },
  // "Not now": 503 with Retry-After, not retried inside the request.
  {
    name: '57014 query_canceled (statement_timeout)',
    error: viaTypeorm(pgError('57014', 'canceling statement due to statement timeout'), 'SELECT …'),
    expected: unavailable(2, false, 'PostgreSQL is unavailable (57014)'),
  },
  {
    name: '53300 too_many_connections',
    error: pgError('53300', 'sorry, too many clients already'),
    expected: unavailable(2, false),
  },
  {
    name: '57P01 admin_shutdown',
    error: pgError('57P01', 'terminating connection due to administrator command'),
    expected: unavailable(2, false),
  },
  {
    name: '57P02 crash_shutdown',
    error: pgError('57P02', 'terminating connection because of crash of another server process'),
    expected: unavailable(2, false),
  },
  {
    name: '57P03 cannot_connect_now',
    error: pgError('57P03', 'the database system is starting up'),
    expected: unavailable(2, false),
  },
  {
    name: '25006 read_only_sql_transaction (a standby after failover)',
    error: viaTypeorm(pgError('25006', 'cannot execute INSERT in a read-only transaction'), INSERT_USER),
    expected: unavailable(2, false),
  },
  {
    name: '08P01 protocol_violation (class 08)',
    error: pgError('08P01', 'invalid frontend message type 0'),
    expected: unavailable(2, false),
  },
  // Socket errors and node-postgres's own connection errors (no SQLSTATE).
  {
    name: 'ECONNREFUSED',
    error: socketError('ECONNREFUSED', -111, 'connect', 'connect ECONNREFUSED 127.0.0.1:5432'),
    expected: unavailable(2, false, 'PostgreSQL is unavailable (ECONNREFUSED)'),
  },
  {
    name: 'ECONNRESET',
    error: socketError('ECONNRESET', -104, 'read', 'read ECONNRESET'),
    expected: unavailable(2, false),
  },
  {
    name: 'ETIMEDOUT',
    error: socketError('ETIMEDOUT', -110, 'connect', 'connect ETIMEDOUT 10.0.0.9:5432'),
    expected: unavailable(2, false),
  },
  {
    name: 'ENOTFOUND',
    error: socketError('ENOTFOUND', -3008, 'getaddrinfo', 'getaddrinfo ENOTFOUND db.internal'),
    expected: unavailable(2, false),
  },
  {
    name: 'EHOSTUNREACH',
    error: socketError('EHOSTUNREACH', -113, 'connect', 'connect EHOSTUNREACH 10.0.0.9:5432'),
    expected: unavailable(2, false),
  },
  { name: 'EPIPE', error: socketError('EPIPE', -32, 'write', 'write EPIPE'), expected: unavailable(2, false) },
  {
    name: 'pg: Connection terminated unexpectedly',
    error: viaTypeorm(new Error('Connection terminated unexpectedly'), 'SELECT 1'),
    expected: unavailable(2, false, 'PostgreSQL is unavailable (Connection terminated unexpectedly)'),
  },
  {
    name: 'pg: Connection terminated due to connection timeout',
    error: new Error('Connection terminated due to connection timeout'),
    expected: unavailable(2, false),
  },
  {
    name: 'pg-pool: timeout exceeded when trying to connect',
    error: new Error('timeout exceeded when trying to connect'),
    expected: unavailable(2, false),
  },
  {
    name: 'pg: Client has encountered a connection error and is not queryable',
    error: new Error('Client has encountered a connection error and is not queryable'),
    expected: unavailable(2, false),
  },
  // Anything else is a bug: a 500 that keeps the code and the first line for the log.
  {
    name: '42P01 undefined_table',
    error: viaTypeorm(pgError('42P01', 'relation "users" does not exist'), 'SELECT * FROM users'),
    expected: failure({ message: 'postgres query failed (42P01): relation "users" does not exist' }),
  },
  {
    name: 'a plain Error',
    error: new Error('something odd\nsecond line'),
    expected: failure({ message: 'postgres query failed: something odd' }),
  },
];

describe('mapPostgresError', () => {
  it.each(rows)('$name', ({ error, expected }) => {
    expectTranslated(mapPostgresError(error), error, expected);
  });

  it.each([new NotFoundError('user', 'u1'), ValidationError.field('handle', 'bad')])('passes %s through', (error) => {
    expect(mapPostgresError(error)).toEqual({ error, retryable: false });
  });
});

// ---------------------------------------------------------------------------------------------
// The same rows against the real server: errors provoked on the migrated schema, mapped as they come.

const server = serverFor('postgres');
if (!('url' in server)) console.warn(`[polystore tests] real PostgreSQL errors SKIPPED: ${server.skip}`);

describe.skipIf(!('url' in server))('mapPostgresError on errors from a real PostgreSQL', () => {
  const schema = `ps_errors_${process.pid}_${Date.now().toString(36)}`;
  let client: pg.Client;
  let other: pg.Client;

  const connect = async () => {
    const c = new pg.Client({ connectionString: (server as { url: string }).url });
    c.on('error', () => undefined);
    await c.connect();
    await c.query(`SET search_path = ${schema}`);
    return c;
  };

  /** Runs a statement that must fail, and hands back its error as TypeORM would. */
  async function failing(sql: string, params: unknown[] = [], on: pg.Client = client) {
    try {
      await on.query(sql, params);
    } catch (error) {
      expect(error).toBeInstanceOf(pg.DatabaseError);
      return viaTypeorm(error as Error, sql, params);
    }
    throw new Error(`expected to fail: ${sql}`);
  }

  const now = new Date();
  const user = (id: string, handle: string) => failing(INSERT_USER, [id, handle, 'Ada', now, now, 1]);
  const INSERT_FULL_MESSAGE =
    'INSERT INTO messages (id, conversation_id, author_id, role, content, metadata, client_message_id, created_at,' +
    ' version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)';

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: (server as { url: string }).url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    client = await connect();
    other = await connect();
    const runner = { query: (sql: string) => client.query(sql) } as unknown as QueryRunner;
    for (const Migration of POSTGRES_MIGRATIONS) await new Migration().up(runner);
    await client.query(INSERT_USER, ['u1', 'ada', 'Ada', now, now, 1]);
    await client.query(
      `INSERT INTO conversations
         (id, title, metadata, created_by, created_at, updated_at, activity_at, message_count, version)
       VALUES ('c1', NULL, '{}', 'u1', $1, $1, $1, 0, 1)`,
      [now],
    );
    await client.query(`INSERT INTO participants VALUES ('c1', 'u1', 'owner', $1)`, [now]);
    await client.query(INSERT_FULL_MESSAGE, ['m1', 'c1', 'u1', 'user', '[]', '{}', 'k1', now]);
  });

  afterAll(async () => {
    await other?.end();
    if (client) {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });

  it('a taken handle', async () => {
    const error = await user('u2', 'ada');
    expectTranslated(mapPostgresError(error), error, duplicate('user', 'handle'));
  });

  it('a taken user id', async () => {
    const error = await user('u1', 'grace');
    expectTranslated(mapPostgresError(error), error, duplicate('user', 'id'));
  });

  it('a second participant row for the same user', async () => {
    const error = await failing(`INSERT INTO participants VALUES ('c1', 'u1', 'member', $1)`, [now]);
    expectTranslated(mapPostgresError(error), error, duplicate('participant', 'userId'));
  });

  it('a repeated clientMessageId', async () => {
    const error = await failing(INSERT_FULL_MESSAGE, ['m2', 'c1', 'u1', 'user', '[]', '{}', 'k1', now]);
    expectTranslated(mapPostgresError(error), error, duplicate('message', 'clientMessageId'));
  });

  it('a message for a conversation that does not exist', async () => {
    const error = await failing(INSERT_FULL_MESSAGE, ['m3', 'c404', 'u1', 'user', '[]', '{}', null, now]);
    expectTranslated(mapPostgresError(error), error, notFound('conversation', 'c404'));
  });

  it('a CHECK constraint and a unique key the schema does not have', async () => {
    await client.query(
      'CREATE TABLE probe (n integer CONSTRAINT ck_probe_positive CHECK (n > 0) CONSTRAINT uq_probe_n UNIQUE)',
    );
    const check = await failing('INSERT INTO probe VALUES (0)');
    expectTranslated(mapPostgresError(check), check, failure({ constraint: 'ck_probe_positive' }));
    await client.query('INSERT INTO probe VALUES (1)');
    const taken = await failing('INSERT INTO probe VALUES (1)');
    expectTranslated(mapPostgresError(taken), taken, failure({ constraint: 'uq_probe_n' }));
  });

  it('statement_timeout', async () => {
    await client.query('SET statement_timeout = 50');
    try {
      const error = await failing('SELECT pg_sleep(2)');
      expectTranslated(mapPostgresError(error), error, unavailable(2, false, 'PostgreSQL is unavailable (57014)'));
    } finally {
      await client.query('RESET statement_timeout');
    }
  });

  it('a deadlock is retryable', async () => {
    await client.query(INSERT_USER, ['u3', 'lin', 'Lin', now, now, 1]);
    await client.query('BEGIN');
    await other.query('BEGIN');
    try {
      await client.query("UPDATE users SET version = 2 WHERE id = 'u1'");
      await other.query("UPDATE users SET version = 2 WHERE id = 'u3'");
      // Each now waits for the other's row; the server aborts one of them after deadlock_timeout.
      const results = await Promise.allSettled([
        client.query("UPDATE users SET version = 3 WHERE id = 'u3'"),
        other.query("UPDATE users SET version = 3 WHERE id = 'u1'"),
      ]);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toMatchObject({ code: '40P01' });
      expectTranslated(mapPostgresError(rejected[0]!.reason), rejected[0]!.reason, unavailable(1, true));
    } finally {
      await client.query('ROLLBACK');
      await other.query('ROLLBACK');
    }
  });
});

import '../support/provided-context.js';
import { serverFor } from '../support/initializer.js';
import mysql from 'mysql2/promise';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapMysqlError } from '../../database/typeorm/map-mysql-error.js';
import { MYSQL_MIGRATIONS } from '../../migrations/mysql/index.js';
import { NotFoundError } from '../../src/domain/errors.js';
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

/**
 * A mysql2 server error as the driver builds it from an error packet: `code` is mysql2's name for
 * the number, always MySQL's (so wrong for MariaDB's own numbers, e.g. 4025), `sql` the statement.
 */
function serverError(errno: number, code: string | undefined, sqlState: string, message: string, sql?: string): Error {
  return Object.assign(new Error(message), { code, errno, sqlState, sqlMessage: message, ...(sql ? { sql } : {}) });
}

/** A mysql2 client-side error: a code, no server number. */
const clientError = (code: string | undefined, message: string): Error =>
  Object.assign(new Error(message), { ...(code ? { code } : {}), fatal: true });

const dup = (message: string, sql?: string) => serverError(1062, 'ER_DUP_ENTRY', '23000', message, sql);
const check3819 = (name: string) =>
  serverError(3819, 'ER_CHECK_CONSTRAINT_VIOLATED', 'HY000', `Check constraint '${name}' is violated.`);
const typeorm = (error: Error) => viaTypeorm(error, (error as { sql?: string }).sql ?? 'INSERT INTO users …');

const INSERT_USER =
  'INSERT INTO users (id, handle, display_name, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?)';
const INSERT_PARTICIPANT = 'INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)';
const INSERT_MESSAGE =
  'INSERT INTO messages (id, conversation_id, author_id, role, content, metadata, client_message_id, created_at,' +
  ' version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)';

const SYNTAX =
  'You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version' +
  " for the right syntax to use near 'FORM users' at line 1";
const ILLEGAL = "Illegal parameter data types int and row for operation '='";

const rows: Row[] = [
  // 1062 ER_DUP_ENTRY. MariaDB names the key; MySQL 8 (since 8.0.19) prefixes its table;
  // both call any primary key PRIMARY.
  {
    name: "MariaDB: for key 'uq_users_handle'",
    error: typeorm(dup("Duplicate entry 'ada' for key 'uq_users_handle'", INSERT_USER)),
    expected: duplicate('user', 'handle'),
  },
  {
    name: "MySQL 8: for key 'users.uq_users_handle'",
    error: typeorm(dup("Duplicate entry 'ada' for key 'users.uq_users_handle'", INSERT_USER)),
    expected: duplicate('user', 'handle'),
  },
  {
    name: "MariaDB: for key 'PRIMARY' on INSERT INTO users (the table from the statement)",
    error: typeorm(dup("Duplicate entry 'u1' for key 'PRIMARY'", INSERT_USER)),
    expected: duplicate('user', 'id'),
  },
  {
    name: "MySQL 8: for key 'users.PRIMARY', with no statement at hand",
    error: dup("Duplicate entry 'u1' for key 'users.PRIMARY'"),
    expected: duplicate('user', 'id'),
  },
  {
    name: "MariaDB: for key 'PRIMARY' on INSERT INTO participants",
    error: typeorm(dup("Duplicate entry 'c1-u1' for key 'PRIMARY'", INSERT_PARTICIPANT)),
    expected: duplicate('participant', 'userId'),
  },
  {
    name: "MySQL 8: for key 'participants.PRIMARY'",
    error: typeorm(dup("Duplicate entry 'c1-u1' for key 'participants.PRIMARY'", INSERT_PARTICIPANT)),
    expected: duplicate('participant', 'userId'),
  },
  {
    name: "MariaDB: the statement's table comes from mysql2's own `sql` too",
    error: dup("Duplicate entry 'c1' for key 'PRIMARY'", 'INSERT INTO `conversations` (id) VALUES (?)'),
    expected: duplicate('conversation', 'id'),
  },
  {
    name: "MySQL 8: for key 'messages.PRIMARY'",
    error: typeorm(dup("Duplicate entry 'm1' for key 'messages.PRIMARY'", INSERT_MESSAGE)),
    expected: duplicate('message', 'id'),
  },
  {
    name: "MySQL 8: for key 'messages.uq_messages_client_message'",
    error: typeorm(dup("Duplicate entry 'c1-k1' for key 'messages.uq_messages_client_message'", INSERT_MESSAGE)),
    expected: duplicate('message', 'clientMessageId'),
  },
  {
    name: "MariaDB: for key 'uq_messages_client_message'",
    error: typeorm(dup("Duplicate entry 'c1-k1' for key 'uq_messages_client_message'", INSERT_MESSAGE)),
    expected: duplicate('message', 'clientMessageId'),
  },
  {
    name: "MySQL 8: for key 'audit_entries.PRIMARY'",
    error: dup("Duplicate entry 'a1' for key 'audit_entries.PRIMARY'", 'INSERT INTO audit_entries (id) VALUES (?)'),
    expected: duplicate('audit', 'id'),
  },
  // Not English: lc_messages translates the sentence; the key stays the last quoted token.
  {
    name: 'MySQL 8, German',
    error: typeorm(dup("Doppelter Eintrag 'ada' für Schlüssel 'users.uq_users_handle'", INSERT_USER)),
    expected: duplicate('user', 'handle'),
  },
  {
    name: 'MariaDB, German',
    error: typeorm(dup("Doppelter Eintrag 'c1-k1' für Schlüssel 'uq_messages_client_message'", INSERT_MESSAGE)),
    expected: duplicate('message', 'clientMessageId'),
  },
  {
    name: 'MariaDB, French',
    error: typeorm(dup("Duplicata du champ 'u1' pour la clef 'PRIMARY'", INSERT_USER)),
    expected: duplicate('user', 'id'),
  },
  {
    name: 'MariaDB, Japanese (the key is not at the end of the sentence)',
    error: typeorm(dup("'ada' は索引 'uq_users_handle' で重複しています。", INSERT_USER)),
    expected: duplicate('user', 'handle'),
  },
  {
    name: 'MySQL 8, Russian',
    error: typeorm(dup("Дублирующаяся запись 'ada' по ключу 'users.uq_users_handle'", INSERT_USER)),
    expected: duplicate('user', 'handle'),
  },
  {
    name: 'a quote inside the duplicate value',
    error: typeorm(dup("Duplicate entry 'o'brien' for key 'users.uq_users_handle'", INSERT_USER)),
    expected: duplicate('user', 'handle'),
  },
  // A key the schema does not have is a failure, not an invented conflict.
  {
    name: 'MySQL 8: an unknown key',
    error: typeorm(dup("Duplicate entry 'a@b' for key 'users.uq_users_email'", INSERT_USER)),
    expected: failure({
      constraint: 'users.uq_users_email',
      message: "mysql refused a duplicate on unique key users.uq_users_email, which is not one of the schema's keys",
    }),
  },
  {
    name: 'MariaDB: PRIMARY of a table that is not ours',
    error: dup("Duplicate entry 's1' for key 'PRIMARY'", 'INSERT INTO sessions (id) VALUES (?)'),
    expected: failure({ constraint: 'PRIMARY' }),
  },
  {
    name: 'MariaDB: PRIMARY with no statement to tell the table',
    error: dup("Duplicate entry 'u1' for key 'PRIMARY'"),
    expected: failure({ constraint: 'PRIMARY' }),
  },
  // 1452 ER_NO_REFERENCED_ROW_2: every foreign key points at conversations.
  {
    name: '1452 fk_messages_conversation',
    error: typeorm(
      serverError(
        1452,
        'ER_NO_REFERENCED_ROW_2',
        '23000',
        'Cannot add or update a child row: a foreign key constraint fails (`polystore`.`messages`, CONSTRAINT ' +
          '`fk_messages_conversation` FOREIGN KEY (`conversation_id`) REFERENCES `conversations` (`id`)' +
          ' ON DELETE CASCADE)',
        INSERT_MESSAGE,
      ),
    ),
    expected: notFound('conversation', 'unknown'),
  },
  {
    name: '1452 on a foreign key the schema does not have',
    error: serverError(
      1452,
      'ER_NO_REFERENCED_ROW_2',
      '23000',
      'Cannot add or update a child row: a foreign key constraint fails (`polystore`.`messages`, CONSTRAINT ' +
        '`fk_messages_author` FOREIGN KEY (`author_id`) REFERENCES `users` (`id`))',
    ),
    expected: failure({ constraint: 'fk_messages_author' }),
  },
  // CHECK constraints: MariaDB's 4025 (which mysql2 names after an unrelated MySQL error) and MySQL 8's 3819.
  {
    name: 'MariaDB 4025 ER_CONSTRAINT_FAILED on ck_messages_content',
    error: typeorm(
      serverError(
        4025,
        'ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE',
        '23000',
        'CONSTRAINT `ck_messages_content` failed for `polystore`.`messages`',
        INSERT_MESSAGE,
      ),
    ),
    expected: failure({
      constraint: 'ck_messages_content',
      entity: 'message',
      field: 'content',
      message: 'mysql refused message.content: CHECK constraint ck_messages_content failed',
    }),
  },
  {
    name: 'MariaDB 4025, German',
    error: serverError(
      4025,
      'ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE',
      '23000',
      'CONSTRAINT `ck_audit_entries_diff` fehlgeschlagen: `polystore`.`audit_entries`',
    ),
    expected: failure({ constraint: 'ck_audit_entries_diff', entity: 'audit', field: 'diff' }),
  },
  {
    name: 'MySQL 8 3819 ER_CHECK_CONSTRAINT_VIOLATED on ck_conversations_metadata',
    error: typeorm(check3819('ck_conversations_metadata')),
    expected: failure({
      constraint: 'ck_conversations_metadata',
      entity: 'conversation',
      field: 'metadata',
      message: 'mysql refused conversation.metadata: CHECK constraint ck_conversations_metadata failed',
    }),
  },
  {
    name: 'MySQL 8 3819 on a constraint the schema does not have',
    error: check3819('ck_users_handle'),
    expected: failure({
      constraint: 'ck_users_handle',
      entity: undefined,
      message: 'mysql refused the row: CHECK constraint ck_users_handle failed',
    }),
  },
  // Transaction conflicts: the transaction may run again.
  {
    name: '1213 ER_LOCK_DEADLOCK',
    error: typeorm(
      serverError(
        1213,
        'ER_LOCK_DEADLOCK',
        '40001',
        'Deadlock found when trying to get lock; try restarting transaction',
      ),
    ),
    expected: unavailable(1, true, 'MySQL aborted the transaction (deadlock)'),
  },
  {
    name: '3101 ER_TRANSACTION_ROLLBACK_DURING_COMMIT (Group Replication)',
    error: serverError(
      3101,
      'ER_TRANSACTION_ROLLBACK_DURING_COMMIT',
      '40000',
      'Plugin instructed the server to rollback the current transaction.',
    ),
    expected: unavailable(1, true),
  },
  // "Not now": 503 with Retry-After, not retried inside the request.
  {
    name: '1205 ER_LOCK_WAIT_TIMEOUT',
    error: serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', 'HY000', 'Lock wait timeout exceeded; try restarting transaction'),
    expected: unavailable(2, false, 'MySQL is unavailable (1205 ER_LOCK_WAIT_TIMEOUT)'),
  },
  {
    name: '1040 ER_CON_COUNT_ERROR',
    error: serverError(1040, 'ER_CON_COUNT_ERROR', '08004', 'Too many connections'),
    expected: unavailable(2, false),
  },
  {
    name: '1053 ER_SERVER_SHUTDOWN',
    error: serverError(1053, 'ER_SERVER_SHUTDOWN', '08S01', 'Server shutdown in progress'),
    expected: unavailable(2, false),
  },
  {
    name: '1290 on MySQL 8 with super_read_only (a primary demoted by failover)',
    error: typeorm(
      serverError(
        1290,
        'ER_OPTION_PREVENTS_STATEMENT',
        'HY000',
        'The MySQL server is running with the --super-read-only option so it cannot execute this statement',
        INSERT_USER,
      ),
    ),
    expected: unavailable(2, false, 'MySQL is unavailable (1290 ER_OPTION_PREVENTS_STATEMENT)'),
  },
  {
    name: '1290 on MariaDB with read_only',
    error: serverError(
      1290,
      'ER_OPTION_PREVENTS_STATEMENT',
      'HY000',
      'The MariaDB server is running with the --read-only option so it cannot execute this statement',
    ),
    expected: unavailable(2, false),
  },
  {
    name: '1317 ER_QUERY_INTERRUPTED',
    error: serverError(1317, 'ER_QUERY_INTERRUPTED', '70100', 'Query execution was interrupted'),
    expected: unavailable(2, false),
  },
  {
    name: '3024 ER_QUERY_TIMEOUT (MySQL max_execution_time)',
    error: serverError(
      3024,
      'ER_QUERY_TIMEOUT',
      'HY000',
      'Query execution was interrupted, maximum statement execution time exceeded',
    ),
    expected: unavailable(2, false),
  },
  {
    name: '1969 ER_STATEMENT_TIMEOUT (MariaDB max_statement_time; mysql2 has no name for it)',
    error: serverError(1969, undefined, '70100', 'Query execution was interrupted (max_statement_time exceeded)'),
    expected: unavailable(2, false, 'MySQL is unavailable (1969 ER_STATEMENT_TIMEOUT)'),
  },
  {
    name: '4031 ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8 dropped an idle connection)',
    error: Object.assign(
      serverError(
        4031,
        'ER_CLIENT_INTERACTION_TIMEOUT',
        'HY000',
        'The client was disconnected by the server because of inactivity.' +
          ' See wait_timeout and interactive_timeout for configuring this behavior.',
      ),
      { fatal: true },
    ),
    expected: unavailable(2, false, 'MySQL is unavailable (4031 ER_CLIENT_INTERACTION_TIMEOUT)'),
  },
  {
    name: 'PROTOCOL_CONNECTION_LOST',
    error: typeorm(clientError('PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.')),
    expected: unavailable(2, false, 'MySQL is unavailable (PROTOCOL_CONNECTION_LOST)'),
  },
  {
    name: 'PROTOCOL_SEQUENCE_TIMEOUT (mysql2 query timeout)',
    error: clientError('PROTOCOL_SEQUENCE_TIMEOUT', 'Query inactivity timeout'),
    expected: unavailable(2, false),
  },
  { name: 'POOL_CLOSED', error: clientError('POOL_CLOSED', 'Pool is closed.'), expected: unavailable(2, false) },
  {
    name: 'a command on a connection that just closed (no code at all)',
    error: clientError(undefined, "Can't add new command when connection is in closed state"),
    expected: unavailable(2, false, 'MySQL is unavailable (connection closed)'),
  },
  {
    name: 'ECONNREFUSED (Node errno -111 is not a server number)',
    error: Object.assign(socketError('ECONNREFUSED', -111, 'connect', 'connect ECONNREFUSED 127.0.0.1:3306'), {
      fatal: true,
    }),
    expected: unavailable(2, false, 'MySQL is unavailable (ECONNREFUSED)'),
  },
  {
    name: 'ETIMEDOUT',
    error: Object.assign(socketError('ETIMEDOUT', -110, 'connect', 'connect ETIMEDOUT'), { fatal: true }),
    expected: unavailable(2, false),
  },
  {
    name: 'ECONNRESET',
    error: socketError('ECONNRESET', -104, 'read', 'read ECONNRESET'),
    expected: unavailable(2, false),
  },
  // Anything else is a bug: a 500 with the number and a name only where the name is right.
  {
    name: "1064 ER_PARSE_ERROR keeps mysql2's name (shared numbers are below 1900)",
    error: typeorm(serverError(1064, 'ER_PARSE_ERROR', '42000', SYNTAX)),
    expected: failure({ message: `mysql query failed (1064 ER_PARSE_ERROR): ${SYNTAX}` }),
  },
  {
    name: "a MariaDB-only number is not given mysql2's MySQL name",
    error: serverError(4078, 'ER_REGEXP_MISSING_FILE', 'HY000', ILLEGAL),
    expected: failure({ message: `mysql query failed (4078): ${ILLEGAL}` }),
  },
  {
    name: '1048 ER_BAD_NULL_ERROR',
    error: serverError(1048, 'ER_BAD_NULL_ERROR', '23000', "Column 'handle' cannot be null"),
    expected: failure({ message: "mysql query failed (1048 ER_BAD_NULL_ERROR): Column 'handle' cannot be null" }),
  },
];

describe('mapMysqlError', () => {
  it.each(rows)('$name', ({ error, expected }) => {
    expectTranslated(mapMysqlError(error), error, expected);
  });

  it('passes domain errors through', () => {
    const error = new NotFoundError('message', 'm1');
    expect(mapMysqlError(error)).toEqual({ error, retryable: false });
  });
});

// ---------------------------------------------------------------------------------------------
// The same rows against real servers: errors provoked on the migrated schema, mapped as they come.

for (const kind of ['mariadb', 'mysql'] as const) {
  const server = serverFor(kind);
  if (!('url' in server)) console.warn(`[polystore tests] real ${kind} errors SKIPPED: ${server.skip}`);

  describe.skipIf(!('url' in server))(`mapMysqlError on errors from a real ${kind}`, () => {
    const database = `ps_errors_${process.pid}_${Date.now().toString(36)}`;
    let admin: mysql.Connection;
    let client: mysql.Connection;
    let other: mysql.Connection;
    const now = new Date();

    const connect = async () => {
      const url = new URL((server as { url: string }).url);
      url.pathname = `/${database}`;
      const c = await mysql.createConnection({ uri: url.toString(), timezone: 'Z' });
      c.on('error', () => undefined);
      return c;
    };

    /** Runs a statement that must fail, and hands back its error as TypeORM would. */
    async function failing(sql: string, params: unknown[] = [], on: mysql.Connection = client) {
      try {
        await on.query(sql, params);
      } catch (error) {
        expect(error).toHaveProperty('errno');
        return viaTypeorm(error as Error, sql, params);
      }
      throw new Error(`expected to fail: ${sql}`);
    }

    beforeAll(async () => {
      admin = await mysql.createConnection((server as { url: string }).url);
      await admin.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      client = await connect();
      other = await connect();
      const runner = { query: (sql: string) => client.query(sql) } as unknown as QueryRunner;
      for (const Migration of MYSQL_MIGRATIONS) await new Migration().up(runner);
      await client.query(INSERT_USER, ['u1', 'ada', 'Ada', now, now, 1]);
      await client.query(
        `INSERT INTO conversations
           (id, title, metadata, created_by, created_at, updated_at, activity_at, message_count, version)
         VALUES ('c1', NULL, '{}', 'u1', ?, ?, ?, 0, 1)`,
        [now, now, now],
      );
      await client.query(INSERT_PARTICIPANT, ['c1', 'u1', 'owner', now]);
      await client.query(INSERT_MESSAGE, ['m1', 'c1', 'u1', 'user', '[]', '{}', 'k1', now]);
    });

    afterAll(async () => {
      await client?.end();
      await other?.end();
      if (admin) {
        await admin.query(`DROP DATABASE IF EXISTS ${database}`);
        await admin.end();
      }
    });

    it('a taken handle, user id, participant and clientMessageId', async () => {
      const cases = [
        [INSERT_USER, ['u2', 'ada', 'Ada', now, now, 1], duplicate('user', 'handle')],
        [INSERT_USER, ['u1', 'grace', 'Grace', now, now, 1], duplicate('user', 'id')],
        [INSERT_PARTICIPANT, ['c1', 'u1', 'member', now], duplicate('participant', 'userId')],
        [INSERT_MESSAGE, ['m2', 'c1', 'u1', 'user', '[]', '{}', 'k1', now], duplicate('message', 'clientMessageId')],
        [INSERT_MESSAGE, ['m1', 'c1', 'u1', 'user', '[]', '{}', null, now], duplicate('message', 'id')],
      ] as const;
      for (const [sql, params, expected] of cases) {
        const error = await failing(sql, [...params]);
        expectTranslated(mapMysqlError(error), error, expected);
      }
    });

    it('a message for a conversation that does not exist', async () => {
      const error = await failing(INSERT_MESSAGE, ['m3', 'c404', 'u1', 'user', '[]', '{}', null, now]);
      expectTranslated(mapMysqlError(error), error, notFound('conversation', 'unknown'));
    });

    it('a CHECK constraint refusing text that is not JSON', async () => {
      const error = await failing(INSERT_MESSAGE, ['m4', 'c1', 'u1', 'user', 'not json', '{}', null, now]);
      expect(error).toMatchObject({ errno: kind === 'mariadb' ? 4025 : 3819 });
      const expected = failure({
        constraint: 'ck_messages_content',
        entity: 'message',
        field: 'content',
        message: 'mysql refused message.content: CHECK constraint ck_messages_content failed',
      });
      expectTranslated(mapMysqlError(error), error, expected);
      const metadata = await failing("UPDATE conversations SET metadata = '{' WHERE id = 'c1'");
      expectTranslated(mapMysqlError(metadata), metadata, failure({ entity: 'conversation', field: 'metadata' }));
    });

    it('the same in German and Japanese (lc_messages)', async () => {
      try {
        await client.query("SET lc_messages = 'de_DE'");
        const taken = await failing(INSERT_USER, ['u2', 'ada', 'Ada', now, now, 1]);
        expect(taken.message).toMatch(/Doppelter Eintrag/);
        expectTranslated(mapMysqlError(taken), taken, duplicate('user', 'handle'));
        const primary = await failing(INSERT_USER, ['u1', 'grace', 'Grace', now, now, 1]);
        expectTranslated(mapMysqlError(primary), primary, duplicate('user', 'id'));
        const check = await failing(INSERT_MESSAGE, ['m4', 'c1', 'u1', 'user', 'not json', '{}', null, now]);
        expectTranslated(mapMysqlError(check), check, failure({ entity: 'message', field: 'content' }));
        await client.query("SET lc_messages = 'ja_JP'");
        const japanese = await failing(INSERT_MESSAGE, ['m2', 'c1', 'u1', 'user', '[]', '{}', 'k1', now]);
        expectTranslated(mapMysqlError(japanese), japanese, duplicate('message', 'clientMessageId'));
      } finally {
        await client.query("SET lc_messages = 'en_US'");
      }
    });

    it('a unique key the schema does not have', async () => {
      await client.query('CREATE TABLE probe (x INT NOT NULL, CONSTRAINT uq_probe_x UNIQUE KEY (x))');
      await client.query('INSERT INTO probe VALUES (1)');
      const error = await failing('INSERT INTO probe VALUES (1)');
      // MariaDB reports the key alone, MySQL 8 as `probe.uq_probe_x`.
      const expected = failure({ constraint: expect.stringMatching(/^(probe\.)?uq_probe_x$/) });
      expectTranslated(mapMysqlError(error), error, expected);
    });

    it.runIf(kind === 'mariadb')('max_statement_time', async () => {
      await client.query('SET SESSION max_statement_time = 0.05');
      try {
        const error = await failing('SELECT SLEEP(2) FROM users');
        const expected = unavailable(2, false, 'MySQL is unavailable (1969 ER_STATEMENT_TIMEOUT)');
        expectTranslated(mapMysqlError(error), error, expected);
      } finally {
        await client.query('SET SESSION max_statement_time = 0');
      }
    });

    it('a deadlock is retryable', async () => {
      await client.query(INSERT_USER, ['u3', 'lin', 'Lin', now, now, 1]);
      await client.query('BEGIN');
      await other.query('BEGIN');
      try {
        await client.query("UPDATE users SET version = 2 WHERE id = 'u1'");
        await other.query("UPDATE users SET version = 2 WHERE id = 'u3'");
        const results = await Promise.allSettled([
          client.query("UPDATE users SET version = 3 WHERE id = 'u3'"),
          other.query("UPDATE users SET version = 3 WHERE id = 'u1'"),
        ]);
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect(rejected[0]!.reason).toMatchObject({ errno: 1213 });
        expectTranslated(mapMysqlError(rejected[0]!.reason), rejected[0]!.reason, unavailable(1, true));
      } finally {
        await client.query('ROLLBACK');
        await other.query('ROLLBACK');
      }
    });
  });
}

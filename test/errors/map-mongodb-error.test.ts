import '../support/provided-context.js';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoClientClosedError,
  MongoError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type BulkWriteResult,
  type Db,
  type TopologyDescription,
  type WriteError,
} from 'mongodb';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMessageDoc, toUserDoc } from '../../database/mongodb/document-mapper.js';
import { duplicateField, isDuplicateKey, mapMongoError } from '../../database/mongodb/map-mongodb-error.js';
import { MONGODB_MIGRATIONS } from '../../migrations/mongodb/index.js';
import {
  DuplicateError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
  type EntityName,
} from '../../src/domain/errors.js';
import { toHttpFailure } from '../../src/http/errors.js';
import { newMessage, newUser } from '../contract/fixtures.js';
import { uniqueDatabaseName, withDatabase } from '../support/initializers/mongodb.js';
import { serverFor } from '../support/initializer.js';

/** The driver's WriteError class, which it does not export at run time (only its type). */
const { WriteError: WriteErrorClass } = createRequire(import.meta.url)('mongodb/lib/bulk/common.js') as {
  WriteError: new (err: object) => WriteError;
};

const E11000 = (ns: string, index: string, dupKey: string) =>
  `E11000 duplicate key error collection: ${ns} index: ${index} dup key: ${dupKey}`;

const HANDLE_TAKEN = E11000('polystore.users', 'users_handle_unique', '{ handle: "ada" }');
const EMAIL_TAKEN = E11000('polystore.users', 'users_email_unique', '{ email: "a@b" }');

/** What insertOne/updateOne throw: the server's write error, keyPattern and keyValue included. */
const serverDuplicate = (errmsg: string, keyPattern?: object, keyValue?: object) =>
  new MongoServerError({ index: 0, code: 11000, errmsg, ...(keyPattern ? { keyPattern, keyValue } : {}) });

/**
 * What insertMany and bulkWrite throw: a MongoBulkWriteError whose WriteErrors the driver built
 * from code, index, errmsg and op only; the server's keyPattern does not reach them.
 */
function bulkDuplicate(...errmsgs: string[]): MongoBulkWriteError {
  const writeErrors = errmsgs.map((errmsg, index) => new WriteErrorClass({ index, code: 11000, errmsg, op: {} }));
  const message = errmsgs[0] ?? 'write operation failed';
  return new MongoBulkWriteError({ message, code: 11000, writeErrors }, {} as BulkWriteResult);
}

/** A single write's error with another code than 11000. */
const serverDuplicateLike = (code: number, errmsg: string) => new MongoServerError({ index: 0, code, errmsg });

/** A bulk write whose first write error has `code`. */
function bulkError(code: number, errmsg: string): MongoBulkWriteError {
  const writeErrors = [new WriteErrorClass({ index: 0, code, errmsg, op: {} })];
  return new MongoBulkWriteError({ message: errmsg, code, writeErrors }, {} as BulkWriteResult);
}

const serverError = (code: number, codeName: string, errmsg: string, errorLabels?: string[]) =>
  new MongoServerError({ ok: 0, code, codeName, errmsg, ...(errorLabels ? { errorLabels } : {}) });

type Expected =
  | { type: 'duplicate'; entity: EntityName; field: string }
  | { type: 'too-large'; entity: EntityName; field: string }
  | { type: 'unavailable'; retryAfterSeconds: number }
  /** Returned unchanged: the HTTP layer answers it with the internal 500. */
  | { type: 'unchanged' };

const dupe = (entity: EntityName, field: string): Expected => ({ type: 'duplicate', entity, field });
const unavailable = (retryAfterSeconds: number): Expected => ({ type: 'unavailable', retryAfterSeconds });
const tooLarge = (entity: EntityName, field: string): Expected => ({ type: 'too-large', entity, field });
const UNCHANGED: Expected = { type: 'unchanged' };

interface Row {
  name: string;
  error: unknown;
  /** The entity of the repository whose call failed (the fallback when errmsg names no collection). */
  entity: EntityName;
  expected: Expected;
}

function expectMapped(mapped: unknown, original: unknown, expected: Expected): void {
  const http = toHttpFailure(mapped);
  switch (expected.type) {
    case 'duplicate':
      expect(mapped).toBeInstanceOf(DuplicateError);
      expect(mapped).toMatchObject({ entity: expected.entity, field: expected.field, code: 'conflict' });
      expect([http.status, http.code]).toEqual([409, 'conflict']);
      break;
    case 'too-large':
      expect(mapped).toBeInstanceOf(TooLargeError);
      expect(mapped).toMatchObject({ entity: expected.entity, field: expected.field });
      expect([http.status, http.code]).toEqual([413, 'payload_too_large']);
      expect(http.details).toEqual({ entity: expected.entity, field: expected.field });
      break;
    case 'unavailable':
      expect(mapped).toBeInstanceOf(UnavailableError);
      expect(mapped).toMatchObject({ retryAfterSeconds: expected.retryAfterSeconds, cause: original });
      expect([http.status, http.code]).toEqual([503, 'unavailable']);
      expect(http.headers).toEqual({ 'retry-after': String(expected.retryAfterSeconds) });
      break;
    case 'unchanged':
      expect(mapped).toBe(original);
      expect([http.status, http.code]).toEqual([500, 'internal']);
  }
}

const rows: Row[] = [
  // Single writes: the server's keyPattern decides the field, errmsg's collection the entity.
  {
    name: 'insertOne: users_handle_unique with keyPattern',
    error: serverDuplicate(HANDLE_TAKEN, { handle: 1 }, { handle: 'ada' }),
    entity: 'user',
    expected: dupe('user', 'handle'),
  },
  {
    name: 'insertOne: _id_ on users',
    error: serverDuplicate(E11000('polystore.users', '_id_', '{ _id: "u1" }'), { _id: 1 }, { _id: 'u1' }),
    entity: 'user',
    expected: dupe('user', 'id'),
  },
  {
    name: 'insertOne: messages_client_message_unique with keyPattern',
    error: serverDuplicate(
      E11000('polystore.messages', 'messages_client_message_unique', '{ conversationId: "c1", clientMessageId: "k1" }'),
      { conversationId: 1, clientMessageId: 1 },
      { conversationId: 'c1', clientMessageId: 'k1' },
    ),
    entity: 'message',
    expected: dupe('message', 'clientMessageId'),
  },
  {
    name: "the entity comes from errmsg's collection, not from the repository",
    error: serverDuplicate(E11000('polystore.messages', '_id_', '{ _id: "m1" }'), { _id: 1 }, { _id: 'm1' }),
    entity: 'conversation',
    expected: dupe('message', 'id'),
  },
  {
    name: 'a collection errmsg does not name: the repository entity',
    error: serverDuplicate('E11000 duplicate key error', { _id: 1 }, { _id: 'c1' }),
    entity: 'conversation',
    expected: dupe('conversation', 'id'),
  },
  {
    name: 'a collection that is not ours: the repository entity',
    error: serverDuplicate(E11000('polystore.sessions', '_id_', '{ _id: "s1" }'), { _id: 1 }, { _id: 's1' }),
    entity: 'audit',
    expected: dupe('audit', 'id'),
  },
  {
    name: 'an old server without keyPattern: the index name in errmsg',
    error: serverDuplicate(E11000('polystore.users', 'users_handle_unique', '{ : "ada" }')),
    entity: 'user',
    expected: dupe('user', 'handle'),
  },
  // Bulk writes (driver v7): no keyPattern on the WriteError, so the index name in errmsg.
  {
    name: 'insertMany: users_handle_unique from errmsg',
    error: bulkDuplicate(E11000('polystore.users', 'users_handle_unique', '{ handle: "ada" }')),
    entity: 'user',
    expected: dupe('user', 'handle'),
  },
  {
    name: 'insertMany: _id_ from errmsg',
    error: bulkDuplicate(E11000('polystore.audit', '_id_', '{ _id: "a1" }')),
    entity: 'audit',
    expected: dupe('audit', 'id'),
  },
  {
    name: 'insertMany: messages_client_message_unique from errmsg, first of several write errors',
    error: bulkDuplicate(
      E11000('polystore.messages', 'messages_client_message_unique', '{ conversationId: "c1", clientMessageId: "k1" }'),
      E11000('polystore.messages', '_id_', '{ _id: "m2" }'),
    ),
    entity: 'message',
    expected: dupe('message', 'clientMessageId'),
  },
  // An index the schema does not have: no field is invented; the error goes on unchanged (a 500).
  {
    name: 'insertMany: an index that is not ours',
    error: bulkDuplicate(EMAIL_TAKEN),
    entity: 'user',
    expected: UNCHANGED,
  },
  {
    name: 'insertOne: a keyPattern that is not ours',
    error: serverDuplicate(EMAIL_TAKEN, { email: 1 }, { email: 'a@b' }),
    entity: 'user',
    expected: UNCHANGED,
  },
  {
    name: "a keyPattern with our index's keys in another order is not that index",
    error: serverDuplicate(E11000('polystore.messages', 'other', '{ … }'), { clientMessageId: 1, conversationId: 1 }),
    entity: 'message',
    expected: UNCHANGED,
  },
  {
    name: 'errmsg with no index at all',
    error: bulkDuplicate('E11000 duplicate key error'),
    entity: 'user',
    expected: UNCHANGED,
  },
  // A document over 16 MiB: a 413 naming what of the entity grew.
  {
    name: '2 BadValue "object to insert too large" (insertOne)',
    error: serverDuplicateLike(2, 'object to insert too large. size in bytes: 16777300, max size: 16777216'),
    entity: 'message',
    expected: tooLarge('message', 'content'),
  },
  {
    name: '2 BadValue "object to insert too large" (insertMany)',
    error: bulkError(2, 'object to insert too large. size in bytes: 16777300, max size: 16777216'),
    entity: 'message',
    expected: tooLarge('message', 'content'),
  },
  {
    name: '10334 BSONObjectTooLarge: an update whose result is over 16 MiB',
    error: serverError(
      10334,
      'BSONObjectTooLarge',
      'Plan executor error during findAndModify :: caused by :: Resulting document after update is larger than 16777216',
    ),
    entity: 'participant',
    expected: tooLarge('participant', 'participants'),
  },
  {
    name: '17419 (older servers): an update whose result is over 16 MiB',
    error: serverError(17419, 'Location17419', 'Resulting document after update is larger than 16777216'),
    entity: 'conversation',
    expected: tooLarge('conversation', 'participants'),
  },
  {
    name: "the driver's own refusal of a bulk document over 16 MiB",
    error: new MongoInvalidArgumentError('Document is larger than the maximum size 16777216'),
    entity: 'audit',
    expected: tooLarge('audit', 'diff'),
  },
  // "Not now": failover, shutdown, timeouts, a closed client.
  {
    name: 'MongoServerSelectionError',
    error: new MongoServerSelectionError('Server selection timed out after 5000 ms', {
      type: 'ReplicaSetNoPrimary',
      servers: new Map(),
      error: null,
    } as unknown as TopologyDescription),
    entity: 'user',
    expected: unavailable(2),
  },
  {
    name: 'MongoNetworkError',
    error: new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed'),
    entity: 'user',
    expected: unavailable(2),
  },
  {
    name: 'MongoNetworkTimeoutError',
    error: new MongoNetworkTimeoutError('connection 3 to 127.0.0.1:27017 timed out'),
    entity: 'message',
    expected: unavailable(2),
  },
  {
    name: 'MongoNotConnectedError',
    error: new MongoNotConnectedError('Client must be connected'),
    entity: 'user',
    expected: unavailable(2),
  },
  { name: 'MongoTopologyClosedError', error: new MongoTopologyClosedError(), entity: 'user', expected: unavailable(2) },
  { name: 'MongoClientClosedError', error: new MongoClientClosedError(), entity: 'user', expected: unavailable(2) },
  {
    name: '10107 NotWritablePrimary',
    error: serverError(10107, 'NotWritablePrimary', 'not primary'),
    entity: 'user',
    expected: unavailable(1),
  },
  {
    name: '91 ShutdownInProgress',
    error: serverError(91, 'ShutdownInProgress', 'The server is in quiesce mode and will shut down'),
    entity: 'user',
    expected: unavailable(1),
  },
  {
    name: '189 PrimarySteppedDown',
    error: serverError(189, 'PrimarySteppedDown', 'Primary stepped down'),
    entity: 'user',
    expected: unavailable(1),
  },
  {
    name: '11602 InterruptedDueToReplStateChange',
    error: serverError(11602, 'InterruptedDueToReplStateChange', 'operation was interrupted'),
    entity: 'user',
    expected: unavailable(1),
  },
  {
    name: '50 MaxTimeMSExpired',
    error: serverError(50, 'MaxTimeMSExpired', 'operation exceeded time limit'),
    entity: 'message',
    expected: unavailable(1),
  },
  {
    name: '112 WriteConflict',
    error: serverError(112, 'WriteConflict', 'Write conflict during plan execution and yielding is disabled.'),
    entity: 'conversation',
    expected: unavailable(1),
  },
  {
    name: '251 NoSuchTransaction labelled TransientTransactionError',
    error: serverError(251, 'NoSuchTransaction', 'Transaction with { txnNumber: 3 } has been aborted.', [
      'TransientTransactionError',
    ]),
    entity: 'conversation',
    expected: unavailable(1),
  },
  // Anything else goes on unchanged: a 500.
  {
    name: '121 DocumentValidationFailure',
    error: serverError(121, 'DocumentValidationFailure', 'Document failed validation'),
    entity: 'message',
    expected: UNCHANGED,
  },
  {
    name: '2 BadValue about something else',
    error: serverError(2, 'BadValue', 'unknown operator: $foo'),
    entity: 'user',
    expected: UNCHANGED,
  },
  { name: 'a MongoError of the driver', error: new MongoError('something odd'), entity: 'user', expected: UNCHANGED },
  { name: 'a plain Error', error: new Error('boom'), entity: 'user', expected: UNCHANGED },
];

describe('mapMongoError', () => {
  it.each(rows)('$name', ({ error, entity, expected }) => {
    expectMapped(mapMongoError(error, entity), error, expected);
  });

  it('passes domain errors through', () => {
    const error = new NotFoundError('conversation', 'c1');
    expect(mapMongoError(error, 'message')).toBe(error);
  });

  it('isDuplicateKey and duplicateField read single and bulk errors alike', () => {
    const bulk = bulkDuplicate(E11000('polystore.users', 'users_handle_unique', '{ handle: "ada" }'));
    const single = serverDuplicate(E11000('polystore.users', '_id_', '{ _id: "u1" }'), { _id: 1 });
    const other = serverError(2, 'BadValue', 'x');
    expect([isDuplicateKey(bulk), isDuplicateKey(single), isDuplicateKey(other)]).toEqual([true, true, false]);
    expect([duplicateField(bulk), duplicateField(single)]).toEqual(['handle', 'id']);
    expect(duplicateField(bulkDuplicate(EMAIL_TAKEN))).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The real driver on whatever server this run has (a real MongoDB, or the wire-protocol emulator):
// errors built by the driver itself from the server's replies, mapped as they come.

const server = serverFor('mongodb');
if (!('url' in server)) console.warn(`[polystore tests] MongoDB driver errors SKIPPED: ${server.skip}`);
const source = 'url' in server ? server.source : 'none';

describe.skipIf(!('url' in server))(`mapMongoError on errors from the real driver (${source})`, () => {
  let client: MongoClient;
  let db: Db;
  const ada = newUser({ id: 'u1', handle: 'ada' });
  const posted = newMessage('c1', 'u1', { id: 'm1', clientMessageId: 'k1' });

  beforeAll(async () => {
    const name = uniqueDatabaseName();
    client = new MongoClient(withDatabase((server as { url: string }).url, name), { serverSelectionTimeoutMS: 5000 });
    await client.connect();
    db = client.db(name);
    for (const migration of MONGODB_MIGRATIONS) await migration.up(db);
    await db.collection('users').insertOne(toUserDoc(ada) as never);
    await db.collection('messages').insertOne(toMessageDoc(posted) as never);
  });

  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
  });

  async function failing(write: () => Promise<unknown>): Promise<unknown> {
    try {
      await write();
    } catch (error) {
      return error;
    }
    throw new Error('expected the write to fail');
  }

  it('insertOne of a taken handle and a taken _id', async () => {
    const users = db.collection('users');
    const handle = await failing(() => users.insertOne(toUserDoc(newUser({ id: 'u2', handle: 'ada' })) as never));
    expect(handle).toBeInstanceOf(MongoServerError);
    expectMapped(mapMongoError(handle, 'user'), handle, dupe('user', 'handle'));
    const id = await failing(() => users.insertOne(toUserDoc(newUser({ id: 'u1', handle: 'grace' })) as never));
    expectMapped(mapMongoError(id, 'user'), id, dupe('user', 'id'));
  });

  it('insertMany of a repeated clientMessageId and a taken handle (MongoBulkWriteError)', async () => {
    const again = newMessage('c1', 'u1', { id: 'm2', clientMessageId: 'k1' });
    const message = await failing(() => db.collection('messages').insertMany([toMessageDoc(again) as never]));
    expect(message).toBeInstanceOf(MongoBulkWriteError);
    // Driver v7 drops the server's keyPattern from bulk write errors: the index name in errmsg decides.
    const first = [(message as MongoBulkWriteError).writeErrors].flat()[0]!;
    expect((first.err as { keyPattern?: unknown }).keyPattern).toBeUndefined();
    expect(first.errmsg).toContain('index: messages_client_message_unique');
    expectMapped(mapMongoError(message, 'conversation'), message, dupe('message', 'clientMessageId'));
    const users = [newUser({ id: 'u3', handle: 'lin' }), newUser({ id: 'u4', handle: 'ada' })].map(toUserDoc);
    const bulk = await failing(() => db.collection('users').insertMany(users as never[], { ordered: false }));
    expect(bulk).toBeInstanceOf(MongoBulkWriteError);
    expectMapped(mapMongoError(bulk, 'user'), bulk, dupe('user', 'handle'));
  });

  it('a unique index the schema does not have', async () => {
    const probe = db.collection<{ _id: string; x: number }>('probe');
    await probe.createIndex({ x: 1 }, { name: 'probe_x_unique', unique: true });
    await probe.insertOne({ _id: 'p1', x: 1 });
    const error = await failing(() => probe.insertOne({ _id: 'p2', x: 1 }));
    expect(isDuplicateKey(error)).toBe(true);
    expectMapped(mapMongoError(error, 'user'), error, UNCHANGED);
    const bulk = await failing(() => probe.insertMany([{ _id: 'p3', x: 1 }]));
    expectMapped(mapMongoError(bulk, 'user'), bulk, UNCHANGED);
  });

  it('an insert over 16 MiB, and an update growing a document past it', async () => {
    const big = db.collection<{ _id: string; a?: string; b?: string }>('big');
    const insert = await failing(() => big.insertOne({ _id: 'x', a: 'x'.repeat(16 * 1024 * 1024) }));
    expectMapped(mapMongoError(insert, 'message'), insert, tooLarge('message', 'content'));
    await big.insertOne({ _id: 'y', a: 'y'.repeat(9 * 1024 * 1024) });
    const update = await failing(() => big.updateOne({ _id: 'y' }, { $set: { b: 'z'.repeat(8 * 1024 * 1024) } }));
    expectMapped(mapMongoError(update, 'conversation'), update, tooLarge('conversation', 'participants'));
    const bulk = await failing(() => big.insertMany([{ _id: 'w', a: 'w'.repeat(16 * 1024 * 1024) }]));
    expectMapped(mapMongoError(bulk, 'audit'), bulk, tooLarge('audit', 'diff'));
  }, 60_000);

  it('no server to select', async () => {
    const nowhere = new MongoClient('mongodb://127.0.0.1:9/?directConnection=true', { serverSelectionTimeoutMS: 200 });
    const error = await failing(() => nowhere.connect());
    expect(error).toBeInstanceOf(MongoServerSelectionError);
    expectMapped(mapMongoError(error, 'user'), error, unavailable(2));
    await nowhere.close();
  });
});

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { deserialize, serialize } from 'bson';
import { MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandEvent } from '../support/mongo-emulator/engine.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';
import { OP_MSG, OP_QUERY, OP_REPLY } from '../support/mongo-emulator/wire.js';

/**
 * Fidelity of the wire-protocol emulator: what the real driver sees must be what a MongoDB server
 * would send for the commands the adapter uses, and anything else must fail loudly.
 */

let emulator: RunningEmulator;
let client: MongoClient;
let dbCounter = 0;
const freshDb = () => client.db(`emulator_test_${++dbCounter}`);

/** Records the commands the emulator receives while `fn` runs. */
async function recorded(fn: () => Promise<unknown>): Promise<CommandEvent[]> {
  const events: CommandEvent[] = [];
  const stop = emulator.onCommand((e) => events.push(e));
  try {
    await fn();
  } finally {
    stop();
  }
  return events;
}

beforeAll(async () => {
  emulator = await startMongoEmulator();
  client = new MongoClient(emulator.url, { serverSelectionTimeoutMS: 2000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await emulator?.stop();
});

/** Sends one raw message and reads one raw reply. */
function roundTrip(port: number, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(message));
    let data = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 4 && data.length >= data.readInt32LE(0)) {
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', reject);
  });
}

function header(length: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(42, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

describe('MongoDB wire-protocol emulator (test support; not MongoDB)', () => {
  it('completes the driver handshake and reports itself as a standalone server of wire version 21', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    expect(hello).toMatchObject({
      isWritablePrimary: true,
      helloOk: true,
      minWireVersion: 0,
      maxWireVersion: 21,
      logicalSessionTimeoutMinutes: 30,
      ok: 1,
    });
    expect(hello.setName).toBeUndefined();
    const build = await client.db('admin').command({ buildInfo: 1 });
    expect(build.gitVersion).toContain('not MongoDB');
  });

  it('answers a legacy OP_QUERY isMaster with an OP_REPLY, as drivers send for the first hello', async () => {
    const body = Buffer.from(serialize({ isMaster: 1, helloOk: true }));
    const name = Buffer.from('admin.$cmd\0');
    // flags, fullCollectionName, numberToSkip 0, numberToReturn -1, query
    const query = Buffer.concat([Buffer.alloc(4), name, Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), body]);
    const reply = await roundTrip(emulator.port, Buffer.concat([header(16 + query.length, OP_QUERY), query]));
    expect(reply.readInt32LE(12)).toBe(OP_REPLY);
    expect(reply.readInt32LE(8)).toBe(42); // responseTo
    expect(reply.readInt32LE(32)).toBe(1); // numberReturned
    const doc = deserialize(reply.subarray(36));
    expect(doc).toMatchObject({ ismaster: true, helloOk: true, maxWireVersion: 21, ok: 1 });
  });

  it('merges OP_MSG document sequences (kind 1 sections) into the command', async () => {
    const target = `emulator_raw_${Date.now()}`;
    const body = Buffer.from(serialize({ insert: 'things', $db: target }));
    const docs = [
      { _id: 1, a: 'x' },
      { _id: 2, a: 'y' },
    ].map((d) => Buffer.from(serialize(d)));
    const identifier = Buffer.from('documents\0');
    const sequenceSize = Buffer.alloc(4);
    sequenceSize.writeInt32LE(4 + identifier.length + docs.reduce((n, d) => n + d.length, 0));
    const payload = Buffer.concat([
      Buffer.alloc(4),
      Buffer.from([0]),
      body,
      Buffer.from([1]),
      sequenceSize,
      identifier,
      ...docs,
    ]);
    const reply = await roundTrip(emulator.port, Buffer.concat([header(16 + payload.length, OP_MSG), payload]));
    expect(reply.readInt32LE(12)).toBe(OP_MSG);
    expect(deserialize(reply.subarray(21))).toMatchObject({ n: 2, ok: 1 });
    expect(await client.db(target).collection('things').find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, a: 'x' },
      { _id: 2, a: 'y' },
    ]);
  });

  it('receives the driver’s insertMany batches as document sequences', async () => {
    const events = await recorded(() =>
      freshDb()
        .collection('seq')
        .insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]),
    );
    const insert = events.find((e) => e.name === 'insert')!;
    expect(insert.wire).toEqual({ opCode: OP_MSG, sequences: ['documents'] });
    expect(insert.command.documents).toHaveLength(3);
  });

  it('refuses an unknown command with CommandNotFound, as a server does', async () => {
    const error = await client
      .db('admin')
      .command({ frobnicate: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error).toMatchObject({ code: 59, codeName: 'CommandNotFound', errmsg: "no such command: 'frobnicate'" });
    // Real commands the adapter never sends are not faked either.
    await expect(client.db('admin').command({ distinct: 'x', key: 'a' })).rejects.toMatchObject({
      codeName: 'CommandNotFound',
    });
  });

  it('enforces unique indexes with MongoDB’s duplicate-key error shape', async () => {
    const d = freshDb();
    const users = d.collection<{ _id: string; handle: string }>('users');
    await users.createIndex({ handle: 1 }, { unique: true, name: 'handle_unique' });
    await users.insertOne({ _id: 'a', handle: 'x' });
    const error = await users.insertOne({ _id: 'b', handle: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error).toMatchObject({
      code: 11000,
      codeName: 'DuplicateKey',
      errmsg: `E11000 duplicate key error collection: ${d.databaseName}.users index: handle_unique dup key: { handle: "x" }`,
      keyPattern: { handle: 1 },
      keyValue: { handle: 'x' },
    });
    await expect(users.insertOne({ _id: 'a', handle: 'y' })).rejects.toMatchObject({
      code: 11000,
      keyPattern: { _id: 1 },
      keyValue: { _id: 'a' },
    });
    // An update that would take the key fails the same way and changes nothing.
    await users.insertOne({ _id: 'c', handle: 'z' });
    await expect(users.updateOne({ _id: 'c' }, { $set: { handle: 'x' } })).rejects.toMatchObject({
      code: 11000,
      keyValue: { handle: 'x' },
    });
    expect(await users.findOne({ _id: 'c' })).toEqual({ _id: 'c', handle: 'z' });
    // Unordered batches report each failure in writeErrors, with its index, and write the rest.
    const bulk = await users
      .insertMany(
        [
          { _id: 'd', handle: 'x' },
          { _id: 'e', handle: 'e' },
          { _id: 'a', handle: 'f' },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    expect(bulk).toBeInstanceOf(MongoBulkWriteError);
    expect((bulk as MongoBulkWriteError).writeErrors).toHaveLength(2);
    expect([(bulk as MongoBulkWriteError).writeErrors].flat().map((w) => [w.index, w.code])).toEqual([
      [0, 11000],
      [2, 11000],
    ]);
    expect((await users.find().toArray()).map((u) => u._id)).toEqual(['a', 'c', 'e']);
  });

  it('applies compound partial unique indexes: absent or null keys never collide', async () => {
    const messages = freshDb().collection<{ _id: number; c: string; k: string | null }>('messages');
    await messages.createIndex({ c: 1, k: 1 }, { unique: true, partialFilterExpression: { k: { $type: 'string' } } });
    await messages.insertMany([
      { _id: 1, c: 'a', k: null },
      { _id: 2, c: 'a', k: null },
      { _id: 3, c: 'a', k: 'x' },
      { _id: 4, c: 'b', k: 'x' },
    ]);
    await expect(messages.insertOne({ _id: 5, c: 'a', k: 'x' })).rejects.toMatchObject({
      code: 11000,
      keyValue: { c: 'a', k: 'x' },
    });
  });

  it('hands out large results in batches through getMore, and kills abandoned cursors', async () => {
    const items = freshDb().collection<{ _id: number }>('items');
    await items.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i })));
    let all: { _id: number }[] = [];
    const events = await recorded(async () => {
      all = await items.find({}, { batchSize: 100 }).toArray();
    });
    expect(all.map((d) => d._id)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(events.filter((e) => e.name === 'find')).toHaveLength(1);
    expect(events.filter((e) => e.name === 'getMore')).toHaveLength(2);
    const killed = await recorded(async () => {
      const cursor = items.find({}, { batchSize: 10 });
      await cursor.next();
      await cursor.close();
    });
    expect(killed.map((e) => e.name)).toContain('killCursors');
    expect(emulator.engine.cursors.size).toBe(0);
  });

  it('sorts by several keys, strings in code-point order, then skips and limits', async () => {
    const words = freshDb().collection<{ _id: number; w: string; n: number }>('words');
    // U+FF5E sorts before U+1F600 by code point, though not by UTF-16 code unit.
    await words.insertMany([
      { _id: 1, w: '😀', n: 1 },
      { _id: 2, w: '～', n: 1 },
      { _id: 3, w: 'a', n: 2 },
      { _id: 4, w: 'B', n: 2 },
      { _id: 5, w: 'é', n: 1 },
    ]);
    const byWord = await words.find({}, { sort: { w: 1 } }).toArray();
    expect(byWord.map((d) => d.w)).toEqual(['B', 'a', 'é', '～', '😀']);
    const page = await words
      .find({}, { sort: { n: -1, w: -1 }, skip: 1, limit: 3, projection: { _id: 0, w: 1 } })
      .toArray();
    expect(page).toEqual([{ w: 'B' }, { w: '😀' }, { w: '～' }]);
  });

  it('runs findAndModify, upserts and update pipelines', async () => {
    const c = freshDb().collection<{ _id: string; n?: number; at?: Date | null; tags?: string[] }>('c');
    expect(
      await c.findOneAndUpdate(
        { _id: 'a' },
        { $setOnInsert: { tags: [] }, $inc: { n: 1 } },
        { upsert: true, returnDocument: 'after' },
      ),
    ).toEqual({ _id: 'a', n: 1, tags: [] });
    expect(
      await c.findOneAndUpdate(
        { _id: 'a' },
        { $inc: { n: 1 }, $push: { tags: 't' } },
        { returnDocument: 'before', projection: { n: 1 } },
      ),
    ).toEqual({ _id: 'a', n: 1 });
    await c.updateOne({ _id: 'a' }, [
      { $set: { n: { $add: ['$n', 10] }, at: { $max: [null, { $literal: new Date(5) }] } } },
    ]);
    expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 12, tags: ['t'], at: new Date(5) });
    await c.updateOne({ _id: 'a' }, { $pull: { tags: 't' } });
    expect((await c.findOne({ _id: 'a' }))!.tags).toEqual([]);
    expect(await c.findOneAndDelete({ _id: 'a' })).toMatchObject({ _id: 'a' });
    expect(await c.countDocuments()).toBe(0);
    await expect(c.updateOne({ _id: 'a' }, { $set: { n: 1 }, $inc: { n: 1 } }, { upsert: true })).rejects.toMatchObject(
      { codeName: 'ConflictingUpdateOperators' },
    );
    await expect(c.updateOne({}, { $frob: { n: 1 } } as never)).rejects.toMatchObject({ codeName: 'FailedToParse' });
  });

  it('enforces $jsonSchema validators and refuses server-side scripts', async () => {
    const d = freshDb();
    await d.createCollection('strict', {
      validator: { $jsonSchema: { bsonType: 'object', required: ['at'], properties: { at: { bsonType: 'date' } } } },
    });
    const strict = d.collection('strict');
    await strict.insertOne({ at: new Date() });
    await expect(strict.insertOne({ at: 'yesterday' })).rejects.toMatchObject({
      code: 121,
      codeName: 'DocumentValidationFailure',
    });
    await expect(strict.insertOne({})).rejects.toMatchObject({ code: 121 });
    await expect(d.createCollection('strict')).rejects.toMatchObject({ code: 48, codeName: 'NamespaceExists' });
    await expect(strict.find({ $where: 'true' }).toArray()).rejects.toMatchObject({ code: 2 });
  });

  it('binds only to loopback', async () => {
    await expect(startMongoEmulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('starts from the command line and says it is not MongoDB', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/mongo-emulator/main.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      expect(line).toMatch(
        /^MongoDB wire-protocol emulator \(not MongoDB\) listening on mongodb:\/\/127\.0\.0\.1:\d+$/,
      );
      const cli = new MongoClient(`${line.split(' ').at(-1)}/?directConnection=true`, {
        serverSelectionTimeoutMS: 2000,
      });
      try {
        expect(await cli.db('x').command({ ping: 1 })).toEqual({ ok: 1 });
      } finally {
        await cli.close();
      }
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});

describe('MongoDB wire-protocol emulator as a single-node replica set (transactions)', () => {
  let rs: RunningEmulator;
  let rsClient: MongoClient;

  beforeAll(async () => {
    rs = await startMongoEmulator({ replicaSet: 'rs0' });
    rsClient = new MongoClient(rs.url, { serverSelectionTimeoutMS: 2000 });
    await rsClient.connect();
  });

  afterAll(async () => {
    await rsClient?.close();
    await rs?.stop();
  });

  it('presents itself as the primary of its set', async () => {
    expect(await rsClient.db('admin').command({ hello: 1 })).toMatchObject({
      setName: 'rs0',
      isWritablePrimary: true,
      hosts: [`127.0.0.1:${rs.port}`],
    });
  });

  it('keeps a transaction’s writes invisible until commit, and drops them on abort', async () => {
    const c = rsClient.db('tx').collection<{ _id: string; n: number }>('c');
    const session = rsClient.startSession();
    try {
      session.startTransaction();
      await c.insertOne({ _id: 'a', n: 1 }, { session });
      expect(await c.findOne({ _id: 'a' }, { session })).toEqual({ _id: 'a', n: 1 });
      expect(await c.findOne({ _id: 'a' })).toBeNull();
      await session.commitTransaction();
      expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 1 });

      session.startTransaction();
      await c.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { session });
      await session.abortTransaction();
      expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 1 });
    } finally {
      await session.endSession();
    }
  });

  it('fails a second transaction writing the same document with a transient WriteConflict; withTransaction retries it', async () => {
    const c = rsClient.db('tx').collection<{ _id: string; n: number }>('conflict');
    await c.insertOne({ _id: 'x', n: 0 });
    const first = rsClient.startSession();
    const second = rsClient.startSession();
    try {
      first.startTransaction();
      await c.updateOne({ _id: 'x' }, { $inc: { n: 1 } }, { session: first });
      second.startTransaction();
      const conflict = await c
        .updateOne({ _id: 'x' }, { $inc: { n: 1 } }, { session: second })
        .catch((e: unknown) => e);
      expect(conflict).toMatchObject({ code: 112, codeName: 'WriteConflict' });
      expect((conflict as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
      await second.abortTransaction();
      // An autocommit write to the locked document waits for the transaction instead of failing.
      const waiting = c.updateOne({ _id: 'x' }, { $inc: { n: 10 } });
      await first.commitTransaction();
      await waiting;
      expect((await c.findOne({ _id: 'x' }))!.n).toBe(11);
      await Promise.all(
        Array.from({ length: 5 }, () =>
          rsClient.withSession((s) =>
            s.withTransaction(() => c.updateOne({ _id: 'x' }, { $inc: { n: 1 } }, { session: s })),
          ),
        ),
      );
      expect((await c.findOne({ _id: 'x' }))!.n).toBe(16);
    } finally {
      await first.endSession();
      await second.endSession();
    }
  });

  it('refuses transactions on a standalone server, as MongoDB does', async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      // The driver wraps the server's IllegalOperation in its own advice, exactly as against a standalone mongod.
      const error = await client
        .db('tx')
        .collection('c')
        .insertOne({ a: 1 }, { session })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        message: expect.stringMatching(/does not support retryable writes/),
        originalError: { code: 20, codeName: 'IllegalOperation' },
      });
    } finally {
      await session.abortTransaction().catch(() => undefined);
      await session.endSession();
    }
  });
});

import { calculateObjectSize, Long } from 'bson';
import { MongoClient, type MongoServerError, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';

/**
 * The emulator refuses what MongoDB refuses, so an adapter bug of these classes fails in CI
 * rather than on a real server: documents over 16 MiB, partial filters and $jsonSchema keywords
 * the server does not accept, unknown `create` options, and the server's numeric types through
 * `$inc` (int32 overflowing to int64, int64 overflow refused). Messages and codes are the server's.
 */

let emulator: RunningEmulator;
let client: MongoClient;
let counter = 0;
const freshDb = (): Db => client.db(`strict_${++counter}`);

beforeAll(async () => {
  emulator = await startMongoEmulator();
  client = new MongoClient(emulator.url, { serverSelectionTimeoutMS: 2000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await emulator?.stop();
});

const MiB = 1024 * 1024;
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the command to fail');
    },
    (error: unknown) => error as MongoServerError,
  );

describe('MongoDB wire-protocol emulator: document size (16 MiB)', () => {
  it('refuses an insert over 16 MiB with code 2, an update that grows past it with BSONObjectTooLarge', async () => {
    const c = freshDb().collection<{ _id: string; a?: string; b?: string }>('big');
    // 16 MiB exactly is allowed (maxBsonObjectSize), one byte more is not.
    const exactly = { _id: 'max', a: '' };
    exactly.a = 'x'.repeat(16 * MiB - calculateObjectSize(exactly));
    expect(calculateObjectSize(exactly)).toBe(16 * MiB);
    await c.insertOne(exactly);
    const insert = await failure(c.insertOne({ _id: 'over', a: 'x'.repeat(16 * MiB) }));
    expect(insert).toMatchObject({ code: 2, codeName: 'BadValue' });
    expect(insert.message).toMatch(/^object to insert too large\. size in bytes: \d+, max size: 16777216$/);
    expect(await c.countDocuments({ _id: 'over' })).toBe(0);

    await c.insertOne({ _id: 'grows', a: 'x'.repeat(9 * MiB) });
    const update = await failure(c.updateOne({ _id: 'grows' }, { $set: { b: 'y'.repeat(8 * MiB) } }));
    expect(update).toMatchObject({ code: 10334, codeName: 'BSONObjectTooLarge' });
    expect(update.message).toContain('Resulting document after update is larger than 16777216');
    const modify = await failure(c.findOneAndUpdate({ _id: 'grows' }, { $set: { b: 'y'.repeat(8 * MiB) } }));
    expect(modify).toMatchObject({ code: 10334 });
    expect(modify.message).toContain('Plan executor error during findAndModify');
    expect((await c.findOne({ _id: 'grows' }))?.b).toBeUndefined();
  }, 60_000);

  it('refuses a command document over 16 MiB + 16 KiB before running it', async () => {
    const c = freshDb().collection<{ _id: string; b?: string }>('big');
    await c.insertOne({ _id: 'x' });
    // Under the 17 MiB the driver's serializer can hold, over what a server accepts in one document.
    const error = await failure(c.findOneAndUpdate({ _id: 'x' }, { $set: { b: 'y'.repeat(16 * MiB + 64 * 1024) } }));
    expect(error).toMatchObject({ code: 10334, codeName: 'BSONObjectTooLarge' });
    expect(error.message).toMatch(
      /^BSONObj size: \d+ \(0x[0-9A-F]+\) is invalid\. Size must be between 0 and 16793600/,
    );
    expect(await c.findOne({ _id: 'x' })).toEqual({ _id: 'x' });
  }, 60_000);
});

describe('MongoDB wire-protocol emulator: partial indexes', () => {
  it.each([
    ['$ne', { k: { $ne: null } }, '$not'],
    ['$nin', { k: { $nin: ['a'] } }, '$not'],
    ['$not', { k: { $not: { $gt: 1 } } }, '$not'],
    ['$exists: false', { k: { $exists: false } }, '$not'],
    ['$regex', { k: { $regex: '^a' } }, '$regex'],
    ['a regular expression', { k: /^a/ }, '$regex'],
    ['$elemMatch', { k: { $elemMatch: { a: 1 } } }, '$elemMatch'],
    ['$size', { k: { $size: 2 } }, '$size'],
    ['$nor', { $nor: [{ k: 1 }] }, '$nor'],
  ])('refuses %s with CannotCreateIndex, as MongoDB does', async (_name, partialFilterExpression, op) => {
    const c = freshDb().collection('p');
    const error = await failure(c.createIndex({ k: 1 }, { name: 'k_partial', partialFilterExpression }));
    expect(error).toMatchObject({ code: 67, codeName: 'CannotCreateIndex' });
    expect(error.message).toContain(`Expression not supported in partial index: ${op}`);
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('accepts equality, $exists: true, ranges, $type, $in, $and and $or', async () => {
    const c = freshDb().collection('p');
    const filters = [
      { a: 1 },
      { a: { $exists: true } },
      { a: { $gt: 1, $lte: 9 } },
      { a: { $type: 'string' } },
      { a: { $in: [1, 2] } },
      { $and: [{ a: 1 }, { b: { $exists: true } }] },
      { $or: [{ a: 1 }, { b: 2 }] },
    ];
    for (const [i, partialFilterExpression] of filters.entries())
      await c.createIndex({ [`f${i}`]: 1 }, { name: `f${i}`, partialFilterExpression });
    expect(await c.listIndexes().toArray()).toHaveLength(filters.length + 1);
  });

  it('refuses $expr, $where, and partial filters on sparse indexes', async () => {
    const c = freshDb().collection('p');
    await expect(
      c.createIndex({ k: 1 }, { partialFilterExpression: { $expr: { $eq: ['$k', 1] } } }),
    ).rejects.toMatchObject({ code: 224 });
    await expect(c.createIndex({ k: 1 }, { partialFilterExpression: { $where: 'true' } })).rejects.toMatchObject({
      code: 2,
    });
    await expect(
      c.createIndex({ k: 1 }, { sparse: true, partialFilterExpression: { k: { $exists: true } } }),
    ).rejects.toMatchObject({ code: 67, message: expect.stringContaining('cannot mix') });
  });

  it('drops indexes by name, by key pattern and all at once; never _id_', async () => {
    const c = freshDb().collection('p');
    await c.createIndexes([
      { key: { a: 1 }, name: 'a' },
      { key: { b: 1 }, name: 'b' },
      { key: { c: 1 }, name: 'c' },
    ]);
    await c.dropIndex('a');
    await c.dropIndex({ b: 1 } as never);
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'c']);
    await expect(c.dropIndex('nope')).rejects.toMatchObject({ code: 27, codeName: 'IndexNotFound' });
    await expect(c.dropIndex('_id_')).rejects.toMatchObject({ code: 72 });
    await c.dropIndexes();
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });
});

describe('MongoDB wire-protocol emulator: collection options and $jsonSchema', () => {
  it('refuses unknown create options as the server does, and options it does not implement', async () => {
    const d = freshDb();
    await expect(d.command({ create: 'x', validationLevl: 'strict' })).rejects.toMatchObject({
      code: 40415,
      message: "BSON field 'create.validationLevl' is an unknown field.",
    });
    await expect(d.createCollection('x', { capped: true, size: 4096 })).rejects.toMatchObject({
      codeName: 'InvalidOptions',
      message: expect.stringContaining('not supported by the emulator'),
    });
    await expect(d.createCollection('x', { validationLevel: 'sometimes' as never })).rejects.toMatchObject({
      code: 2,
      message: expect.stringContaining("Enumeration value 'sometimes' for field 'create.validationLevel'"),
    });
    expect(await d.listCollections().toArray()).toEqual([]);
  });

  it.each([
    ['$ref', { properties: { a: { $ref: '#/x' } } }, 9, "$jsonSchema keyword '$ref' is not currently supported"],
    [
      'format',
      { properties: { a: { format: 'email' } } },
      9,
      "$jsonSchema keyword 'format' is not currently supported",
    ],
    ['default', { properties: { a: { default: 1 } } }, 9, "$jsonSchema keyword 'default' is not currently supported"],
    ['an unknown keyword', { items: { examples: [1] } }, 9, 'Unknown $jsonSchema keyword: examples'],
    [
      "type: 'integer'",
      { properties: { n: { type: 'integer' } } },
      9,
      "$jsonSchema type 'integer' is not currently supported.",
    ],
    [
      'type and bsonType',
      { type: 'object', bsonType: 'object' },
      9,
      "Cannot specify both $jsonSchema keywords 'type' and 'bsonType'",
    ],
    [
      'a draft-6 exclusiveMinimum',
      { properties: { n: { exclusiveMinimum: 1 } } },
      14,
      "$jsonSchema keyword 'exclusiveMinimum' must be a boolean",
    ],
    ['an unknown bsonType', { bsonType: 'integer' }, 2, 'Unknown type name alias: integer'],
  ])('refuses a validator with %s, on create and on collMod', async (_name, $jsonSchema, code, message) => {
    const d = freshDb();
    await expect(d.createCollection('x', { validator: { $jsonSchema } })).rejects.toMatchObject({ code, message });
    await d.createCollection('y');
    await expect(d.command({ collMod: 'y', validator: { $jsonSchema } })).rejects.toMatchObject({ code, message });
  });

  it('enforces the keywords the server has beyond the basic ones', async () => {
    const d = freshDb();
    await d.createCollection('x', {
      validator: {
        $jsonSchema: {
          bsonType: 'object',
          title: 'things',
          minProperties: 2,
          maxProperties: 4,
          patternProperties: { '^n_': { bsonType: 'int', minimum: 0, maximum: 10, exclusiveMaximum: true } },
          dependencies: { card: ['address'] },
          properties: {
            tags: { bsonType: 'array', uniqueItems: true, items: [{ bsonType: 'string' }], additionalItems: false },
            step: { multipleOf: 5 },
          },
        },
      },
    });
    const c = d.collection<{ _id: number } & Record<string, unknown>>('x');
    await c.insertOne({ _id: 1, n_a: 9, tags: ['a'], step: 10 });
    for (const bad of [
      { _id: 2 },
      { _id: 3, n_a: 10 },
      { _id: 4, tags: ['a', 'a'] },
      { _id: 5, tags: ['a', 'b'] },
      { _id: 6, card: 'x' },
      { _id: 7, step: 7 },
      { _id: 8, a: 1, b: 2, c: 3, d: 4 },
    ])
      await expect(c.insertOne(bad)).rejects.toMatchObject({ code: 121 });
    expect(await c.countDocuments()).toBe(1);
  });
});

describe('MongoDB wire-protocol emulator: numeric types', () => {
  it('stores int64 as int64; int32 $inc overflows to int64; an int64 overflow is BadValue', async () => {
    const d = freshDb();
    await d.createCollection('n', {
      validator: { $jsonSchema: { bsonType: 'object', properties: { n: { bsonType: ['int', 'long'] } } } },
    });
    const c = d.collection<{ _id: string; n: number | Long; x?: number }>('n');
    const raw = (id: string) => c.findOne({ _id: id }, { promoteLongs: false });
    // js-bson writes a whole JS number outside the int32 range as a double: the validator refuses it.
    await expect(c.insertOne({ _id: 'double', n: 2 ** 31 })).rejects.toMatchObject({ code: 121 });
    await c.insertOne({ _id: 'long', n: Long.fromNumber(2 ** 31) });
    expect((await raw('long'))?.n).toEqual(Long.fromNumber(2 ** 31));
    // An update that leaves it alone keeps it int64.
    await c.updateOne({ _id: 'long' }, { $set: { x: 1 } });
    expect((await raw('long'))?.n).toEqual(Long.fromNumber(2 ** 31));

    await c.insertOne({ _id: 'int', n: 2 ** 31 - 1 });
    await c.updateOne({ _id: 'int' }, { $inc: { n: 1 } });
    expect((await raw('int'))?.n).toEqual(Long.fromNumber(2 ** 31));
    expect((await c.findOne({ _id: 'int' }))?.n).toBe(2 ** 31);

    await c.insertOne({ _id: 'small', n: 5 });
    await c.updateOne({ _id: 'small' }, { $inc: { n: 1 } });
    expect((await raw('small'))?.n).toBe(6);
    await c.updateOne({ _id: 'small' }, [{ $set: { n: { $add: ['$n', 2 ** 31] } } }]);
    expect((await raw('small'))?.n).toEqual(Long.fromNumber(2 ** 31 + 6));

    await c.insertOne({ _id: 'max', n: Long.MAX_VALUE });
    const overflow = await failure(c.updateOne({ _id: 'max' }, { $inc: { n: 1 } }));
    expect(overflow).toMatchObject({
      code: 2,
      message:
        'Failed to apply $inc operations to current value ((NumberLong)9223372036854775807) for document {_id: "max"}',
    });
    expect((await raw('max'))?.n).toEqual(Long.MAX_VALUE);
    await expect(c.updateOne({ _id: 'small' }, { $inc: { n: 'one' as never } })).rejects.toMatchObject({ code: 14 });
  });
});

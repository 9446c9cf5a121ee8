import { MongoClient, type Db, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';

/**
 * The emulator's planner check (test/support/mongo-emulator/planner.ts): which indexes MongoDB's
 * planner could use for a query, by the server's rules. These cases pin the rules themselves; the
 * adapter's hot queries are checked with it in hot-queries.test.ts.
 */

let emulator: RunningEmulator;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  emulator = await startMongoEmulator();
  client = new MongoClient(emulator.url, { serverSelectionTimeoutMS: 2000 });
  await client.connect();
  db = client.db('planner');
  await db.collection('c').createIndexes([
    { key: { a: 1, b: 1 }, name: 'a_b' },
    { key: { conv: 1, at: 1, _id: 1 }, name: 'conv_at_id' },
    {
      key: { conv: 1, key: 1 },
      name: 'conv_key_typed',
      unique: true,
      partialFilterExpression: { key: { $type: 'string' } },
    },
    { key: { p: 1 }, name: 'p_exists', partialFilterExpression: { p: { $exists: true } } },
    { key: { r: 1 }, name: 'r_over_5', partialFilterExpression: { r: { $gt: 5 } } },
    { key: { 'box.e': 1, 'box.i': 1 }, name: 'box', partialFilterExpression: { 'box._id': { $exists: true } } },
    { key: { tags: 1, at: -1 }, name: 'tags_at' },
  ]);
  await db.collection('c').insertOne({ _id: 'multi' as never, tags: ['x', 'y'], at: new Date() });
});

afterAll(async () => {
  await client?.close();
  await emulator?.stop();
});

/** The candidates (and sort-giving candidates) for a find on `c`. */
function check(filter: Document, sort?: Document): { candidates: string[]; sorted: string[] } {
  const [plan] = emulator.engine.plan({ db: 'planner', name: 'find', command: { find: 'c', filter, sort } });
  return { candidates: plan!.candidates, sorted: plan!.sorted };
}

describe('planner check of the MongoDB wire-protocol emulator', () => {
  it('uses an index only when the query bounds its first key field', () => {
    expect(check({ a: 1 }).candidates).toEqual(['a_b']);
    expect(check({ b: 1 }).candidates).toEqual([]);
    expect(check({ a: { $gt: 1 }, b: 2 }).candidates).toEqual(['a_b']);
    expect(check({ _id: 'x' }).candidates).toEqual(['_id_']);
    expect(check({ _id: { $in: ['x', 'y'] } }).candidates).toEqual(['_id_']);
  });

  it('does not count negations as bounds', () => {
    expect(check({ a: { $ne: 1 } }).candidates).toEqual([]);
    expect(check({ a: { $nin: [1] } }).candidates).toEqual([]);
    expect(check({ a: { $exists: false } }).candidates).toEqual([]);
    expect(check({ $nor: [{ a: 1 }] }).candidates).toEqual([]);
  });

  it('takes an $or when every branch bounds the field', () => {
    expect(check({ $or: [{ a: 1 }, { a: 2 }] }).candidates).toEqual(['a_b']);
    expect(check({ $or: [{ a: 1 }, { b: 2 }] }).candidates).toEqual([]);
    expect(check({ conv: 'c', $or: [{ at: { $lt: 1 } }, { at: 1, _id: { $lt: 'x' } }] }).candidates).toContain(
      'conv_at_id',
    );
  });

  it('a partial index needs a query inside its filter: $type only from the same $type', () => {
    expect(check({ conv: 'c', key: 'k' }).candidates).not.toContain('conv_key_typed');
    expect(check({ conv: 'c', key: { $eq: 'k', $type: 'string' } }).candidates).toContain('conv_key_typed');
    expect(check({ conv: { $in: ['c'] }, key: { $in: ['k', 'l'], $type: 'string' } }).candidates).toContain(
      'conv_key_typed',
    );
  });

  it('$exists: true follows from a comparison with a non-null value, not from null', () => {
    expect(check({ p: 5 }).candidates).toEqual(['p_exists']);
    expect(check({ p: { $lt: new Date() } }).candidates).toEqual(['p_exists']);
    expect(check({ p: { $exists: true } }).candidates).toEqual(['p_exists']);
    expect(check({ p: null }).candidates).toEqual([]);
    expect(check({ p: { $in: [1, null] } }).candidates).toEqual([]);
  });

  it('ranges imply ranges of the same type only', () => {
    expect(check({ r: 6 }).candidates).toEqual(['r_over_5']);
    expect(check({ r: { $in: [6, 7] } }).candidates).toEqual(['r_over_5']);
    expect(check({ r: 5 }).candidates).toEqual([]);
    expect(check({ r: { $gte: 5 } }).candidates).toEqual([]);
    expect(check({ r: 'z' }).candidates).toEqual([]);
  });

  it('a filter on another field than the first key does not reach a partial index, even inside its filter', () => {
    expect(check({ 'box._id': { $exists: true } }).candidates).toEqual([]);
    expect(check({ 'box._id': { $exists: true }, 'box.e': { $exists: true } }).candidates).toEqual(['box']);
    expect(check({ 'box._id': { $exists: true }, box: { $elemMatch: { e: 'user', i: 'u1' } } }).candidates).toEqual([
      'box',
    ]);
  });

  it('a sort comes from the index after the fields pinned to one value, forwards or backwards', () => {
    expect(check({ conv: 'c' }, { at: -1, _id: -1 }).sorted).toEqual(['conv_at_id']);
    expect(check({ conv: 'c' }, { at: 1, _id: 1 }).sorted).toEqual(['conv_at_id']);
    expect(check({ conv: 'c' }, { at: 1, _id: -1 }).sorted).toEqual([]);
    expect(check({ conv: 'c' }, { _id: 1 }).sorted).toEqual([]);
    expect(check({ conv: { $in: ['c', 'd'] } }, { at: 1 }).sorted).toEqual([]);
    expect(check({ conv: 'c', at: new Date(0) }, { _id: 1 }).sorted).toEqual(['conv_at_id']);
    // Equality on the multikey field, then a sort on a single-valued one.
    expect(check({ tags: 'x' }, { at: -1 }).sorted).toEqual(['tags_at']);
    // A multikey field gives no sort.
    expect(check({ tags: { $gt: '' } }, { tags: 1 }).sorted).toEqual([]);
  });

  it('judges each statement of update, delete, count and findAndModify', () => {
    const plans = (name: string, command: Document) =>
      emulator.engine.plan({ db: 'planner', name, command: { [name]: 'c', ...command } }).map((p) => p.candidates);
    expect(
      plans('update', {
        updates: [
          { q: { a: 1 }, u: {} },
          { q: { b: 1 }, u: {} },
        ],
      }),
    ).toEqual([['a_b'], []]);
    expect(plans('delete', { deletes: [{ q: { _id: 'x' }, limit: 1 }] })).toEqual([['_id_']]);
    expect(plans('count', { query: { p: 1 } })).toEqual([['p_exists']]);
    expect(plans('findAndModify', { query: { conv: 'c' }, update: {} })).toEqual([['conv_at_id']]);
    expect(plans('insert', { documents: [] })).toEqual([]);
  });
});

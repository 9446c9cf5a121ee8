import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openMongoStore } from '../../database/mongodb/mongodb-store.js';
import { NotFoundError, ValidationError } from '../../src/domain/errors.js';
import type { ContentPart } from '../../src/domain/models.js';
import type { Store } from '../../src/repositories/ports.js';
import { createServices } from '../../src/services/index.js';
import { describeBackend } from '../contract/harness.js';
import { audit, createConversation, createUser, newMessage } from '../contract/fixtures.js';
import { apiTests, conversationOf, expectError, postText } from '../http/support.js';
import {
  mongodbInitializer,
  mongoTestConfig,
  testLogger,
  uniqueDatabaseName,
  withDatabase,
} from '../support/initializers/mongodb.js';
import type { CommandEvent } from '../support/mongo-emulator/engine.js';
import { startMongoEmulator, type RunningEmulator } from '../support/mongo-emulator/server.js';
import '../support/provided-context.js';
import { serverFor } from '../support/initializer.js';

/**
 * Operator injection must be impossible: no client-supplied object becomes a filter, an update or
 * a pipeline. Every input that reaches the adapter is tried with `{"$gt": ""}`, `{"$where": ...}`
 * and `$`-prefixed or dotted keys, entering where callers enter (the services); each must be
 * refused (ValidationError / 400), miss (NotFound), or be stored literally — never match or act.
 */

const GT = { $gt: '' } as unknown as string;
const NE = { $ne: null } as unknown as string;
const WHERE = { $where: 'return true' } as unknown as string;
const HOSTILE_OBJECTS = [GT, NE, WHERE];
/** Strings that look like operators are just ids. */
const HOSTILE_STRINGS = ['$where', '{"$gt": ""}', '$gt', "'; return true; var x='", 'a.b', '$ne'];

/** JSON a tool may send, with keys MongoDB and BSON treat specially, in a deliberate order. */
const HOSTILE_ARGUMENTS = {
  $gt: '',
  'a.b': 1,
  $where: 'x',
  nested: {
    $ref: 'users',
    $id: 1,
    _bsontype: 'Code',
    '%24gt': 'looks escaped already',
    'nul\u0000key': true,
    __proto__x: [{ $in: ['$$ROOT'] }],
  },
  z: { '': 'empty key', '.': 'dot', $: 'dollar' },
};
const HOSTILE_CONTENT: ContentPart[] = [
  { type: 'tool_call', callId: 'c1', name: 'query', arguments: HOSTILE_ARGUMENTS },
  { type: 'tool_result', callId: 'c1', output: [{ $set: { admin: true } }, { 'x.y': { $unset: '' } }] },
  { type: 'text', text: '{"$gt": ""}' },
];
const HOSTILE_METADATA = { 'app.version': '1', $where: 'sleep(1000)', $gt: '' };

/** Seeds one of everything and attacks every adapter method with operator objects and operator-like strings. */
async function attack(store: Store) {
  const owner = await createUser(store);
  const other = await createUser(store);
  const c = await createConversation(store, owner, [other]);
  const { message } = await store.messages.post(newMessage(c.id, owner.id, { clientMessageId: 'k1' }));
  const before = await store.bulk.counts();

  // Refusals happen once, in the domain layer every caller goes through (the services): ids are
  // strings of a known shape, versions and limits integers, cursors opaque strings this service
  // issued. The repositories trust those checked values, so the attacks enter where callers do.
  // The two ports without a service in front (audit listing, bulk scan) refuse on their own.
  const services = createServices(store);
  const say = { role: 'user' as const, content: [{ type: 'text' as const, text: 'x' }] };
  const rename = { displayName: 'x' };
  const noop = { metadata: {} };
  const mid = message.id;
  const refusals: [string, () => Promise<unknown>][] = [];
  for (const bad of HOSTILE_OBJECTS) {
    const badNumber = bad as unknown as number;
    refusals.push(
      ['users.get', () => services.users.get(bad)],
      ['users.find', () => services.users.provision({ sub: bad })],
      ['users.findByHandle', () => services.users.register({ sub: 'newcomer' }, { handle: bad })],
      ['users.update id', () => services.users.update(bad, { displayName: 'x' })],
      ['users.update version', () => services.users.update(owner.id, rename, { expectedVersion: badNumber })],
      ['users.update handle', () => services.users.update(owner.id, { handle: bad })],
      ['users.create', () => services.users.register({ sub: bad }, { handle: 'fresh' })],
      ['conversations.get', () => services.conversations.get(owner.id, bad)],
      ['conversations.update', () => services.conversations.update(owner.id, bad, { title: 'x' })],
      ['conversations.update title', () => services.conversations.update(owner.id, c.id, { title: bad })],
      ['conversations.delete', () => services.conversations.delete(owner.id, bad)],
      ['conversations.listForUser', () => services.conversations.list(bad, {})],
      ['conversations.listForUser cursor', () => services.conversations.list(owner.id, { cursor: bad })],
      ['conversations.listForUser limit', () => services.conversations.list(owner.id, { limit: badNumber })],
      ['conversations.findParticipant cid', () => services.participants.list(owner.id, bad)],
      ['conversations.findParticipant uid', () => services.conversations.get(bad, c.id)],
      ['conversations.listParticipants', () => services.participants.list(bad, c.id)],
      ['conversations.addParticipant', () => services.participants.add(owner.id, c.id, { userId: bad })],
      ['conversations.addParticipant cid', () => services.participants.add(owner.id, bad, { userId: other.id })],
      ['conversations.removeParticipant', () => services.participants.remove(owner.id, c.id, bad)],
      ['messages.post conversationId', () => services.messages.post(owner.id, bad, say)],
      ['messages.post clientMessageId', () => services.messages.post(owner.id, c.id, { ...say, clientMessageId: bad })],
      ['messages.post metadata', () => services.messages.post(owner.id, c.id, { ...say, metadata: { k: bad } })],
      ['messages.get id', () => services.messages.get(owner.id, c.id, bad)],
      ['messages.get cid', () => services.messages.get(owner.id, bad, message.id)],
      [
        'messages.update version',
        () => services.messages.update(owner.id, c.id, mid, noop, { expectedVersion: badNumber }),
      ],
      ['messages.update id', () => services.messages.update(owner.id, c.id, bad, { metadata: {} })],
      ['messages.softDelete id', () => services.messages.delete(owner.id, c.id, bad)],
      ['messages.list', () => services.messages.list(owner.id, bad, {})],
      ['messages.list cursor', () => services.messages.list(owner.id, c.id, { direction: 'newer', cursor: bad })],
      ['audit.listForEntity', () => store.audit.listForEntity('user', bad)],
      ['bulk.scan', () => store.bulk.scan('users', { ...owner, id: bad }, 10)],
    );
  }
  for (const [name, call] of refusals) {
    const outcome = await call().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    expect({ name, outcome }).toMatchObject({ name, outcome: { error: expect.any(ValidationError) } });
  }

  // Operator-looking strings are plain ids: they find nothing.
  for (const s of HOSTILE_STRINGS) {
    await expect(store.users.get(s)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.users.findByHandle(s)).toBeNull();
    await expect(store.conversations.get(s)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.messages.get(c.id, s)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.conversations.findParticipant(c.id, s)).toBeNull();
    expect((await store.conversations.listForUser({ userId: s, limit: 10 })).items).toEqual([]);
    expect((await store.messages.list({ conversationId: s, limit: 10, direction: 'older' })).items).toEqual([]);
    expect(await store.audit.listForEntity('user', s)).toEqual([]);
  }

  // Nothing changed, nothing leaked.
  expect(await store.bulk.counts()).toEqual(before);
  expect(await store.users.get(owner.id)).toEqual(owner);
  expect(await store.messages.get(c.id, message.id)).toEqual(message);

  // $-prefixed and dotted keys inside free-form JSON are data: stored and returned exactly, key order included.
  const posted = newMessage(c.id, owner.id, {
    content: HOSTILE_CONTENT,
    metadata: HOSTILE_METADATA,
    clientMessageId: 'k2',
  });
  expect((await store.messages.post(posted)).message).toEqual(posted);
  const loaded = await store.messages.get(c.id, posted.id);
  expect(loaded).toEqual(posted);
  expect(JSON.stringify(loaded.content)).toBe(JSON.stringify(HOSTILE_CONTENT));
  expect(JSON.stringify(loaded.metadata)).toBe(JSON.stringify(HOSTILE_METADATA));
  const diff = { $set: { version: 99 }, 'a.b': { $where: 'x' } };
  const edited = await store.messages.update({
    conversationId: c.id,
    messageId: posted.id,
    expectedVersion: 1,
    patch: { content: HOSTILE_CONTENT.slice().reverse() },
    editedAt: new Date(),
    audit: audit(owner.id, 'message', posted.id, 'update', diff),
  });
  expect(edited.version).toBe(2);
  expect(JSON.stringify((await store.messages.get(c.id, posted.id)).content)).toBe(
    JSON.stringify(HOSTILE_CONTENT.slice().reverse()),
  );
  const trail = await store.audit.listForEntity('message', posted.id);
  expect(JSON.stringify(trail.at(-1)!.diff)).toBe(JSON.stringify(diff));
  // A `__proto__` key (as JSON.parse makes it: an own property) is data too, and pollutes nothing.
  const prototypeArgs = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const proto = newMessage(c.id, owner.id, {
    content: [{ type: 'tool_call', callId: 'p', name: 'p', arguments: prototypeArgs as never }],
  });
  await store.messages.post(proto);
  const protoBack = await store.messages.get(c.id, proto.id);
  expect(JSON.stringify(protoBack.content)).toBe(JSON.stringify(proto.content));
  expect(Object.getPrototypeOf((protoBack.content[0] as { arguments: object }).arguments)).toBe(Object.prototype);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  const renamed = await store.conversations.update({
    id: c.id,
    expectedVersion: 1,
    patch: { title: '{"$gt": ""}', metadata: HOSTILE_METADATA },
    updatedAt: new Date(),
    audit: audit(owner.id, 'conversation', c.id, 'update'),
  });
  expect(await store.conversations.get(c.id)).toEqual(renamed);
  expect(JSON.stringify(renamed.metadata)).toBe(JSON.stringify(HOSTILE_METADATA));
  // The stored message matched nothing it should not have: one new message, nothing else changed.
  expect(await store.bulk.counts()).toEqual({ ...before, messages: before.messages + 2, audit: before.audit + 2 });
  return { conversationId: c.id, messageId: posted.id };
}

const shared = serverFor('mongodb');

describe.skipIf('skip' in shared)(
  `operator injection through the adapter: mongodb (${'source' in shared ? shared.source : ''})`,
  () => {
    let raw: MongoClient;
    let database: string;
    let store: Store;

    beforeAll(async () => {
      raw = new MongoClient((shared as { url: string }).url, { serverSelectionTimeoutMS: 5000 });
      await raw.connect();
    });
    afterAll(async () => raw?.close());
    beforeEach(async () => {
      database = uniqueDatabaseName();
      store = await openMongoStore(
        mongoTestConfig(withDatabase((shared as { url: string }).url, database)),
        testLogger,
      );
      await store.migrator.up();
    });
    afterEach(async () => {
      await raw.db(database).dropDatabase();
      await store.close();
    });

    it('refuses operator objects in every argument, misses on operator-like strings, stores $-keys literally', async () => {
      const { messageId } = await attack(store);
      // On disk the special keys are escaped field names: nothing a server could read as an operator, path or DBRef.
      const doc = await raw
        .db(database)
        .collection('messages')
        .findOne({ _id: messageId as never });
      const keys: string[] = [];
      const collect = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(collect);
        else if (v !== null && typeof v === 'object' && !(v instanceof Date))
          for (const [k, x] of Object.entries(v)) {
            keys.push(k);
            collect(x);
          }
      };
      collect(doc);
      expect(keys).toContain('%24where');
      expect(keys).toContain('a%2Eb');
      expect(
        keys.filter((k) => k.startsWith('$') || k.includes('.') || k.includes('\u0000') || k === '_bsontype'),
      ).toEqual([]);
    });
  },
);

describeBackend('operator injection through the HTTP API', mongodbInitializer, (test) => {
  const api = apiTests(test);
  api('operator objects in paths, queries and bodies are 400s; $-keys in tool JSON are stored literally', async (a) => {
    const c = await conversationOf(a, 'owner', ['member']);
    const owner = a.as('owner');
    const m = await postText(owner, c.id, 'hello');
    const enc = encodeURIComponent;
    // Path parameters: ids are validated strings, never objects.
    for (const s of ['{"$gt":""}', '$where', '[$ne]']) {
      expect((await owner.get(`/v1/conversations/${enc(s)}`)).statusCode).toBe(400);
      expect((await owner.get(`/v1/conversations/${c.id}/messages/${enc(s)}`)).statusCode).toBe(400);
      expect((await owner.get(`/v1/users/${enc(s)}`)).statusCode).toBe(400);
      expect((await owner.delete(`/v1/conversations/${c.id}/participants/${enc(s)}`)).statusCode).toBe(400);
    }
    // Query strings: bracket syntax is no object, and cursors are opaque strings this service issued.
    for (const query of ['cursor[$gt]=', 'cursor=%7B%22%24gt%22%3A%22%22%7D', 'limit[$gt]=0', 'direction[$ne]=x']) {
      const res = await owner.get(`/v1/conversations/${c.id}/messages?${query}`);
      expectError(res, 400, 'validation_failed');
    }
    expectError(await owner.get(`/v1/conversations?cursor=${enc('{"$gt":""}')}`), 400, 'validation_failed');
    // Bodies: operator objects where strings, ids or versions belong.
    expectError(await owner.post('/v1/conversations', { title: { $gt: '' } }), 400, 'validation_failed');
    expectError(await owner.post('/v1/conversations', { participantIds: [{ $ne: null }] }), 400, 'validation_failed');
    expectError(await owner.post('/v1/conversations', { metadata: { $where: 'x' } }), 400, 'validation_failed');
    expectError(
      await owner.patch(`/v1/conversations/${c.id}`, { title: 'x', version: { $gt: 0 } }),
      400,
      'validation_failed',
    );
    expectError(
      await owner.post(`/v1/conversations/${c.id}/participants`, { userId: { $ne: null } }),
      400,
      'validation_failed',
    );
    expectError(await owner.patch('/v1/users/me', { handle: { $regex: '.*' } }), 400, 'validation_failed');
    expectError(
      await owner.post(`/v1/conversations/${c.id}/messages`, {
        role: 'user',
        content: [{ type: 'text', text: 'x' }],
        clientMessageId: { $ne: null },
      }),
      400,
      'validation_failed',
    );
    expectError(
      await owner.patch(`/v1/conversations/${c.id}/messages/${m.id}`, {
        metadata: { 'a.b': 'x' },
        version: { $gt: 0 },
      }),
      400,
      'validation_failed',
    );
    // Tool JSON is free-form: stored and returned exactly.
    const content = [
      { type: 'tool_call', callId: 'c1', name: 'q', arguments: { $gt: '', 'a.b': 1, $where: 'x' } },
      { type: 'tool_result', callId: 'c1', output: { $set: { admin: true } } },
    ];
    const posted = await owner.post(`/v1/conversations/${c.id}/messages`, {
      role: 'tool',
      content,
      metadata: { 'app.version': '1' },
    });
    expect(posted.statusCode).toBe(201);
    const got = await owner.get(`/v1/conversations/${c.id}/messages/${posted.json().id}`);
    expect(got.json().content).toEqual(content);
    expect(JSON.stringify(got.json().content)).toBe(JSON.stringify(content));
    // The attempts changed nothing else.
    const list = (await owner.get(`/v1/conversations/${c.id}/messages`, { query: { direction: 'newer' } })).json();
    expect(list.data.map((x: { id: string }) => x.id)).toEqual([m.id, posted.json().id]);
    expect((await owner.get(`/v1/conversations/${c.id}`)).json()).toMatchObject({
      title: c.title,
      messageCount: 2,
      version: 1,
    });
  });
});

/** Operators and dotted paths the adapter itself writes; anything else in operator position is an injection. */
const ADAPTER_OPERATORS = new Set([
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$ne',
  '$in',
  '$nin',
  '$or',
  '$exists',
  '$elemMatch',
  '$type',
  '$set',
  '$unset',
  '$inc',
  '$push',
  '$pull',
  '$each',
  '$setOnInsert',
  '$add',
  '$max',
  '$ifNull',
  '$literal',
  '$map',
  '$cond',
  '$eq',
  '$mergeObjects',
  '$match',
  '$group',
  '$sum',
  '$size',
  '$jsonSchema',
]);
const ADAPTER_PATHS = new Set([
  'participants.userId',
  'participants.$[p]',
  'p.userId',
  '_outbox._id',
  '_outbox.entity',
  '_outbox.entityId',
  '_pendingPosts.at',
]);
/** Fields the driver adds to every command. */
const COMMAND_ENVELOPE = new Set([
  '$db',
  '$readPreference',
  '$clusterTime',
  'lsid',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'readConcern',
  'writeConcern',
]);

describe('operator injection: what reaches the wire', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startMongoEmulator();
  });
  afterAll(async () => emulator?.stop());

  it('every key the adapter sends is its own operator, its own path, or an escaped plain field name', async () => {
    const events: CommandEvent[] = [];
    const stop = emulator.onCommand((e) => events.push(e));
    const store = await openMongoStore(mongoTestConfig(withDatabase(emulator.url, 'wire_check')), testLogger);
    try {
      await store.migrator.up();
      await attack(store);
    } finally {
      stop();
      await store.close();
    }
    const crud = events.filter((e) =>
      ['find', 'insert', 'update', 'delete', 'findAndModify', 'aggregate', 'count'].includes(e.name),
    );
    expect(crud.length).toBeGreaterThan(50);
    const offending: string[] = [];
    const walk = (value: unknown, where: string): void => {
      if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) walk(v, `${where}[${i}]`);
        return;
      }
      if (value === null || typeof value !== 'object' || value instanceof Date) return;
      for (const [key, v] of Object.entries(value)) {
        if (key.startsWith('$') && !ADAPTER_OPERATORS.has(key)) offending.push(`${where}.${key}`);
        if (key.includes('.') && !ADAPTER_PATHS.has(key)) offending.push(`${where}.${key}`);
        if (key === '$where' || key === '_bsontype' || key.includes('\u0000')) offending.push(`${where}.${key}`);
        walk(v, `${where}.${key}`);
      }
    };
    for (const e of crud)
      for (const [field, value] of Object.entries(e.command))
        if (!COMMAND_ENVELOPE.has(field)) walk(value, `${e.name}.${field}`);
    expect(offending).toEqual([]);
  });
});

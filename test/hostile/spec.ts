import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { DatabaseType } from '../../database/registry.js';
import { buildApp, type App } from '../../src/app.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import type { Store } from '../../src/repositories/ports.js';
import { describeBackend } from '../contract/harness.js';
import { testConfig } from '../http/support.js';
import { initializerFor } from '../support/initializer.js';

/**
 * Property-based hostile requests. Requests are generated from the OpenAPI document the app
 * serves — every operation, its path, query and header parameters and its body schema — and then
 * spoiled: wrong types, out-of-range numbers, awkward strings at any depth (NUL, lone surrogates,
 * very long, `$` and `.` keys), deep nesting, unknown fields, missing fields, bad cursors, odd
 * paths and headers, bad tokens and claims.
 *
 * Each run sends one generated sequence to two fresh stores, the memory backend (the reference)
 * and the backend under test, over the same fixture. No answer may be a 5xx, and the backend
 * must answer every request with the memory backend's status, error code and failing fields.
 *
 * Bounded: FC_RUNS runs (default 15) of up to 24 requests each, no shrinking unless FC_SHRINK=1.
 * The seed is printed; FC_SEED=<seed> replays a run.
 */

const RUNS = Number(process.env.FC_RUNS ?? 15);
const SEED =
  process.env.FC_SEED === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0 : Number(process.env.FC_SEED);
const SHRINK = process.env.FC_SHRINK === '1';

// ---------- What a generated request is ----------

/** A number sent as its literal text (JSON.stringify would round it or refuse it). */
class RawNumber {
  constructor(readonly text: string) {}
}

/** References to fixture values, resolved per app (ids and cursors differ between backends). */
type Ref = '{conv}' | '{msg}' | '{memberMsg}' | '{cursor}';

type Caller = 'owner' | 'member' | 'stranger' | 'fresh' | 'badClaims' | 'none' | 'garbage' | 'expired';

interface HostileRequest {
  method: string;
  /** With `{conv}`, `{msg}` and `{memberMsg}` placeholders. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  caller: Caller;
  /** A body value (may hold RawNumber), or a JSON text sent as it is. */
  body?: { value: unknown } | { text: string };
}

/** JSON text of a value, RawNumbers as their literal text. */
function toJsonText(value: unknown): string {
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `arbitrary` about once in `oneIn` draws, undefined otherwise. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

// ---------- Hostile values ----------

const nested = (depth: number, leaf: unknown, asObject: boolean): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asObject ? { k: v } : [v];
  return v;
};

const hostileStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\ud83d',
  '😀',
  '\u202e\u200b',
  '$where',
  '$gt',
  'a.b',
  '.',
  '__proto__',
  'constructor',
  "'; DROP TABLE users; --",
  '{"$gt":""}',
  '../../etc/passwd',
  '%00',
  'x'.repeat(600),
  'y'.repeat(70_000),
  'é'.repeat(300),
);

const hostileNumbers = fc.oneof(
  fc.constantFrom(0, -1, 1.5, -0, 2_147_483_647, 2_147_483_648, 4_294_967_296, 1e300, -1e300, Number.MAX_SAFE_INTEGER),
  fc
    .constantFrom('9007199254740993', '123456789012345678901234567890', '1e400', '-1e400', '1E2', '0.0000001')
    .map((t) => new RawNumber(t)),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const awkwardKeys = fc.constantFrom(
  '$gt',
  '$set',
  'a.b',
  '.x',
  '$',
  '',
  ' ',
  'k\u0000',
  'k\ud800',
  '__proto__x',
  'constructor',
  'ok',
);

const hostileValues: fc.Arbitrary<unknown> = fc.oneof(
  hostileStrings,
  hostileNumbers,
  fc.constantFrom(null, true, false, [], {}, [null], [[]], [{}]),
  fc.dictionary(awkwardKeys, fc.oneof(hostileStrings, fc.integer()), { maxKeys: 3 }),
  fc
    .record({
      depth: fc.integer({ min: 14, max: 40 }),
      leaf: fc.oneof(fc.constant(1), hostileStrings),
      asObject: fc.boolean(),
    })
    .map(({ depth, leaf, asObject }) => nested(depth, leaf, asObject)),
  fc.integer({ min: 65, max: 300 }).map((n) => Array.from({ length: n }, () => ({ type: 'text', text: 'x' }))),
  fc.jsonValue({ maxDepth: 3 }),
);

// ---------- Values from a JSON schema (as the OpenAPI document gives them) ----------

type Schema = Record<string, unknown>;

/** Any JSON value (tool arguments and outputs): ordinary ones, and the hostile values inside. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 2,
    arbitrary: fc.dictionary(awkwardKeys, fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileValues), { maxKeys: 4 }),
  },
  { weight: 1, arbitrary: hostileValues },
);

function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 6) return anyJson;
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const type = schema.type;
  if (Array.isArray(type)) return fc.oneof(...type.map((t) => fromSchema({ ...schema, type: t }, depth + 1)));
  switch (type) {
    case 'string': {
      const max = Math.min(Number(schema.maxLength ?? 40), 40);
      const min = Number(schema.minLength ?? 0);
      // User ids: mostly the fixture's users, so that writes naming them can succeed.
      if (typeof schema.pattern === 'string' && schema.pattern.includes('@|')) {
        return fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('o', 'm', 'stranger') },
          { weight: 1, arbitrary: fc.stringMatching(new RegExp(schema.pattern)) },
        );
      }
      if (typeof schema.pattern === 'string') {
        return fc
          .stringMatching(new RegExp(schema.pattern))
          .filter((s) => s.length <= Number(schema.maxLength ?? Infinity) && s.length >= min);
      }
      if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      return fc.string({ minLength: min, maxLength: Math.max(min, max) });
    }
    case 'integer':
      return fc.integer({ min: Number(schema.minimum ?? -1000), max: Math.min(Number(schema.maximum ?? 1000), 1000) });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items as Schema, depth + 1), {
        minLength: Number(schema.minItems ?? 0),
        maxLength: Math.min(Number(schema.maxItems ?? 3), 3),
      });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const extra = schema.additionalProperties;
      if (typeof extra === 'object' && extra !== null) {
        const names = (schema.propertyNames as Schema | undefined) ?? { type: 'string' };
        return fc.dictionary(
          fromSchema({ type: 'string', ...names }, depth + 1) as fc.Arbitrary<string>,
          fromSchema(extra as Schema, depth + 1),
          { maxKeys: 3 },
        );
      }
      const entries = Object.entries(properties).filter(([name]) => required.has(name) || name !== 'type');
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, s] of entries) record[name] = fromSchema(s, depth + 1);
      const requiredKeys = Object.keys(record).filter((k) => required.has(k));
      return fc.record(record, { requiredKeys });
    }
    default:
      return anyJson;
  }
}

/** Every place in a value: [parent, key] pairs, the top as [undefined, undefined]. */
function places(value: unknown): [Record<string, unknown> | unknown[] | undefined, string | number | undefined][] {
  const out: [Record<string, unknown> | unknown[] | undefined, string | number | undefined][] = [
    [undefined, undefined],
  ];
  const walk = (v: unknown, depth: number) => {
    if (depth > 8 || v === null || typeof v !== 'object' || v instanceof RawNumber) return;
    if (Array.isArray(v)) {
      for (const [i, child] of v.entries()) {
        out.push([v, i]);
        walk(child, depth + 1);
      }
    } else {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        out.push([v as Record<string, unknown>, k]);
        walk(child, depth + 1);
      }
    }
  };
  walk(value, 0);
  return out;
}

type Mutation =
  | { kind: 'none' }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'unknownField'; at: number; key: string; value: unknown }
  | { kind: 'drop'; at: number };

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' } as const) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValues }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('unknownField' as const),
      at: fc.nat(),
      key: fc.oneof(awkwardKeys, fc.constantFrom('id', 'createdBy', 'authorId', 'version')),
      value: hostileValues,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }) },
);

function mutate(body: unknown, mutation: Mutation): unknown {
  if (mutation.kind === 'none') return body;
  const copy = structuredClone(body);
  const all = places(copy);
  const [parent, key] = all[mutation.at % all.length] ?? [undefined, undefined];
  switch (mutation.kind) {
    case 'replace':
      if (parent === undefined || key === undefined) return mutation.value;
      (parent as Record<string | number, unknown>)[key] = mutation.value;
      return copy;
    case 'unknownField': {
      const target =
        parent === undefined || key === undefined ? copy : (parent as Record<string | number, unknown>)[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        (target as Record<string, unknown>)[mutation.key] = mutation.value;
      return copy;
    }
    case 'drop':
      if (parent === undefined || key === undefined) return undefined;
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key as string];
      return copy;
  }
}

// ---------- Requests from the OpenAPI document ----------

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; schema: Schema }[];
  body: Schema | undefined;
}

function operationsOf(doc: {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Operation['params']; requestBody?: { content?: Record<string, { schema?: Schema }> } }
    >
  >;
}): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      out.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return out;
}

const badCursors = fc.oneof(
  fc.constantFrom('{cursor}', '', 'c1.', 'c1.!!!', 'c2.abc', 'null', '%00', `c1.${'A'.repeat(200)}`),
  fc
    .record({
      ms: fc.constantFrom('0', '999999999999999', '253402300800000', '-1', '1e3', 'abc'),
      id: fc.oneof(fc.uuid(), fc.constantFrom('x', '')),
    })
    .map(({ ms, id }) => `c1.${Buffer.from(`${ms}.${id}`).toString('base64url')}`),
  fc.string({ maxLength: 40 }),
);

const queryValue = (name: string, schema: Schema): fc.Arbitrary<string> => {
  if (name === 'cursor') return badCursors;
  return fc.oneof(
    fromSchema(schema).map((v) => String(v)),
    fc.constantFrom(
      '0',
      '-1',
      '201',
      '2147483648',
      '99999999999999999999',
      '1e300',
      '1.5',
      'abc',
      '',
      'older,newer',
      'NEWER',
    ),
  );
};

/** A path parameter: the fixture's own id most of the time, otherwise unknown or hostile. */
function pathValue(param: { name: string; schema: Schema }, path: string): fc.Arbitrary<string> {
  const fixture: string[] =
    (param.name === 'id' && path.startsWith('/v1/conversations')) || param.name === 'conversation_id'
      ? ['{conv}']
      : param.name === 'messageId' || param.name === 'item_id'
        ? ['{msg}', '{memberMsg}']
        : ['o', 'm', 'stranger', 'nobody'];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...fixture) },
    { weight: 1, arbitrary: fc.uuid() },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          hostileStrings.filter((s) => s.length < 1000),
          fc.string({ maxLength: 20 }),
        )
        .map((s) => encodeURIComponent(s.toWellFormed())),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%00',
        '..%2F..%2Fetc',
        '%E0%A4%A',
        '%ZZ',
        'x'.repeat(300),
        '%F0%9F%98%80',
        '%20',
        '.',
        '..',
      ),
    },
  );
}

const ifMatch = fc.constantFrom(
  '"1"',
  '"2"',
  '"3"',
  '*',
  'W/"1"',
  '"99999999999999999999"',
  '"2147483648"',
  '',
  '"',
  ',,,',
  '"1", "2"',
  'x'.repeat(1100),
);
const contentTypes = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  'text/plain',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
);
const callers = fc.constantFrom<Caller>(
  'owner',
  'owner',
  'owner',
  'owner',
  'owner',
  'owner',
  'member',
  'member',
  'member',
  'stranger',
  'fresh',
  'badClaims',
  'none',
  'garbage',
  'expired',
);

function requestsFrom(operations: Operation[]): fc.Arbitrary<HostileRequest> {
  const fromOperations = operations.map((op) => {
    const pathParams = op.params.filter((p) => p.in === 'path');
    const queryParams = op.params.filter((p) => p.in === 'query');
    const headerParams = op.params.filter((p) => p.in === 'header');
    const query: Record<string, fc.Arbitrary<string>> = {};
    for (const p of queryParams) query[p.name] = queryValue(p.name, p.schema);
    const path: Record<string, fc.Arbitrary<string>> = {};
    for (const p of pathParams) path[p.name] = pathValue(p, op.path);
    const body = op.body
      ? fc.oneof(
          {
            weight: 8,
            arbitrary: fc.tuple(fromSchema(op.body), mutations).map(([value, m]) => ({ value: mutate(value, m) })),
          },
          {
            weight: 1,
            arbitrary: fc
              .constantFrom(
                '{"title":',
                '{"__proto__":{"a":1}}',
                '[]',
                'null',
                '"x"',
                '{"a":1,"a":2}',
                '['.repeat(3000) + ']'.repeat(3000),
                '',
              )
              .map((text) => ({ text })),
          },
        )
      : sometimes(fc.constant({ value: { stray: true } }), 8);
    return fc
      .record({
        path: fc.record(path),
        query: fc.record(query, { requiredKeys: [] }),
        extraQuery: sometimes(
          fc.constantFrom<Record<string, string>>({ foo: 'bar' }, { limit: '1' }, { 'cursor[]': 'a' }),
          10,
        ),
        ifMatch: headerParams.some((p) => p.name === 'if-match') ? sometimes(ifMatch, 3) : fc.constant(undefined),
        contentType: contentTypes,
        caller: callers,
        body,
        oddPath: sometimes(fc.constantFrom('/extra', '/', '//', '%2F', '?', '#x'), 15),
      })
      .map(({ path, query, extraQuery, ifMatch, contentType, caller, body, oddPath }): HostileRequest => {
        let url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => path[name] ?? name);
        if (oddPath) url += oddPath;
        const headers: Record<string, string> = {};
        if (ifMatch !== undefined) headers['if-match'] = ifMatch;
        if (body !== undefined) headers['content-type'] = contentType;
        const q: Record<string, string> = { ...extraQuery };
        for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = v;
        return { method: op.method, path: url, query: q, headers, caller, ...(body === undefined ? {} : { body }) };
      });
  });
  const oddRoutes = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
      path: fc.constantFrom(
        '/v1',
        '/v1/',
        '/v1//conversations',
        '/V1/users/me',
        '/v1/users/me/',
        '/v1/conversations/{conv}/messages/{msg}/x',
        '/v1/users',
        '/v1/conversations/{conv}/participants/o/x',
        '/openapi.json',
        '/health',
      ),
      caller: callers,
    })
    .map(({ method, path, caller }): HostileRequest => ({ method, path, query: {}, headers: {}, caller }));
  return fc.oneof({ weight: 12, arbitrary: fc.oneof(...fromOperations) }, { weight: 1, arbitrary: oddRoutes });
}

// ---------- Running a sequence against one app ----------

interface Fixture {
  app: App;
  refs: Record<Ref, string>;
  tokens: Record<Exclude<Caller, 'none'>, string>;
}

async function fixture(store: Store): Promise<Fixture> {
  const config = testConfig();
  const app = buildApp({ config, store, ownsStore: false });
  await app.ready();
  const token = (sub: string, claims: Record<string, string> = {}, expiresIn: string | number = '1h') =>
    mintToken(config.auth, { sub, ...claims, expiresIn });
  const tokens = {
    owner: await token('o'),
    member: await token('m'),
    stranger: await token('stranger'),
    fresh: await token('fresh-user', { preferredUsername: 'o' }),
    badClaims: await token('claims', { name: 'N\u0000', preferredUsername: 'p\ud800' }),
    garbage: 'e30.e30.e30',
    expired: await token('o', {}, -3600),
  };
  const send = async (sub: keyof typeof tokens, method: InjectOptions['method'], url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${tokens[sub]}` },
      ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
    });
    if (res.statusCode >= 300) throw new Error(`fixture ${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  for (const sub of ['owner', 'member', 'stranger'] as const) await send(sub, 'GET', '/v1/users/me');
  const conv = (await send('owner', 'POST', '/v1/conversations', { title: 'fixture', participantIds: ['m'] }))
    .id as string;
  const msg = (
    await send('owner', 'POST', `/v1/conversations/${conv}/messages`, {
      role: 'user',
      content: [{ type: 'text', text: 'hello' }],
      clientMessageId: 'fixed',
    })
  ).id as string;
  const memberMsg = (
    await send('member', 'POST', `/v1/conversations/${conv}/messages`, {
      role: 'assistant',
      content: [{ type: 'tool_call', callId: 'c', name: 'n', arguments: { a: [1] } }],
    })
  ).id as string;
  const cursor = (await send('owner', 'GET', `/v1/conversations/${conv}/messages?limit=1`)).nextCursor as string;
  return { app, refs: { '{conv}': conv, '{msg}': msg, '{memberMsg}': memberMsg, '{cursor}': cursor }, tokens };
}

const resolve = (text: string, refs: Record<Ref, string>) =>
  text.replace(/\{(conv|msg|memberMsg|cursor)\}/g, (m) => refs[m as Ref]);

interface Outcome {
  status: number;
  code: string | undefined;
  fields: string[] | undefined;
}

async function send(f: Fixture, request: HostileRequest): Promise<{ outcome: Outcome; res: LightMyRequestResponse }> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.caller !== 'none') headers.authorization = `Bearer ${f.tokens[request.caller]}`;
  const query = Object.fromEntries(Object.entries(request.query).map(([k, v]) => [k, resolve(v, f.refs)]));
  const payload =
    request.body === undefined
      ? undefined
      : 'text' in request.body
        ? request.body.text
        : request.body.value === undefined
          ? ''
          : toJsonText(request.body.value);
  const res = await f.app.inject({
    method: request.method as InjectOptions['method'],
    url: resolve(request.path, f.refs),
    query,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
  let code: string | undefined;
  let fields: string[] | undefined;
  if (res.statusCode >= 400 && request.method !== 'HEAD') {
    const body = res.json() as { error?: { code?: string; details?: { fields?: { field: string }[] } | null } };
    code = body.error?.code;
    fields = body.error?.details?.fields?.map((x) => x.field);
  }
  return { outcome: { status: res.statusCode, code, fields }, res };
}

const describeRequest = (r: HostileRequest) =>
  `${r.caller} ${r.method} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : ''} ${JSON.stringify(r.headers)} ${
    r.body === undefined ? '' : 'text' in r.body ? r.body.text.slice(0, 200) : toJsonText(r.body.value).slice(0, 300)
  }`;

/**
 * The hostile-request property for one backend, compared with the memory backend. One line per
 * backend in test/hostile/<backend>.test.ts.
 */
export function describeHostile(type: DatabaseType): void {
  const reference = initializerFor('memory');
  const init = initializerFor(type);
  describeBackend('hostile requests', init, (test) => {
    test(`no 5xx, and the same status, error code and fields as memory (${RUNS} runs)`, async () => {
      // Each run makes fresh stores of its own; the harness's store stays unused.
      await reference.beforeAll();
      const docStore = await reference.create();
      const docApp = buildApp({ config: testConfig(), store: docStore, ownsStore: false });
      const doc = (await docApp.inject({ method: 'GET', url: '/openapi.json' })).json();
      await docApp.close();
      await reference.destroy(docStore);
      const operations = operationsOf(doc);
      expect(operations.length).toBeGreaterThan(10);

      console.log(`[hostile] ${type}: seed ${SEED}, ${RUNS} runs (replay with FC_SEED=${SEED})`);
      const started = Date.now();
      let requests = 0;
      const statuses = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(requestsFrom(operations), { minLength: 8, maxLength: 24 }), async (sequence) => {
          const target = await init.create();
          const memory = await reference.create();
          const a = await fixture(memory);
          const b = await fixture(target);
          try {
            for (const request of sequence) {
              requests++;
              const expected = await send(a, request);
              const key = `${expected.outcome.status}${expected.outcome.code ? ` ${expected.outcome.code}` : ''}`;
              statuses.set(key, (statuses.get(key) ?? 0) + 1);
              if (process.env.FC_DEBUG && expected.outcome.status === 404)
                console.log(describeRequest(request).slice(0, 200), expected.res.body.slice(0, 150));
              const actual = await send(b, request);
              const what = describeRequest(request);
              expect(expected.outcome.status, `memory: ${what} → ${expected.res.body.slice(0, 300)}`).toBeLessThan(500);
              expect(actual.outcome.status, `${type}: ${what} → ${actual.res.body.slice(0, 300)}`).toBeLessThan(500);
              expect(
                actual.outcome,
                `${type} differs from memory: ${what} → ${actual.res.body.slice(0, 300)} vs ${expected.res.body.slice(0, 300)}`,
              ).toEqual(expected.outcome);
            }
          } finally {
            await a.app.close();
            await b.app.close();
            await reference.destroy(memory);
            await init.destroy(target);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: !SHRINK, verbose: 1 },
      );
      const seen = [...statuses.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([k, n]) => `${k}: ${n}`);
      console.log(
        `[hostile] ${type}: ${requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s (${seen.join(', ')})`,
      );
    }, 120_000);
  });
}

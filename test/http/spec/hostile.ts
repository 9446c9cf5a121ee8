import { describe, expect } from 'vitest';
import { LIMITS } from '../../../src/domain/limits.js';
import { type Api, type ApiTest, type Client, conversationOf, expectError, postText, text } from '../support.js';

/**
 * Regression tests for issue 10 ("hostile input"): each class of input an outside tester found
 * to give a 500, or a different answer per backend, is refused the same way everywhere, and
 * nothing is stored.
 */

const json = { 'content-type': 'application/json' };

/** Sends a JSON text as it is (numbers JSON.stringify would round, lone surrogates). */
const raw = (c: Client, method: 'POST' | 'PATCH', url: string, payload: string) =>
  c.inject({ method, url, headers: json, payload });

/** `depth` levels of nested arrays around a 1: `[[1]]` is two. */
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

const toolCall = (args: unknown) => [{ type: 'tool_call', callId: 'c1', name: 'lookup', arguments: args }];

async function messageCount(api: Api, sub: string, conversationId: string): Promise<number> {
  return (await api.as(sub).get(`/v1/conversations/${conversationId}`)).json().messageCount;
}

export function hostileSpec(test: ApiTest): void {
  describe('hostile input (issue 10)', () => {
    test('integers out of range are a 400 naming the field, on every route, and change nothing', async (api) => {
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      const m = await postText(o, c.id, 'hello');
      const targets: [string, string][] = [
        [`/v1/conversations/${c.id}`, '"title":"changed"'],
        [`/v1/conversations/${c.id}/messages/${m.id}`, '"content":[{"type":"text","text":"changed"}]'],
        ['/v1/users/me', '"displayName":"changed"'],
      ];
      const versions = [
        '2147483648',
        '9007199254740993',
        '1e300',
        '123456789012345678901234567890',
        '-2147483649',
        '0',
        '1.5',
      ];
      for (const [url, change] of targets) {
        for (const version of versions) {
          const error = expectError(
            await raw(o, 'PATCH', url, `{${change},"version":${version}}`),
            400,
            'validation_failed',
            'version',
          );
          expect(error.details?.fields).toHaveLength(1);
        }
        // The largest accepted version is a stale one here: a conflict, not a validation error.
        expectError(await raw(o, 'PATCH', url, `{${change},"version":2147483647}`), 409, 'version_conflict');
      }
      const conversation = (await o.get(`/v1/conversations/${c.id}`)).json();
      expect(conversation).toMatchObject({ title: null, version: 1, messageCount: 1 });
      expect((await o.get(`/v1/conversations/${c.id}/messages/${m.id}`)).json()).toMatchObject({
        content: text('hello'),
        version: 1,
      });
      expect((await o.get('/v1/users/me')).json()).toMatchObject({ displayName: 'o', version: 1 });

      for (const limit of ['0', '201', '2147483648', '99999999999999999999', '1e300']) {
        expectError(
          await o.get(`/v1/conversations/${c.id}/messages`, { query: { limit } }),
          400,
          'validation_failed',
          'limit',
        );
        expectError(await o.get('/v1/conversations', { query: { limit } }), 400, 'validation_failed', 'limit');
      }
      // A cursor naming a time no SQL DATETIME holds is not one this service issued.
      const far = `c1.${Buffer.from(`999999999999999.${m.id}`).toString('base64url')}`;
      expectError(
        await o.get(`/v1/conversations/${c.id}/messages`, { query: { cursor: far } }),
        400,
        'validation_failed',
        'cursor',
      );
      const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const versionSchema =
        doc.paths['/v1/conversations/{id}'].patch.requestBody.content['application/json'].schema.properties.version;
      expect(versionSchema).toMatchObject({ type: 'integer', minimum: 1, maximum: LIMITS.integerMax });
    });

    test('NUL and lone surrogates are refused in metadata on all four metadata routes, and in any string at any depth', async (api) => {
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      const m = await postText(o, c.id, 'hello');
      const bad = ['v\\u0000', 'v\\ud800', '\\udfff', 'a\\ud83d'];
      for (const value of bad) {
        const metadata = `"metadata":{"ok":"fine","k":"${value}"}`;
        const content = '"role":"user","content":[{"type":"text","text":"x"}]';
        expectError(await raw(o, 'POST', '/v1/conversations', `{${metadata}}`), 400, 'validation_failed', 'metadata.k');
        expectError(
          await raw(o, 'PATCH', `/v1/conversations/${c.id}`, `{${metadata}}`),
          400,
          'validation_failed',
          'metadata.k',
        );
        expectError(
          await raw(o, 'POST', `/v1/conversations/${c.id}/messages`, `{${content},${metadata}}`),
          400,
          'validation_failed',
          'metadata.k',
        );
        expectError(
          await raw(o, 'PATCH', `/v1/conversations/${c.id}/messages/${m.id}`, `{${metadata}}`),
          400,
          'validation_failed',
          'metadata.k',
        );
      }
      const base = `/v1/conversations/${c.id}/messages`;
      const deep: [string, string][] = [
        ['{"a":{"b":["ok","x\\u0000"]}}', 'content[0].arguments.a.b[1]'],
        ['{"a":[{"k\\ud800":1}]}', 'content[0].arguments.a[0].k\ufffd'],
        ['["\\udc00"]', 'content[0].arguments[0]'],
      ];
      for (const [args, field] of deep) {
        const body = `{"role":"assistant","content":[{"type":"tool_call","callId":"c","name":"n","arguments":${args}}]}`;
        expectError(await raw(o, 'POST', base, body), 400, 'validation_failed', field);
        const result = `{"content":[{"type":"tool_result","callId":"c","output":${args}}]}`;
        expectError(
          await raw(o, 'PATCH', `${base}/${m.id}`, result),
          400,
          'validation_failed',
          field.replace('arguments', 'output'),
        );
      }
      expectError(await raw(o, 'POST', '/v1/conversations', '{"title":"t\\u0000"}'), 400, 'validation_failed', 'title');
      expectError(
        await raw(o, 'PATCH', '/v1/users/me', '{"displayName":"\\ud800x"}'),
        400,
        'validation_failed',
        'displayName',
      );

      expect((await o.get('/v1/conversations')).json().data).toHaveLength(1);
      expect(await messageCount(api, 'o', c.id)).toBe(1);
      expect((await o.get(`${base}/${m.id}`)).json()).toMatchObject({
        content: text('hello'),
        metadata: {},
        version: 1,
      });
      expect((await o.get(`/v1/conversations/${c.id}`)).json()).toMatchObject({ metadata: {}, version: 1 });
    });

    test('a NUL or lone surrogate in a claim is ignored when provisioning: the user gets the fallback, on every backend', async (api) => {
      const nul = await api
        .as('claim-nul', { name: 'Ann\u0000Lee', preferredUsername: 'ann\u0000' })
        .get('/v1/users/me');
      expect(nul.statusCode, nul.body).toBe(200);
      expect(nul.json()).toMatchObject({ id: 'claim-nul', handle: 'claim-nul', displayName: 'claim-nul' });

      const surrogate = await api
        .as('claim-sur', { name: 'Bo\ud800', preferredUsername: 'bo\udfff' })
        .get('/v1/users/me');
      expect(surrogate.statusCode, surrogate.body).toBe(200);
      expect(surrogate.json()).toMatchObject({ handle: 'claim-sur', displayName: 'claim-sur' });

      // A good claim beside a bad one still counts.
      const mixed = await api.as('claim-mix', { name: 'Cy\u0000', preferredUsername: 'cyrus' }).get('/v1/users/me');
      expect(mixed.json()).toMatchObject({ handle: 'cyrus', displayName: 'cyrus' });

      // Registering explicitly: the display name falls back to the handle.
      const registered = await api.as('claim-reg', { name: '\udc00Dee' }).post('/v1/users', { handle: 'dee' });
      expect(registered.statusCode, registered.body).toBe(201);
      expect(registered.json()).toMatchObject({ handle: 'dee', displayName: 'dee' });
      expect((await api.as('claim-reg').get('/v1/users/claim-nul')).json().displayName).toBe('claim-nul');
    });

    test(`tool JSON nests at most ${LIMITS.jsonDepthMax} levels: deeper is a 400 naming the field, posted or edited`, async (api) => {
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      const base = `/v1/conversations/${c.id}/messages`;
      const ok = await o.post(base, { role: 'assistant', content: toolCall(nested(LIMITS.jsonDepthMax)) });
      expect(ok.statusCode, ok.body).toBe(201);
      const id = ok.json().id as string;
      // An edit stores the value once more, one level deeper, in the audit diff.
      const edited = await o.patch(`${base}/${id}`, {
        content: toolCall({ a: nested(LIMITS.jsonDepthMax - 1) }),
        version: 1,
      });
      expect(edited.statusCode, edited.body).toBe(200);
      for (const depth of [LIMITS.jsonDepthMax + 1, 29, 30, 33, 200]) {
        expectError(
          await o.post(base, { role: 'assistant', content: toolCall(nested(depth)) }),
          400,
          'validation_failed',
          'content[0].arguments',
        );
        const output = [{ type: 'tool_result', callId: 'c1', output: { deep: nested(depth) } }];
        expectError(await o.patch(`${base}/${id}`, { content: output }), 400, 'validation_failed', 'content[0].output');
      }
      expect(await messageCount(api, 'o', c.id)).toBe(1);
      expect((await o.get(`${base}/${id}`)).json()).toMatchObject({
        version: 2,
        content: toolCall({ a: nested(LIMITS.jsonDepthMax - 1) }),
      });
    });

    test('a message over MESSAGE_MAX_BYTES is a 400 naming content, posted or edited; nothing is stored', async (api) => {
      const small = await api.rebuild({ MESSAGE_MAX_BYTES: '4096' });
      const c = await conversationOf(small, 'o');
      const o = small.as('o');
      const base = `/v1/conversations/${c.id}/messages`;
      const error = expectError(
        await o.post(base, { role: 'user', content: text('x'.repeat(5000)) }),
        400,
        'validation_failed',
        'content',
      );
      expect(error.message).toContain('4096');
      // Multi-byte characters count as their UTF-8 bytes.
      expectError(
        await o.post(base, { role: 'user', content: text('é'.repeat(2100)) }),
        400,
        'validation_failed',
        'content',
      );
      const m = await postText(o, c.id, 'x'.repeat(3500));
      // Metadata counts too: the edited message as a whole must fit.
      const metadata = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, 'v'.repeat(200)]));
      expectError(await o.patch(`${base}/${m.id}`, { metadata }), 400, 'validation_failed', 'content');
      expectError(
        await o.patch(`${base}/${m.id}`, { content: text('y'.repeat(4500)) }),
        400,
        'validation_failed',
        'content',
      );
      expect(await messageCount(small, 'o', c.id)).toBe(1);
      expect((await o.get(`${base}/${m.id}`)).json()).toMatchObject({ metadata: {}, version: 1 });
      // The setting has a sane range.
      await expect(small.rebuild({ MESSAGE_MAX_BYTES: String(64 * 1024 * 1024) })).rejects.toThrow(/MESSAGE_MAX_BYTES/);
    });

    test('a page ends early at PAGE_MAX_BYTES with hasMore and a cursor, and always carries one item', async (api) => {
      const budget = await api.rebuild({ PAGE_MAX_BYTES: String(64 * 1024), MESSAGE_MAX_BYTES: String(200 * 1024) });
      const c = await conversationOf(budget, 'o');
      const o = budget.as('o');
      const url = `/v1/conversations/${c.id}/messages`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await postText(o, c.id, `${i}`.repeat(25_000))).id);
      const large = await o.post(url, {
        role: 'user',
        content: [...text('b'.repeat(50_000)), ...text('c'.repeat(50_000))],
      });
      expect(large.statusCode).toBe(201);
      const big = large.json().id as string;

      const seen: string[] = [];
      let cursor: string | undefined;
      const sizes: number[] = [];
      for (let pages = 0; pages < 10; pages++) {
        const res = await o.get(url, { query: { direction: 'newer', limit: '200', ...(cursor ? { cursor } : {}) } });
        expect(res.statusCode).toBe(200);
        const page = res.json() as { data: { id: string }[]; hasMore: boolean; nextCursor: string | null };
        expect(page.data.length).toBeGreaterThanOrEqual(1);
        sizes.push(page.data.length);
        seen.push(...page.data.map((m) => m.id));
        if (page.data.length > 1) expect(res.body.length).toBeLessThanOrEqual(64 * 1024 + 1024);
        if (!page.hasMore) break;
        cursor = page.nextCursor ?? undefined;
      }
      expect(seen).toEqual([...ids, big]);
      expect(sizes).toEqual([2, 2, 1, 1]);

      // Conversations page the same way.
      const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`key${i}`, 'v'.repeat(512)]));
      for (let i = 0; i < 9; i++) expect((await o.post('/v1/conversations', { metadata })).statusCode).toBe(201);
      const first = (await o.get('/v1/conversations', { query: { limit: '200' } })).json();
      expect(first.data.length).toBeLessThan(10);
      expect(first.hasMore).toBe(true);
      const rest = (await o.get('/v1/conversations', { query: { limit: '200', cursor: first.nextCursor } })).json();
      expect(first.data.length + rest.data.length).toBe(10);
      expect(rest.hasMore).toBe(false);
    });

    test('rate limits: 429 too_many_requests with Retry-After and X-RateLimit headers, per user and per address', async (api) => {
      const limited = await api.rebuild({
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_PER_MINUTE: '3',
        RATE_LIMIT_ADDRESS_PER_MINUTE: '8',
      });
      const a = limited.as('rl-a');
      for (let i = 0; i < 3; i++) {
        const res = await a.get('/v1/users/me');
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ratelimit-limit']).toBe('3');
        expect(res.headers['x-ratelimit-remaining']).toBe(String(2 - i));
      }
      const over = await a.post('/v1/conversations', { title: 'not created' });
      const error = expectError(over, 429, 'too_many_requests');
      expect(error.details).toMatchObject({ scope: 'user', limit: 3, windowSeconds: 60 });
      const retryAfter = Number(over.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(over.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '0' });
      expect(Number(over.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(1);

      // Another user still gets through; the address counts both.
      expect((await limited.as('rl-b').get('/v1/users/me')).statusCode).toBe(200);
      // Unauthenticated requests count against the address only.
      const anonymous = limited.withHeaders({});
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await anonymous.get('/v1/users/me')).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const byAddress = await anonymous.get('/v1/conversations');
      expect(expectError(byAddress, 429, 'too_many_requests').details).toMatchObject({ scope: 'address', limit: 8 });
      expect(byAddress.headers['retry-after']).toBeDefined();
      // Probes are exempt.
      expect((await limited.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

      // Nothing was created by the refused request (read with limits off).
      expect((await api.as('rl-a').get('/v1/conversations')).json().data).toEqual([]);
      // Off (the test default), nobody is limited.
      for (let i = 0; i < 5; i++) expect((await api.as('rl-a').get('/v1/users/me')).statusCode).toBe(200);
    });
  });
}

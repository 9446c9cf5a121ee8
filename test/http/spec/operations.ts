import { describe, expect } from 'vitest';
import {
  NotFoundError,
  SchemaMismatchError,
  UnavailableError,
  VersionConflictError,
} from '../../../src/domain/errors.js';
import { uuidv7 } from '../../../src/domain/ids.js';
import type { Store } from '../../../src/repositories/ports.js';
import { conversationOf, expectError, ISO_MS, type ApiTest } from '../support.js';

/** A test double for an outage: the real store with some members replaced. */
function withOverrides(
  store: Store,
  overrides: Record<string, unknown>,
  nested: Record<string, Record<string, unknown>> = {},
): Store {
  const wrap = <T extends object>(target: T, replace: Record<string, unknown>): T =>
    new Proxy(target, {
      get(t, p, r) {
        if (typeof p === 'string' && p in replace) return replace[p];
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  const replaced: Record<string, unknown> = { ...overrides };
  for (const [key, members] of Object.entries(nested))
    replaced[key] = wrap((store as unknown as Record<string, object>)[key]!, members);
  return wrap(store, replaced);
}

export function operationsSpec(test: ApiTest): void {
  describe('operations', () => {
    test('GET /health answers without credentials or database', async (api) => {
      const broken = await api.rebuild(
        {},
        withOverrides(api.store, {
          ping: async () => {
            throw new UnavailableError('down');
          },
        }),
      );
      const res = await broken.app.inject({ url: '/health' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    test('GET /ready is 200 when the database answers and the schema is current', async (api) => {
      const res = await api.app.inject({ url: '/ready' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        status: 'ready',
        database: api.store.kind,
        notifier: { type: 'local', state: 'connected', since: expect.stringMatching(ISO_MS) },
      });
    });

    test('GET /ready is 503 with the reason when ping fails', async (api) => {
      const down = await api.rebuild(
        {},
        withOverrides(api.store, {
          ping: async () => {
            throw new UnavailableError('connection refused', 7);
          },
        }),
      );
      const res = await down.app.inject({ url: '/ready' });
      const error = expectError(res, 503, 'unavailable');
      expect(error.message).toContain('connection refused');
      expect(error.details).toEqual({ check: 'database' });
      expect(res.headers['retry-after']).toBe('7');
    });

    test('GET /ready is 503 when migrations are pending or unknown', async (api) => {
      const status = async () => ({
        known: ['0001', '0002'],
        applied: ['0001', '0003'],
        pending: ['0002'],
        unknown: ['0003'],
      });
      const stale = await api.rebuild({}, withOverrides(api.store, {}, { migrator: { status } }));
      const res = await stale.app.inject({ url: '/ready' });
      const error = expectError(res, 503, 'schema_mismatch');
      expect(error.message).toContain('1 pending migration(s): 0002');
      expect(error.message).toContain('0003');
      expect(error.details).toEqual({ check: 'schema', pending: ['0002'], unknown: ['0003'] });
    });

    test('GET /openapi.json documents every route, the bearer scheme and the public probes', async (api) => {
      const res = await api.app.inject({ url: '/openapi.json' });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toBe('3.1.0');
      const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      );
      expect(routes.sort()).toEqual(
        [
          'GET /health',
          'GET /ready',
          'POST /v1/users',
          'GET /v1/users/me',
          'PATCH /v1/users/me',
          'GET /v1/users/{id}',
          'POST /v1/conversations',
          'GET /v1/conversations',
          'GET /v1/conversations/{id}',
          'PATCH /v1/conversations/{id}',
          'DELETE /v1/conversations/{id}',
          'GET /v1/conversations/{id}/participants',
          'POST /v1/conversations/{id}/participants',
          'DELETE /v1/conversations/{id}/participants/{userId}',
          'POST /v1/conversations/{id}/messages',
          'POST /v1/conversations/{id}/messages/{messageId}/append',
          'POST /v1/conversations/{id}/messages/{messageId}/finish',
          'GET /v1/conversations/{id}/messages',
          'GET /v1/conversations/{id}/messages/{messageId}',
          'PATCH /v1/conversations/{id}/messages/{messageId}',
          'DELETE /v1/conversations/{id}/messages/{messageId}',
          'GET /v1/conversations/{id}/events',
          'POST /v1/stream-tickets',
          'GET /v1/events',
          'POST /openai/v1/conversations',
          'GET /openai/v1/conversations/{conversation_id}',
          'POST /openai/v1/conversations/{conversation_id}',
          'DELETE /openai/v1/conversations/{conversation_id}',
          'POST /openai/v1/conversations/{conversation_id}/items',
          'GET /openai/v1/conversations/{conversation_id}/items',
          'GET /openai/v1/conversations/{conversation_id}/items/{item_id}',
          'DELETE /openai/v1/conversations/{conversation_id}/items/{item_id}',
        ].sort(),
      );
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths['/health'].get.security).toEqual([]);
      const list = doc.paths['/v1/conversations/{id}/messages'].get;
      expect(list.description).toContain('nextCursor');
      expect(list.description).toContain('prevCursor');
      expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '503']));
      const events = doc.paths['/v1/conversations/{id}/events'].get;
      for (const word of ['message.created', 'participant.removed', 'conversation.deleted', 'reset', 'Last-Event-ID'])
        expect(events.description).toContain(word);
      expect(JSON.stringify(events.responses['200'])).toContain('message.updated');
      // The OpenAI-compatible routes: tagged, with OpenAI's error shape documented.
      const openai = Object.entries(doc.paths as Record<string, Record<string, { tags?: string[] }>>).filter(([path]) =>
        path.startsWith('/openai/v1/'),
      );
      for (const [, ops] of openai) for (const op of Object.values(ops)) expect(op.tags).toEqual(['openai']);
      expect(doc.tags.map((t: { name: string }) => t.name)).toContain('openai');
      const items = doc.paths['/openai/v1/conversations/{conversation_id}/items'].get;
      expect(
        Object.keys(items.responses['400'].content['application/json'].schema.properties.error.properties).sort(),
      ).toEqual(['code', 'message', 'param', 'type']);
    });

    test('GET /docs serves the documentation UI', async (api) => {
      let res = await api.app.inject({ url: '/docs' });
      if (res.statusCode === 302) res = await api.app.inject({ url: String(res.headers.location) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('Swagger UI');
    });

    test('an unknown route is a 404 in the error shape, also under /v1 without credentials', async (api) => {
      expectError(await api.app.inject({ url: '/nope' }), 404, 'not_found');
      expectError(await api.app.inject({ method: 'POST', url: '/v1/nothing-here' }), 404, 'not_found');
    });

    test('request ids: a sane x-request-id is echoed, anything else is replaced', async (api) => {
      const given = await api.app.inject({ url: '/health', headers: { 'x-request-id': 'trace-42.a:b' } });
      expect(given.headers['x-request-id']).toBe('trace-42.a:b');
      const made = await api.app.inject({ url: '/health', headers: { 'x-request-id': 'has spaces and {braces}' } });
      expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const none = await api.app.inject({ url: '/health' });
      expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(none.headers['x-request-id']).not.toBe(made.headers['x-request-id']);
    });

    test('an unexpected failure is a 500 that hides internals; an outage mid-request is a 503 with Retry-After', async (api) => {
      const { id } = await conversationOf(api, 'ops-owner');
      const failing = await api.rebuild(
        {},
        withOverrides(
          api.store,
          {},
          {
            conversations: {
              get: async () => {
                throw new Error('SQLITE_CORRUPT at /secret/path password=hunter2');
              },
            },
          },
        ),
      );
      const res = await failing.as('ops-owner').get(`/v1/conversations/${id}`);
      const error = expectError(res, 500, 'internal');
      expect(res.body).not.toContain('hunter2');
      expect(res.body).not.toContain('SQLITE');
      expect(error.details).toEqual({ requestId: res.headers['x-request-id'] });

      const unavailable = await api.rebuild(
        {},
        withOverrides(
          api.store,
          {},
          {
            conversations: {
              get: async () => {
                throw new UnavailableError('pool exhausted at db.internal', 3);
              },
            },
          },
        ),
      );
      const res503 = await unavailable.as('ops-owner').get(`/v1/conversations/${id}`);
      expectError(res503, 503, 'unavailable');
      expect(res503.headers['retry-after']).toBe('3');
      expect(res503.body).not.toContain('db.internal');

      const mismatch = await api.rebuild(
        {},
        withOverrides(
          api.store,
          {},
          {
            conversations: {
              get: async () => {
                throw new SchemaMismatchError('column x missing');
              },
            },
          },
        ),
      );
      const resSchema = await mismatch.as('ops-owner').get(`/v1/conversations/${id}`);
      expectError(resSchema, 503, 'schema_mismatch');
      expect(resSchema.body).not.toContain('column x');

      // Sanity: the wrapper did not break the ordinary path.
      const missing = await api.rebuild(
        {},
        withOverrides(
          api.store,
          {},
          {
            conversations: {
              get: async () => {
                throw new NotFoundError('conversation', id);
              },
            },
          },
        ),
      );
      expectError(await missing.as('ops-owner').get(`/v1/conversations/${id}`), 404, 'not_found');
    });

    test('a concurrent change between read and write: retried when unguarded, 412 under If-Match, 409 under a body version', async (api) => {
      const { id } = await conversationOf(api, 'racer-owner');
      let races = 0;
      const racing = withOverrides(
        api.store,
        {},
        {
          conversations: {
            update: async (change: Parameters<Store['conversations']['update']>[0]) => {
              if (races > 0) {
                races -= 1;
                // Someone else's write lands first.
                await api.store.conversations.update({
                  id: change.id,
                  expectedVersion: (await api.store.conversations.get(change.id)).version,
                  patch: { title: 'theirs' },
                  updatedAt: new Date(),
                  audit: { ...change.audit, id: uuidv7(), actorId: 'other' },
                });
                throw new VersionConflictError('conversation', change.id, change.expectedVersion!);
              }
              return api.store.conversations.update(change);
            },
          },
        },
      );
      const app = await api.rebuild({}, racing);
      const url = `/v1/conversations/${id}`;

      races = 1;
      const retried = await app.as('racer-owner').patch(url, { title: 'mine' });
      expect(retried.statusCode).toBe(200);
      expect(retried.json()).toMatchObject({ title: 'mine', version: 3 });

      races = 1;
      expectError(
        await app.as('racer-owner').patch(url, { title: 'pinned' }, { headers: { 'if-match': '"3"' } }),
        412,
        'precondition_failed',
      );
      races = 1;
      expectError(await app.as('racer-owner').patch(url, { title: 'pinned', version: 4 }), 409, 'version_conflict');
      expect((await app.as('racer-owner').get(url)).json()).toMatchObject({ title: 'theirs', version: 5 });
    });
  });
}

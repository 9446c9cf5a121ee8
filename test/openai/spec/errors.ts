import OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { DuplicateError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/repositories/ports.js';
import { expectOpenAiError, failure, type OpenAiTest } from '../support.js';

/** The store with some methods of one repository replaced (an outage or a fault, as a test double). */
function withMessages(store: Store, replace: Record<string, unknown>): Store {
  const messages = new Proxy(store.messages, {
    get(target, property) {
      if (typeof property === 'string' && property in replace) return replace[property];
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new Proxy(store, {
    get(target, property) {
      if (property === 'messages') return messages;
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export function errorsSpec(test: OpenAiTest): void {
  describe('errors and authentication', () => {
    test('the API key is a polystore JWT: missing, malformed, forged or expired ones are AuthenticationErrors', async (api) => {
      const good = await api.sdk('alice');
      const { id } = await good.conversations.create();
      const forged = `${(await api.token('alice')).slice(0, -4)}AAAA`;
      for (const apiKey of ['sk-not-a-jwt', forged, 'e30.e30.e30']) {
        const client = new OpenAI({ baseURL: api.baseURL, apiKey, maxRetries: 0 });
        const body = expectOpenAiError(
          await failure(client.conversations.retrieve(id)),
          OpenAI.AuthenticationError,
          401,
        );
        expect(body.code).toBe('invalid_api_key');
      }
      // Without any Authorization header at all, over plain HTTP.
      const res = await fetch(`${api.baseURL}/conversations/${id}`);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body).toEqual({
        error: {
          message: expect.stringContaining('missing credentials'),
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
    });

    test('a caller is provisioned on first sight from the token, as on /v1', async (api) => {
      const client = await api.sdk('newcomer', { claims: { name: 'New Comer' } });
      await client.conversations.create();
      const me = await api.v1('newcomer').get('/users/me');
      expect(me.body).toMatchObject({ id: 'newcomer', displayName: 'New Comer' });
    });

    test('unknown routes and methods under /openai/v1 answer 404 in OpenAI’s shape', async (api) => {
      const client = await api.sdk('bob');
      const error = await failure(client.get('/responses'));
      expectOpenAiError(error, OpenAI.NotFoundError, 404);
      expect(error.error).toMatchObject({ code: 'not_found' });
      const res = await fetch(`${api.baseURL}/nowhere`, {
        headers: { authorization: `Bearer ${await api.token('bob')}` },
      });
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    });

    test(
      'over the rate limit: RateLimitError with Retry-After, in OpenAI’s shape',
      async (api) => {
        const client = await api.sdk('carol');
        const { id } = await client.conversations.create();
        await client.conversations.retrieve(id);
        const error = await failure(client.conversations.retrieve(id));
        const body = expectOpenAiError(error, OpenAI.RateLimitError, 429);
        expect(body.code).toBe('rate_limit_exceeded');
        expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
      },
      { env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '2' } },
    );

    test('an unexpected failure is an InternalServerError that hides internals and names the request', async (api) => {
      const broken = await api.rebuild(
        {},
        withMessages(api.store, {
          list: async () => {
            throw new Error('ECONNRESET at /secret/path password=hunter2');
          },
        }),
      );
      const client = new OpenAI({ baseURL: broken.baseURL, apiKey: await api.token('dave'), maxRetries: 0 });
      const { id } = await client.conversations.create();
      const error = await failure(client.conversations.items.list(id));
      const body = expectOpenAiError(error, OpenAI.InternalServerError, 500);
      expect(body.message).not.toContain('hunter2');
      expect(body.message).toContain(error.headers?.get('x-request-id') ?? 'missing');
      expect(body.code).toBe('internal');
    });

    test('a conflict is a ConflictError the SDK does not retry (x-should-retry: false)', async (api) => {
      let calls = 0;
      const conflicting = await api.rebuild(
        {},
        withMessages(api.store, {
          postMany: async () => {
            calls += 1;
            throw new DuplicateError('message', 'id');
          },
        }),
      );
      // Default retries: the SDK would retry a 409 twice unless told not to.
      const client = new OpenAI({ baseURL: conflicting.baseURL, apiKey: await api.token('erin') });
      const { id } = await client.conversations.create();
      const error = await failure(client.conversations.items.create(id, { items: [{ role: 'user', content: 'x' }] }));
      expectOpenAiError(error, OpenAI.ConflictError, 409);
      expect(error.headers?.get('x-should-retry')).toBe('false');
      expect(calls).toBe(1);
    });

    test('a body that is not JSON, or of the wrong type, is a BadRequestError naming the field', async (api) => {
      const token = await api.token('fay');
      const post = (body: string) =>
        fetch(`${api.baseURL}/conversations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
      const broken = await post('{"metadata":');
      expect(broken.status).toBe(400);
      expect(((await broken.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
      const typed = await post('{"metadata":"x"}');
      expect(((await typed.json()) as { error: { param: string } }).error.param).toBe('metadata');
      const unknown = await post('{"title":"polystore has titles, OpenAI does not"}');
      expect(((await unknown.json()) as { error: { param: string } }).error.param).toBe('title');
    });
  });
}

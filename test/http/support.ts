import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { mintToken, type MintOptions } from '../../src/http/auth/jwt.js';
import type { Store } from '../../src/repositories/ports.js';
import type { StoreTest } from '../contract/harness.js';

/**
 * What every HTTP test gets: an app built by buildApp over a fresh store of the backend under
 * test, and clients that call it through inject with real tokens minted by the same code as
 * `polystore token`.
 */

export const TEST_SECRET = 'http-suite-secret-0123456789abcdef0123456789';

export type Env = Record<string, string>;

/** Rate limits are off in tests, except where a test turns them on (RATE_LIMIT_ENABLED: 'true'). */
export function testConfig(env: Env = {}): Config {
  return loadConfig({
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_TYPE: 'memory',
      AUTH_JWT_SECRET: TEST_SECRET,
      RATE_LIMIT_ENABLED: 'false',
      ...env,
    },
    dotenvPath: false,
  });
}

export interface RequestOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export interface Client {
  get(url: string, opts?: RequestOptions): Promise<LightMyRequestResponse>;
  post(url: string, body?: unknown, opts?: RequestOptions): Promise<LightMyRequestResponse>;
  patch(url: string, body?: unknown, opts?: RequestOptions): Promise<LightMyRequestResponse>;
  delete(url: string, opts?: RequestOptions): Promise<LightMyRequestResponse>;
  /** A raw inject with this client's credentials. */
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
}

export interface Api {
  app: App;
  store: Store;
  config: Config;
  /** A valid token for `sub` under this app's config. */
  token(sub: string, claims?: Omit<MintOptions, 'sub'>): Promise<string>;
  /** A client authenticated as `sub` (the user is provisioned on its first request). */
  as(sub: string, claims?: Omit<MintOptions, 'sub'>): Client;
  /** A client sending the given headers and nothing else. */
  withHeaders(headers: Record<string, string>): Client;
  /** Another app over the same store, with settings changed (e.g. AUTH_MODE=dev). */
  rebuild(env: Env, store?: Store): Promise<Api>;
}

export type ApiTest = (
  name: string,
  fn: (api: Api) => Promise<void>,
  options?: { env?: Env; timeout?: number },
) => void;

function client(app: App, auth: () => Promise<Record<string, string>>): Client {
  const send = async (opts: InjectOptions) => {
    const headers = { ...(await auth()), ...((opts.headers as Record<string, string>) ?? {}) };
    return app.inject({ ...opts, headers });
  };
  const withBody =
    (method: 'POST' | 'PATCH') =>
    (url: string, body?: unknown, opts: RequestOptions = {}) =>
      send({
        method,
        url,
        ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
        ...(opts.query ? { query: opts.query } : {}),
        headers: opts.headers ?? {},
      });
  return {
    get: (url, opts = {}) =>
      send({ method: 'GET', url, ...(opts.query ? { query: opts.query } : {}), headers: opts.headers ?? {} }),
    post: withBody('POST'),
    patch: withBody('PATCH'),
    delete: (url, opts = {}) => send({ method: 'DELETE', url, headers: opts.headers ?? {} }),
    inject: send,
  };
}

async function makeApi(store: Store, env: Env, apps: App[]): Promise<Api> {
  const config = testConfig(env);
  const app = buildApp({ config, store, ownsStore: false });
  apps.push(app);
  await app.ready();
  const token = (sub: string, claims: Omit<MintOptions, 'sub'> = {}) => mintToken(config.auth, { sub, ...claims });
  return {
    app,
    store,
    config,
    token,
    as: (sub, claims) => client(app, async () => ({ authorization: `Bearer ${await token(sub, claims)}` })),
    withHeaders: (headers) => client(app, async () => headers),
    rebuild: (more, other) => makeApi(other ?? store, { ...env, ...more }, apps),
  };
}

/**
 * Turns the backend harness's store test into one that hands each test what `make` builds over
 * the test's store (an app, a listening gateway…), closing every app it opened afterwards.
 */
export function appTests<T>(
  test: StoreTest,
  make: (store: Store, env: Env, apps: App[]) => Promise<T>,
): (name: string, fn: (api: T) => Promise<void>, options?: { env?: Env; timeout?: number }) => void {
  return (name, fn, options = {}) =>
    test(
      name,
      async (store) => {
        const apps: App[] = [];
        try {
          await fn(await make(store, options.env ?? {}, apps));
        } finally {
          for (const app of apps) await app.close();
        }
      },
      options.timeout,
    );
}

/** Turns the backend harness's store test into one that hands each test a ready app. */
export function apiTests(test: StoreTest): ApiTest {
  return appTests(test, makeApi);
}

/** Asserts the one error shape and returns the error object. */
export function expectError(res: LightMyRequestResponse, status: number, code: string, field?: string) {
  expect({ status: res.statusCode, body: res.body.slice(0, 500) }).toMatchObject({ status });
  const body = res.json() as { error: { code: string; message: string; details: Record<string, unknown> | null } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  if (field !== undefined) {
    const fields = (body.error.details?.fields ?? []) as { field: string; message: string }[];
    expect(fields.map((f) => f.field)).toContain(field);
  }
  return body.error;
}

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Creates a conversation as `owner` with `members` (provisioning all of them first). */
export async function conversationOf(
  api: Api,
  owner: string,
  members: string[] = [],
  body: Record<string, unknown> = {},
) {
  for (const sub of [owner, ...members]) expect((await api.as(sub).get('/v1/users/me')).statusCode).toBe(200);
  const res = await api.as(owner).post('/v1/conversations', { participantIds: members, ...body });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; version: number; title: string | null };
}

export const text = (s: string) => [{ type: 'text', text: s }];

export async function postText(c: Client, conversationId: string, s: string, extra: Record<string, unknown> = {}) {
  const res = await c.post(`/v1/conversations/${conversationId}/messages`, {
    role: 'user',
    content: text(s),
    ...extra,
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; version: number; createdAt: string };
}

import OpenAI from 'openai';
import { expect } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import type { Store } from '../../src/repositories/ports.js';
import type { StoreTest } from '../contract/harness.js';
import { appTests, testConfig, type Env } from '../http/support.js';

/**
 * What every test of the OpenAI-compatible API gets: the gateway listening on a loopback port
 * over a fresh store of the backend under test, the real `openai` SDK pointed at it with a real
 * polystore JWT as its API key, and a small /v1 client over the same HTTP server for the
 * cross-surface checks.
 */

export interface V1Response {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of /v1, asserted field by field in the specs.
  body: any;
}

export interface V1Client {
  get(path: string): Promise<V1Response>;
  post(path: string, body?: unknown): Promise<V1Response>;
  patch(path: string, body: unknown): Promise<V1Response>;
  delete(path: string): Promise<V1Response>;
}

export interface OpenAiApi {
  app: App;
  store: Store;
  config: Config;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** `<origin>/openai/v1`, what the SDK's baseURL is. */
  baseURL: string;
  token(sub: string, claims?: { name?: string }): Promise<string>;
  /** The SDK as `sub` (no retries unless asked, so error tests see the first answer). */
  sdk(sub: string, options?: { maxRetries?: number; claims?: { name?: string } }): Promise<OpenAI>;
  /** /v1 as `sub`, over the same server. */
  v1(sub: string): V1Client;
  /** Another gateway over a store (default: this one), with settings changed. */
  rebuild(env: Env, store?: Store): Promise<OpenAiApi>;
}

export type OpenAiTest = (
  name: string,
  fn: (api: OpenAiApi) => Promise<void>,
  options?: { env?: Env; timeout?: number },
) => void;

async function request(origin: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${origin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function start(store: Store, env: Env, apps: App[]): Promise<OpenAiApi> {
  const config = testConfig(env);
  const app = buildApp({ config, store, ownsStore: false });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  const baseURL = `${origin}/openai/v1`;
  const token = (sub: string, claims: { name?: string } = {}) => mintToken(config.auth, { sub, ...claims });
  return {
    app,
    store,
    config,
    origin,
    baseURL,
    token,
    sdk: async (sub, options = {}) =>
      new OpenAI({ baseURL, apiKey: await token(sub, options.claims), maxRetries: options.maxRetries ?? 0 }),
    v1: (sub) => {
      const send = async (method: string, path: string, body?: unknown) =>
        request(origin, await token(sub), method, `/v1${path}`, body);
      return {
        get: (path) => send('GET', path),
        post: (path, body) => send('POST', path, body),
        patch: (path, body) => send('PATCH', path, body),
        delete: (path) => send('DELETE', path),
      };
    },
    rebuild: (more, other) => start(other ?? store, { ...env, ...more }, apps),
  };
}

/** Turns the backend harness's store test into one that hands each test a listening gateway. */
export function openAiTests(test: StoreTest): OpenAiTest {
  return appTests(test, start);
}

/** An item as this API returns it: every kind has its id (some of the SDK's types make it optional). */
export type Item = OpenAI.Conversations.ConversationItem & { id: string };

export const withIds = (items: OpenAI.Conversations.ConversationItem[]) => items as Item[];

/** Every item of a conversation, oldest first, through the SDK's auto-pagination. */
export async function allItems(client: OpenAI, conversationId: string, limit = 100): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of client.conversations.items.list(conversationId, { order: 'asc', limit }))
    out.push(item as Item);
  return out;
}

/** The SDK error a call fails with (and fails the test when it succeeds). */
export async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error('expected the call to fail');
}

/** Asserts OpenAI's error shape on an SDK error: class, status, param, type, code. */
export function expectOpenAiError(
  error: InstanceType<typeof OpenAI.APIError>,
  kind: abstract new (...args: never[]) => unknown,
  status: number,
  param: string | null = null,
) {
  expect(error).toBeInstanceOf(kind);
  expect(error.status).toBe(status);
  const body = error.error as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
  expect(body.param).toBe(param);
  expect(body.type).toBe(status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error');
  return body as { message: string; type: string; param: string | null; code: string | null };
}

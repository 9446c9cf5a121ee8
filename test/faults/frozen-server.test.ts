import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import { openStore } from '../../src/repositories/factory.js';
import type { Store } from '../../src/repositories/ports.js';
import { ensureSchema } from '../../src/repositories/schema.js';
import { testConfig } from '../http/support.js';
import { testLogger } from '../support/initializer.js';
import { startOwnMariadb, startOwnPostgres, type OwnServer } from '../support/own-servers.js';

/**
 * A database that holds a lock for longer than the statement timeout, or a server that stops
 * answering altogether (every process SIGSTOPped, connections left open): each request must end
 * as 503 + Retry-After within a bound set by the configured timeouts, /ready too, and the service
 * must recover by itself. Each test starts a server of its own; the machine's servers are never
 * touched.
 */

const STATEMENT_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
const POOL_SIZE = 3;
/** Statement timeout + client grace (2 s) + one connect timeout, twice over for a loaded machine. */
const BOUND_MS = 2 * (STATEMENT_TIMEOUT_MS + 2000 + CONNECT_TIMEOUT_MS);
const REQUESTS = 10;

interface Fixture {
  server: OwnServer;
  store: Store;
  app: App;
  token: string;
  conversationId: string;
  /** Runs SQL on a connection of its own (for holding locks). */
  admin(): Promise<{ query(sql: string): Promise<unknown>; end(): Promise<void> }>;
}

async function setUp(type: 'postgres' | 'mariadb'): Promise<Fixture> {
  const server = type === 'postgres' ? await startOwnPostgres() : await startOwnMariadb();
  const url = new URL(server.url);
  const admin = async () => {
    if (type === 'postgres') {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url.toString() });
      client.on('error', () => undefined);
      await client.connect();
      return { query: (sql: string) => client.query(sql), end: () => client.end() };
    }
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(url.toString());
    connection.on('error', () => undefined);
    return { query: (sql: string) => connection.query(sql), end: () => connection.end() };
  };
  const setup = await admin();
  await setup.query(
    type === 'postgres' ? 'CREATE DATABASE faults' : 'CREATE DATABASE faults CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
  );
  await setup.end();
  url.pathname = '/faults';
  const config = testConfig({
    DATABASE_TYPE: type,
    DATABASE_URL: url.toString(),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    DATABASE_POOL_SIZE: String(POOL_SIZE),
  });
  const store = await openStore(config.database, testLogger);
  await ensureSchema(store, { migrate: true });
  const app = buildApp({ config, store, ownsStore: false });
  await app.ready();
  const token = await mintToken(config.auth, { sub: 'alice' });
  const created = await app.inject({
    method: 'POST',
    url: '/v1/conversations',
    headers: { authorization: `Bearer ${token}` },
    payload: { title: 'faults' },
  });
  expect(created.statusCode).toBe(201);
  const adminUrl = new URL(url);
  return {
    server,
    store,
    app,
    token,
    conversationId: created.json<{ id: string }>().id,
    admin: async () => {
      void adminUrl;
      return admin();
    },
  };
}

const post = (f: Fixture, text: string) =>
  f.app.inject({
    method: 'POST',
    url: `/v1/conversations/${f.conversationId}/messages`,
    headers: { authorization: `Bearer ${f.token}` },
    payload: { role: 'user', content: [{ type: 'text', text }] },
  });

/** Sends `n` posts at once; returns each one's status, Retry-After and duration. */
async function burst(f: Fixture, n: number) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const started = Date.now();
      const response = await post(f, `burst ${i}`);
      return {
        status: response.statusCode,
        retryAfter: response.headers['retry-after'],
        code: response.json<{ error?: { code: string } }>().error?.code,
        ms: Date.now() - started,
      };
    }),
  );
}

async function recovers(f: Fixture): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await post(f, 'after');
    if (response.statusCode === 201 || Date.now() > deadline) return response.statusCode;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.each(['postgres', 'mariadb'] as const)('%s: waits end within the configured timeouts', (type) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setUp(type);
  }, 120_000);
  afterAll(async () => {
    await f?.app.close();
    await f?.store.close().catch(() => undefined);
    await f?.server.stop();
  });

  it('a table lock held longer than the statement timeout: 503 + Retry-After in time, then 201', async () => {
    const holder = await f.admin();
    try {
      if (type === 'postgres') {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE');
      } else {
        await holder.query('LOCK TABLES conversations WRITE');
      }
      const results = await burst(f, REQUESTS);
      for (const r of results) {
        expect(r).toMatchObject({ status: 503, code: 'unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
        expect(r.ms).toBeLessThan(BOUND_MS);
      }
    } finally {
      await holder.query(type === 'postgres' ? 'ROLLBACK' : 'UNLOCK TABLES');
      await holder.end();
    }
    expect(await recovers(f)).toBe(201);
  }, 60_000);

  it('a frozen server: every request and /ready answer 503 in time; it recovers when the server runs again', async () => {
    await f.server.freeze();
    let results;
    let ready;
    try {
      const started = Date.now();
      [results, ready] = await Promise.all([
        burst(f, REQUESTS),
        f.app
          .inject({ method: 'GET', url: '/ready' })
          .then((r) => ({ status: r.statusCode, ms: Date.now() - started })),
      ]);
    } finally {
      f.server.thaw();
    }
    for (const r of results) {
      expect(r).toMatchObject({ status: 503, code: 'unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
      expect(r.ms).toBeLessThan(BOUND_MS);
    }
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(BOUND_MS);
    expect(await recovers(f)).toBe(201);
  }, 60_000);
});

import '../support/provided-context.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Config, DatabaseType } from '../../src/config/schema.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import { openStore } from '../../src/repositories/factory.js';
import { ensureSchema } from '../../src/repositories/schema.js';
import type { StoreLogger } from '../../src/repositories/ports.js';
import { testConfig } from '../http/support.js';
import { requiredBackends } from '../support/servers.js';
import { serverFor } from '../support/initializer.js';

/**
 * The outage test, shared by every server database: the app runs over real HTTP on a database of
 * the test's own; while client loops post messages, the backend cuts that database off (refuses
 * new connections, ends the open ones), then lets it back. The server itself is shared with other
 * tests and is never stopped.
 *
 * What must hold: every request finishes within a bound derived from the configured timeouts;
 * failures are exactly 503 + Retry-After + the standard error body (never a 500); /ready says 503
 * and /health 200 during the outage; nothing crashes the process; the service recovers without
 * help; every message acknowledged with 201 is stored afterwards and messageCount agrees.
 */

/** A database only this test uses, and the switch that cuts it off. */
export interface OutageDatabase {
  /** DATABASE_URL for the app. */
  url: string;
  /** Refuses new connections to this database (or user) and ends the open ones. */
  cut(): Promise<void>;
  /** Accepts connections again. */
  restore(): Promise<void>;
  /** Drops what was created, ending any connection left; also after a failed test. */
  drop(): Promise<void>;
}

export interface OutageBackend {
  kind: string;
  databaseType: DatabaseType;
  /** Creates a fresh database called `name` on the server at `serverUrl` (an admin URL). */
  create(serverUrl: string, name: string): Promise<OutageDatabase>;
  /**
   * What the store logs when the cut breaks an idle pooled connection (PostgreSQL's pool emits an
   * 'error' event that must be logged, not thrown). The test keeps a pooled connection idle.
   */
  idleErrorLog?: RegExp;
}

const CONNECT_TIMEOUT_MS = 1000;
const STATEMENT_TIMEOUT_MS = 2000;
const POOL_SIZE = 4;
/** No request may take longer than this, outage or not. */
const REQUEST_BOUND_MS = 3 * (CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS);
/** Fewer loops than pooled connections, so one connection is idle when the cut comes. */
const LOOPS = POOL_SIZE - 1;
const MAX_REQUESTS_PER_LOOP = 1000;
const PAUSE_BETWEEN_REQUESTS_MS = 20;
const PHASE_BOUND_MS = 15_000;
/** The outage lasts at least this long, several connect timeouts' worth of client retries. */
const OUTAGE_MIN_MS = 2 * CONNECT_TIMEOUT_MS;

/** Lower-case and short: a database and user name on every server without quoting. */
export const outageName = () => `outage_${process.pid}_${Date.now().toString(36)}`;

/** One post of a client loop, as the client saw it. */
interface Attempt {
  loop: number;
  clientMessageId: string;
  start: number;
  end: number;
  status: number | 'timeout' | 'error';
  retryAfter: string | null;
  body: unknown;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  ms: number;
}

type Call = (sub: string | null, method: string, path: string, body?: unknown) => Promise<Answer>;

/** Real HTTP to the listening app; `sub` picks a bearer token (null: no credentials). Aborts at REQUEST_BOUND_MS. */
function httpClient(base: string, tokens: Map<string, string>): Call {
  return async (sub, method, path, body) => {
    const headers: Record<string, string> = {};
    if (sub !== null) headers.authorization = `Bearer ${tokens.get(sub)}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const start = performance.now();
    const res = await fetch(base + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_BOUND_MS),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? null : JSON.parse(text),
      ms: performance.now() - start,
    };
  };
}

/** Polls `done` (which may send a request) until it holds; fails after PHASE_BOUND_MS, saying what it saw. */
async function waitUntil(what: string, done: () => boolean | Promise<boolean>, seen: () => string): Promise<void> {
  const deadline = Date.now() + PHASE_BOUND_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${PHASE_BOUND_MS} ms waiting for ${what}; ${seen()}`);
    await sleep(50);
  }
}

/** Posts counted by status; with one body for each status when a wait failed. */
function tally(attempts: Attempt[], examples: boolean): string {
  const byStatus: Record<string, { count: number; example: unknown }> = {};
  for (const a of attempts) {
    byStatus[String(a.status)] ??= { count: 0, example: a.body };
    byStatus[String(a.status)]!.count++;
  }
  const shown = examples
    ? byStatus
    : Object.fromEntries(Object.entries(byStatus).map(([status, { count }]) => [status, count]));
  return `${attempts.length} posts: ${JSON.stringify(shown)}`;
}

/** Every message of a conversation, oldest first, through the paged API. */
async function allMessages(call: Call, sub: string, path: string): Promise<{ id: string; clientMessageId: string }[]> {
  const stored: { id: string; clientMessageId: string }[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res = await call(
      sub,
      'GET',
      `${path}?direction=newer&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(res.status).toBe(200);
    const body = res.body as {
      data: { id: string; clientMessageId: string }[];
      nextCursor: string | null;
      hasMore: boolean;
    };
    stored.push(...body.data.map((m) => ({ id: m.id, clientMessageId: m.clientMessageId })));
    if (!body.hasMore) return stored;
    cursor = body.nextCursor;
  }
  throw new Error('more than 100 pages of messages');
}

/** 503, a Retry-After of whole seconds, and the one error body with code `unavailable`. */
function expectUnavailable(status: number | string, retryAfter: string | null, body: unknown): void {
  expect({ status, body }).toMatchObject({ status: 503 });
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  expect(body).toEqual({
    error: { code: 'unavailable', message: expect.stringMatching(/\S/), details: expect.any(Object) },
  });
}

export function describeOutage(backend: OutageBackend): void {
  describe(`database outage on ${backend.kind}`, () => {
    let serverUrl: string | undefined;
    let skipReason: string | undefined;

    beforeAll(() => {
      const info = serverFor(backend.kind);
      if ('url' in info) {
        serverUrl = info.url;
        return;
      }
      if (requiredBackends().has(backend.kind))
        throw new Error(`TEST_REQUIRE names ${backend.kind}, but it cannot run: ${info.skip}`);
      skipReason = info.skip;
      console.warn(`[polystore tests] outage test on ${backend.kind} SKIPPED: ${info.skip}`);
    });

    it('answers 503 during the outage, never hangs or crashes, recovers alone and loses no acknowledged write', async (ctx) => {
      if (skipReason !== undefined || serverUrl === undefined) {
        ctx.skip(skipReason);
        return;
      }

      const crashes: unknown[] = [];
      const onCrash = (error: unknown) => void crashes.push(error);
      process.on('uncaughtException', onCrash);
      process.on('unhandledRejection', onCrash);

      const storeLogs: string[] = [];
      const log: StoreLogger = {
        info: () => undefined,
        warn: (_obj, msg) => void storeLogs.push(msg),
        error: (_obj, msg) => void storeLogs.push(msg),
      };
      // The app's error log, to show what lies behind an unexpected status.
      const appErrors: { reqId?: string; err?: unknown }[] = [];
      const logger = pino({ level: 'error' }, { write: (line: string) => void appErrors.push(JSON.parse(line)) });

      const db = await backend.create(serverUrl, outageName());
      let app: ReturnType<typeof buildApp> | undefined;
      try {
        const config: Config = testConfig({
          DATABASE_TYPE: backend.databaseType,
          DATABASE_URL: db.url,
          DATABASE_POOL_SIZE: String(POOL_SIZE),
          DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
          DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        });
        const store = await openStore(config.database, log);
        await ensureSchema(store, { migrate: true }).catch(async (error: unknown) => {
          await store.close();
          throw error;
        });
        app = buildApp({ config, store, logger });
        const tokens = new Map<string, string>();
        const call = httpClient(await app.listen({ host: '127.0.0.1', port: 0 }), tokens);

        // Users and one conversation all loops post to (contention on its messageCount included).
        const authors = Array.from({ length: LOOPS }, (_, i) => `outage-user-${i}`);
        const owner = authors[0]!;
        for (const sub of authors) {
          tokens.set(sub, await mintToken(config.auth, { sub }));
          expect((await call(sub, 'GET', '/v1/users/me')).status).toBe(200);
        }
        const created = await call(owner, 'POST', '/v1/conversations', {
          participantIds: authors.slice(1),
          title: 'outage',
        });
        expect(created.status).toBe(201);
        const conversationId = (created.body as { id: string }).id;
        const messagesPath = `/v1/conversations/${conversationId}/messages`;
        const post = (sub: string, clientMessageId: string) =>
          call(sub, 'POST', messagesPath, {
            role: 'user',
            content: [{ type: 'text', text: `message ${clientMessageId}` }],
            clientMessageId,
          });

        // Open every pooled connection, so one stays idle while the loops run.
        const warm = await Promise.all(Array.from({ length: POOL_SIZE * 2 }, () => call(null, 'GET', '/ready')));
        expect(warm.map((r) => r.status)).toEqual(warm.map(() => 200));

        // The client loops: bounded in count and time, each post with its own clientMessageId.
        const attempts: Attempt[] = [];
        let stop = false;
        const loopDeadline = Date.now() + 4 * PHASE_BOUND_MS;
        const loop = async (n: number) => {
          for (let i = 0; i < MAX_REQUESTS_PER_LOOP && !stop && Date.now() < loopDeadline; i++) {
            const clientMessageId = `loop${n}-${i}`;
            const start = performance.now();
            try {
              const res = await post(authors[n]!, clientMessageId);
              attempts.push({
                loop: n,
                clientMessageId,
                start,
                end: performance.now(),
                status: res.status,
                retryAfter: res.headers.get('retry-after'),
                body: res.body,
              });
            } catch (error) {
              const status = (error as Error).name === 'TimeoutError' ? 'timeout' : 'error';
              attempts.push({
                loop: n,
                clientMessageId,
                start,
                end: performance.now(),
                status,
                retryAfter: null,
                body: String(error),
              });
            }
            await sleep(PAUSE_BETWEEN_REQUESTS_MS);
          }
        };
        const loops = Promise.all(authors.map((_, n) => loop(n)));
        const everyLoopHas = (since: number, status: number, count: number) =>
          authors.every(
            (_, n) => attempts.filter((a) => a.loop === n && a.start >= since && a.status === status).length >= count,
          );
        const seen = () => tally(attempts, true);

        let cutAt = 0;
        const probes: Answer[] = [];
        try {
          // 1. Normal operation.
          await waitUntil('3 posts per loop before the outage', () => everyLoopHas(0, 201, 3), seen);

          // 2. The outage: while the loops post, the database goes away.
          cutAt = performance.now();
          await db.cut();
          await waitUntil(
            '3 × 503 per loop during the outage',
            () => everyLoopHas(cutAt, 503, 3) && performance.now() - cutAt >= OUTAGE_MIN_MS,
            seen,
          );
          const ready = await call(null, 'GET', '/ready');
          probes.push(ready);
          expectUnavailable(ready.status, ready.headers.get('retry-after'), ready.body);
          expect((ready.body as { error: { details: unknown } }).error.details).toEqual({ check: 'database' });
          const health = await call(null, 'GET', '/health');
          probes.push(health);
          expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: 'ok' } });

          // 3. The database returns; the service recovers with no help, and every loop posts again.
          await db.restore();
          await waitUntil(
            '/ready to answer 200 again',
            async () => {
              const res = await call(null, 'GET', '/ready');
              probes.push(res);
              expect([200, 503]).toContain(res.status);
              return res.status === 200;
            },
            seen,
          );
          const readyAt = performance.now();
          await waitUntil('a 201 for every loop after recovery', () => everyLoopHas(readyAt, 201, 1), seen);
        } finally {
          stop = true;
          await loops;
        }
        console.info(
          `[outage ${backend.kind}] ${tally(attempts, false)}; slowest ${Math.round(Math.max(...attempts.map((a) => a.end - a.start)))} ms`,
        );

        // Every request finished in time with 201 or a proper 503; none that ended before the cut failed.
        const summary = (list: Attempt[]) =>
          list.slice(0, 5).map((a) => {
            const requestId = (a.body as { error?: { details?: { requestId?: string } } } | null)?.error?.details
              ?.requestId;
            const serverError = requestId === undefined ? undefined : appErrors.find((e) => e.reqId === requestId)?.err;
            return {
              clientMessageId: a.clientMessageId,
              status: a.status,
              ms: Math.round(a.end - a.start),
              body: a.body,
              serverError,
            };
          });
        expect(summary(attempts.filter((a) => a.status !== 201 && a.status !== 503))).toEqual([]);
        expect(summary(attempts.filter((a) => a.end - a.start >= REQUEST_BOUND_MS))).toEqual([]);
        expect(summary(attempts.filter((a) => a.end < cutAt && a.status !== 201))).toEqual([]);
        expect(probes.filter((p) => p.ms >= REQUEST_BOUND_MS).map((p) => ({ status: p.status, ms: p.ms }))).toEqual([]);
        const failed = attempts.filter((a) => a.status === 503);
        for (const a of failed) {
          expectUnavailable(a.status, a.retryAfter, a.body);
          expect((a.body as { error: { details: unknown } }).error.details).toEqual({
            retryAfterSeconds: Number(a.retryAfter),
            dependency: 'database',
          });
        }

        // A new post succeeds; the failed ones, retried with their clientMessageId, are stored
        // once each: 201, or 200 where the write had committed but its answer was lost.
        const last = await post(owner, 'after-recovery');
        expect(last.status).toBe(201);
        const acknowledged = new Map<string, string>([['after-recovery', (last.body as { id: string }).id]]); // clientMessageId → id
        for (const a of attempts)
          if (a.status === 201) acknowledged.set(a.clientMessageId, (a.body as { id: string }).id);
        const retried: Record<number, number> = {};
        for (const a of failed) {
          const res = await post(authors[a.loop]!, a.clientMessageId);
          expect([200, 201]).toContain(res.status);
          retried[res.status] = (retried[res.status] ?? 0) + 1;
        }
        console.info(`[outage ${backend.kind}] retried the ${failed.length} failed posts: ${JSON.stringify(retried)}`);

        // Nothing acknowledged is missing, nothing is stored twice, and messageCount agrees.
        const stored = await allMessages(call, owner, messagesPath);
        const storedIds = new Map(stored.map((m) => [m.clientMessageId, m.id]));
        expect(storedIds.size).toBe(stored.length);
        expect([...acknowledged].filter(([clientMessageId, id]) => storedIds.get(clientMessageId) !== id)).toEqual([]);
        expect([...storedIds.keys()].sort()).toEqual(
          [...new Set([...attempts.map((a) => a.clientMessageId), 'after-recovery'])].sort(),
        );
        const conversation = await call(owner, 'GET', `/v1/conversations/${conversationId}`);
        expect(conversation.status).toBe(200);
        expect((conversation.body as { messageCount: number }).messageCount).toBe(stored.length);

        // The process survived, and (PostgreSQL) the broken idle connection was logged.
        expect(crashes.map(String)).toEqual([]);
        if (backend.idleErrorLog) expect(storeLogs).toContainEqual(expect.stringMatching(backend.idleErrorLog));
      } finally {
        process.off('uncaughtException', onCrash);
        process.off('unhandledRejection', onCrash);
        try {
          await app?.close(); // closes the store too
        } finally {
          await db.drop();
        }
      }
    }, 120_000);
  });
}

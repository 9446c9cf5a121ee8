import { afterEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/auth/jwt.js';
import { toHttpFailure } from '../../src/http/errors.js';
import {
  errorOf,
  type Listening,
  listen,
  openRaw,
  parseResponse,
  parseResponses,
  type RawConnection,
  sleep,
  trickle,
  within,
} from './support.js';

/**
 * Slow and malformed clients against the real listening server (127.0.0.1, port 0): raw sockets,
 * bounded counts, every wait bounded. Timeouts are shortened through the settings so the bounds
 * are checked in about a second.
 */

const HEADERS_MS = 500;
const REQUEST_MS = 1500;
const SHORT = { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) };
/** Node looks for expired requests every quarter of the shorter timeout; plus scheduling slack. */
const SLACK_MS = 700;

let server: Listening | undefined;
const open: RawConnection[] = [];

afterEach(async () => {
  for (const conn of open.splice(0)) conn.socket.destroy();
  await server?.close();
  server = undefined;
});

function raw(port: number): RawConnection {
  const conn = openRaw(port);
  open.push(conn);
  return conn;
}

/** Asserts a complete error response with Connection: close and returns its error object. */
function expectRawError(text: string, status: number, code: string) {
  const res = parseResponse(text);
  expect(res, `a complete response, got ${JSON.stringify(text.slice(0, 300))}`).toBeDefined();
  expect(res!.status).toBe(status);
  expect(res!.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res!.headers.connection).toBe('close');
  const error = errorOf(res!.body);
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  return error;
}

describe('slow clients', () => {
  it('connections whose headers trickle in get 408 in the error shape within HTTP_HEADERS_TIMEOUT_MS', async () => {
    server = await listen(SHORT);
    const conns = Array.from({ length: 100 }, () => raw(server!.port));
    for (const conn of conns) {
      conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      trickle(conn, 'X-Slow: 1\r\n', 100, 5000);
    }
    // And one that never sends a byte.
    const silent = raw(server.port);
    const results = await within(Promise.all([...conns, silent].map((c) => c.closed)), 5000, 'the slow connections');
    for (const [i, result] of results.entries()) {
      expect(result.afterMs).toBeGreaterThanOrEqual(HEADERS_MS - 50);
      expect(result.afterMs).toBeLessThan(HEADERS_MS + SLACK_MS);
      const error = expectRawError([...conns, silent][i]!.received(), 408, 'request_timeout');
      expect(error.details).toEqual({ headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS });
    }
  }, 15_000);

  it('authenticated requests whose body trickles in get 408 within HTTP_REQUEST_TIMEOUT_MS', async () => {
    server = await listen(SHORT);
    const token = await mintToken(server.config.auth, { sub: 'slow-body' });
    const conns = Array.from({ length: 30 }, () => raw(server!.port));
    for (const conn of conns) {
      conn.write(
        `POST /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"title":"',
      );
      trickle(conn, 'a', 100, 6000);
    }
    const results = await within(Promise.all(conns.map((c) => c.closed)), 6000, 'the slow bodies');
    for (const [i, result] of results.entries()) {
      expect(result.afterMs).toBeGreaterThanOrEqual(REQUEST_MS - 50);
      expect(result.afterMs).toBeLessThan(REQUEST_MS + SLACK_MS);
      expectRawError(conns[i]!.received(), 408, 'request_timeout');
    }
    // Nothing half-received was stored.
    const list = await server.app.inject({
      method: 'GET',
      url: '/v1/conversations',
      headers: { authorization: `Bearer ${token}` },
    });
    expect((list.json() as { data: unknown[] }).data).toEqual([]);
  }, 15_000);

  it('a request answered before its body arrived is not answered twice when the body never completes', async () => {
    server = await listen(SHORT);
    const conn = raw(server.port);
    conn.write('POST /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n');
    conn.write('Content-Length: 1000\r\n\r\n{"title":');
    const result = await within(conn.closed, REQUEST_MS + 2000, 'the connection to close');
    expect(result.afterMs).toBeLessThan(REQUEST_MS + SLACK_MS);
    const responses = parseResponses(conn.received());
    expect(responses.map((r) => r.status)).toEqual([401]);
    expect(errorOf(responses[0]!.body).code).toBe('unauthorized');
  }, 10_000);

  it('a response that lasts longer than the request timeout is not cut (long-lived streams)', async () => {
    server = await listen(SHORT, (app) => {
      app.get('/test/stream', (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
        let n = 0;
        const timer = setInterval(() => {
          reply.raw.write(`tick ${++n}\n`);
          if (n === 10) {
            clearInterval(timer);
            reply.raw.end();
          }
        }, 250);
      });
    });
    const conn = raw(server.port);
    const started = Date.now();
    conn.write('GET /test/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await within(
      (async () => {
        while (!conn.received().includes('0\r\n\r\n')) await sleep(50);
      })(),
      5000,
      'the end of the stream',
    );
    expect(Date.now() - started).toBeGreaterThan(REQUEST_MS);
    expect(conn.received()).toContain('tick 10\n');
    expect(conn.isClosed()).toBe(false);
  }, 10_000);
});

describe('answers Node gives before any route', () => {
  it('431 for oversized headers and 400 for malformed HTTP, in the error shape, with Connection: close', async () => {
    server = await listen();
    const big = raw(server.port);
    big.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await within(big.closed, 3000, 'the 431');
    expectRawError(big.received(), 431, 'headers_too_large');

    for (const garbage of ['GARBAGE\r\n\r\n', 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n']) {
      const conn = raw(server.port);
      conn.write(garbage);
      await within(conn.closed, 3000, 'the 400');
      const error = expectRawError(conn.received(), 400, 'bad_request');
      expect(error).toEqual({ code: 'bad_request', message: 'the request is not valid HTTP/1.1', details: null });
    }
  }, 10_000);

  it('paths that climb out of /docs/static are 404 not_found; its files are still served', async () => {
    server = await listen();
    for (const path of [
      '/docs/static/../../package.json',
      '/docs/static/%2e%2e/%2e%2e/package.json',
      '/docs/static/..%2f..%2fpackage.json',
    ]) {
      const conn = raw(server.port);
      conn.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      await within(conn.closed, 3000, path);
      const res = parseResponse(conn.received());
      expect({ path, status: res?.status }).toEqual({ path, status: 404 });
      expect(errorOf(res!.body).code).toBe('not_found');
      expect(res!.body).not.toContain('"name"');
    }
    const css = await server.app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
    // The mapping itself: a non-domain 403 (only @fastify/static raises one) is a 404.
    expect(toHttpFailure(Object.assign(new Error('Forbidden'), { statusCode: 403 }))).toMatchObject({
      status: 404,
      code: 'not_found',
    });
  }, 10_000);
});

describe('the connection cap', () => {
  it('closes connections beyond HTTP_MAX_CONNECTIONS at once; freed slots serve again', async () => {
    server = await listen({ HTTP_MAX_CONNECTIONS: '5' });
    const count = () =>
      new Promise<number>((resolve, reject) =>
        server!.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
    const held = Array.from({ length: 5 }, () => raw(server!.port));
    for (const conn of held) conn.write('GET /health HTTP/1.1\r\n');
    await within(
      (async () => {
        while ((await count()) < 5) await sleep(20);
      })(),
      3000,
      'five connections',
    );
    const extras = Array.from({ length: 10 }, () => raw(server!.port));
    for (const extra of extras) extra.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const results = await within(Promise.all(extras.map((c) => c.closed)), 3000, 'the extra connections');
    for (const [i, result] of results.entries()) {
      expect(result.afterMs).toBeLessThan(1000);
      expect(extras[i]!.received()).toBe('');
    }
    expect(held.every((c) => !c.isClosed())).toBe(true);

    for (const conn of held) conn.socket.destroy();
    await within(
      (async () => {
        while ((await count()) > 0) await sleep(20);
      })(),
      3000,
      'the held connections to close',
    );
    const again = raw(server.port);
    again.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await within(again.closed, 3000, 'a request after the cap freed up');
    expect(parseResponse(again.received())?.status).toBe(200);
  }, 15_000);
});

describe('closing', () => {
  it('in-flight requests are answered with Connection: close; idle sockets are closed; close() does not wait for them', async () => {
    server = await listen({ AUTH_MODE: 'dev' });
    const port = server.port;
    // An idle keep-alive connection, after one request.
    const idle = raw(port);
    idle.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await within(
      (async () => {
        while (!parseResponse(idle.received())) await sleep(20);
      })(),
      3000,
      'the first response',
    );
    expect(parseResponse(idle.received())!.headers.connection).toBe('keep-alive');
    // A connection with headers still arriving.
    const slow = raw(port);
    slow.write('GET /health HTTP/1.1\r\n');
    // A request in flight: its body is still being sent.
    const body = JSON.stringify({ title: 'in flight' });
    const busy = raw(port);
    busy.write(
      `POST /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-Id: closer\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 4)}`,
    );
    await sleep(200);

    const started = Date.now();
    const closing = server.app.close();
    server = undefined;
    await within(Promise.all([idle.closed, slow.closed]), 2000, 'the idle connections to close');
    expect(busy.isClosed()).toBe(false);
    busy.write(body.slice(4));
    await within(closing, 3000, 'close()');
    expect(Date.now() - started).toBeLessThan(2000);
    await within(busy.closed, 1000, 'the busy connection to close');
    const res = parseResponse(busy.received());
    expect(res?.status).toBe(201);
    expect(res!.headers.connection).toBe('close');
  }, 15_000);

  it('a request arriving while closing gets 503 unavailable with Retry-After, in the error shape', async () => {
    let release: (() => void) | undefined;
    server = await listen({}, (app) => {
      app.get('/test/slow', (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        release = () => reply.raw.end('ok');
      });
    });
    const conn = raw(server.port);
    conn.write('GET /test/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await within(
      (async () => {
        while (!release) await sleep(20);
      })(),
      3000,
      'the slow response to start',
    );
    const closing = server.app.close();
    server = undefined;
    await sleep(50);
    // Pipelined behind the response still being sent.
    conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await sleep(100);
    release!();
    await within(conn.closed, 3000, 'the connection to close');
    await within(closing, 3000, 'close()');
    const responses = parseResponses(conn.received());
    expect(responses.map((r) => r.status)).toEqual([200, 503]);
    const unavailable = responses[1]!;
    expect(unavailable.headers['retry-after']).toBe('1');
    expect(unavailable.headers.connection).toBe('close');
    expect(unavailable.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(errorOf(unavailable.body)).toEqual({
      code: 'unavailable',
      message: 'the server is shutting down; retry later',
      details: { retryAfterSeconds: 1 },
    });
  }, 10_000);
});

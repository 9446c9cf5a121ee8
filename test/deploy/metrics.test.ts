import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import { errorBody } from '../../src/http/errors.js';
import { openStore } from '../../src/repositories/factory.js';
import { expectError, testConfig } from '../http/support.js';
import { appWith } from './support.js';

/** One sample of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ''] = pair[2] ?? '';
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels (0 when there is none yet). */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

async function scrape(app: App, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(res.body);
}

describe('GET /metrics', () => {
  let app: App;
  let token: string;

  beforeAll(async () => {
    const config = testConfig();
    const store = await openStore(config.database, { info() {}, warn() {}, error() {} });
    app = buildApp({ config, store });
    // A stand-in for the rate limiter that is to come: a route that answers 429.
    app.get('/limited', async (_request, reply) =>
      reply
        .code(429)
        .header('retry-after', '1')
        .send(errorBody({ code: 'too_many_requests', message: 'slow down', details: null })),
    );
    await app.ready();
    token = await mintToken(config.auth, { sub: 'metrics-user' });
  });
  afterAll(() => app.close());

  const get = (url: string, auth = true) =>
    app.inject({ method: 'GET', url, headers: auth ? { authorization: `Bearer ${token}` } : {} });

  it('moves by exactly the traffic made, labelled by route pattern, status and error code', async () => {
    expect((await get('/v1/users/me')).statusCode).toBe(200); // provision first, so later calls are alike
    const before = await scrape(app);

    for (let i = 0; i < 3; i++) expect((await get('/v1/users/me')).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) expectError(await get('/v1/users/me', false), 401, 'unauthorized');
    const invalid = await app.inject({
      method: 'POST',
      url: '/v1/conversations',
      headers: { authorization: `Bearer ${token}` },
      payload: { title: 5 },
    });
    expectError(invalid, 400, 'validation_failed');
    expectError(await get('/v1/conversations/0190a0e0-0000-7000-8000-000000000001'), 404, 'not_found');
    expectError(await get('/v1/conversations/0190a0e0-0000-7000-8000-000000000002'), 404, 'not_found');
    expectError(await get('/no/such/route'), 404, 'not_found');
    expectError(await get('/limited'), 429, 'too_many_requests');

    const after = await scrape(app);
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    const requests = 'polystore_http_requests_total';
    expect(delta(requests, { method: 'GET', route: '/v1/users/me', status_code: '200' })).toBe(3);
    expect(delta(requests, { method: 'GET', route: '/v1/users/me', status_code: '401' })).toBe(2);
    expect(delta(requests, { method: 'POST', route: '/v1/conversations', status_code: '400' })).toBe(1);
    expect(delta(requests, { method: 'GET', route: '/v1/conversations/:id', status_code: '404' })).toBe(2);
    expect(delta(requests, { method: 'GET', route: '(unmatched)', status_code: '404' })).toBe(1);
    expect(delta(requests, { method: 'GET', route: '/limited', status_code: '429' })).toBe(1);
    // The scrape before this one is counted too (its response had been sent when this one ran).
    expect(delta(requests, { method: 'GET', route: '/metrics', status_code: '200' })).toBe(1);
    // Raw URLs never become labels.
    expect(after.some((s) => s.labels.route?.includes('0190a0e0'))).toBe(false);

    const errors = 'polystore_http_errors_total';
    expect(delta(errors, { code: 'unauthorized', status_code: '401' })).toBe(2);
    expect(delta(errors, { code: 'validation_failed', status_code: '400' })).toBe(1);
    expect(delta(errors, { code: 'not_found', status_code: '404' })).toBe(3);
    expect(delta(errors, { code: 'too_many_requests', status_code: '429' })).toBe(1);
    expect(delta('polystore_http_rate_limited_total', { route: '/limited' })).toBe(1);

    const histogram = 'polystore_http_request_duration_seconds';
    const labels = { method: 'GET', route: '/v1/users/me', status_code: '200' };
    expect(delta(`${histogram}_count`, labels)).toBe(3);
    expect(delta(`${histogram}_bucket`, { ...labels, le: '+Inf' })).toBe(3);
    expect(delta(`${histogram}_sum`, labels)).toBeGreaterThan(0);

    // Each GET /v1/users/me read the user from the store; the 400 touched nothing (validation
    // comes first), so no conversation was created.
    const db = 'polystore_db_call_duration_seconds_count';
    const userCalls = (samples: typeof after) =>
      samples
        .filter((s) => s.name === db && s.labels.repository === 'users' && s.labels.outcome === 'ok')
        .reduce((sum, s) => sum + s.value, 0);
    expect(userCalls(after) - userCalls(before)).toBeGreaterThanOrEqual(3);
    expect(delta(db, { repository: 'conversations', operation: 'create', outcome: 'ok' })).toBe(0);
  });

  it('includes the process metrics', async () => {
    const names = new Set((await scrape(app)).map((s) => s.name));
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
  });

  it('keeps each app its own numbers', async () => {
    const other = await appWith({});
    try {
      const samples = await scrape(other.app);
      expect(
        sampleValue(samples, 'polystore_http_requests_total', { method: 'GET', route: '/limited', status_code: '429' }),
      ).toBe(0);
      expect(
        sampleValue(samples, 'polystore_http_requests_total', {
          method: 'GET',
          route: '/v1/users/me',
          status_code: '200',
        }),
      ).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('metrics settings', () => {
  it('METRICS_TOKEN: a bearer token, 401 in the API error shape otherwise', async () => {
    const api = await appWith({ METRICS_TOKEN: 'scrape-secret-123' });
    try {
      const none = await api.app.inject({ method: 'GET', url: '/metrics' });
      expectError(none, 401, 'unauthorized');
      expect(none.headers['www-authenticate']).toBe('Bearer realm="polystore"');
      for (const authorization of [
        'Bearer wrong',
        'Bearer scrape-secret-1234',
        'Basic c2NyYXBlLXNlY3JldC0xMjM=',
        'scrape-secret-123',
      ]) {
        const res = await api.app.inject({ method: 'GET', url: '/metrics', headers: { authorization } });
        expectError(res, 401, 'unauthorized');
      }
      // An API token is not a metrics token.
      const apiToken = await mintToken(api.config.auth, { sub: 'alice' });
      expectError(
        await api.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${apiToken}` } }),
        401,
        'unauthorized',
      );
      const samples = await scrape(api.app, { authorization: 'Bearer scrape-secret-123' });
      expect(sampleValue(samples, 'polystore_http_errors_total', { code: 'unauthorized', status_code: '401' })).toBe(6);
    } finally {
      await api.close();
    }
  });

  it('off with METRICS_ENABLED=false, and by default in production', async () => {
    const api = await appWith({ METRICS_ENABLED: 'false' });
    try {
      expectError(await api.app.inject({ method: 'GET', url: '/metrics' }), 404, 'not_found');
    } finally {
      await api.close();
    }
    const production = { NODE_ENV: 'production', DATABASE_TYPE: 'memory', AUTH_JWT_SECRET: 'x'.repeat(32) };
    expect(loadConfig({ env: production, dotenvPath: false }).metrics).toEqual({ enabled: false, token: undefined });
    expect(loadConfig({ env: { ...production, METRICS_ENABLED: 'true' }, dotenvPath: false }).metrics.enabled).toBe(
      true,
    );
    expect(loadConfig({ env: { DATABASE_TYPE: 'memory' }, dotenvPath: false }).metrics.enabled).toBe(true);
  });
});

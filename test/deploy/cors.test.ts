import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import { expectError } from '../http/support.js';
import { appWith } from './support.js';

const ALLOWED = 'https://chat.example.com';
const OTHER_ALLOWED = 'http://localhost:5173';
const EVIL = 'https://evil.example';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { NODE_ENV: 'test', DATABASE_TYPE: 'memory', ...env }, dotenvPath: false });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const load = (env: Record<string, string>) =>
  loadConfig({ env: { NODE_ENV: 'test', DATABASE_TYPE: 'memory', ...env }, dotenvPath: false });

describe('CORS settings', () => {
  it('is off unless CORS_ORIGINS is set', () => {
    expect(load({}).cors).toBeUndefined();
  });

  it('takes a list of exact origins, trimmed and without duplicates', () => {
    expect(load({ CORS_ORIGINS: ` ${ALLOWED}, ${OTHER_ALLOWED} ,${ALLOWED}` }).cors).toEqual({
      origins: [ALLOWED, OTHER_ALLOWED],
      credentials: false,
      maxAgeS: 600,
    });
    expect(load({ CORS_ORIGINS: '*' }).cors).toEqual({ origins: '*', credentials: false, maxAgeS: 600 });
  });

  it('refuses malformed origins, naming the variable', () => {
    for (const bad of [
      'chat.example.com',
      'https://chat.example.com/',
      'https://chat.example.com/app',
      'HTTPS://Chat.Example.com',
      'ftp://files.example',
      'null',
      'https://*.example.com',
    ]) {
      const problems = problemsOf({ CORS_ORIGINS: bad });
      expect(problems, bad).toHaveLength(1);
      expect(problems[0]).toMatch(/^CORS_ORIGINS: .* is not an origin/);
    }
    expect(problemsOf({ CORS_ORIGINS: ' , ' })).toEqual(['CORS_ORIGINS lists no origin']);
  });

  it('refuses * with credentials, and * mixed with origins', () => {
    expect(problemsOf({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' })[0]).toMatch(
      /CORS_ORIGINS=\* is refused with CORS_CREDENTIALS=true/,
    );
    expect(problemsOf({ CORS_ORIGINS: `*,${ALLOWED}` })[0]).toMatch(/\* alone/);
    expect(load({ CORS_ORIGINS: ALLOWED, CORS_CREDENTIALS: 'true' }).cors?.credentials).toBe(true);
  });
});

describe('CORS on the API', () => {
  let api: Awaited<ReturnType<typeof appWith>>;
  beforeAll(async () => {
    api = await appWith({ CORS_ORIGINS: `${ALLOWED},${OTHER_ALLOWED}`, CORS_MAX_AGE_S: '120' });
  });
  afterAll(() => api.close());

  const preflight = (url: string, origin: string, method = 'PATCH', headers = 'authorization,content-type,if-match') =>
    api.app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('answers the preflight of an allowed origin with the allowed methods and headers', async () => {
    const res = await preflight('/v1/conversations/0190a0e0-0000-7000-8000-000000000000', ALLOWED);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'if-match', 'if-none-match']));
    expect(allowed).not.toContain('x-user-id');
    expect(res.headers['access-control-max-age']).toBe('120');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(res.headers.vary)).toMatch(/\bOrigin\b/);
    // The second listed origin gets itself back, not the first.
    expect((await preflight('/v1/users/me', OTHER_ALLOWED, 'GET')).headers['access-control-allow-origin']).toBe(
      OTHER_ALLOWED,
    );
  });

  it('answers preflights for every path: other prefixes, future routes, unknown ones', async () => {
    for (const url of ['/openai/v1/chat/completions', '/v1/conversations/x/stream', '/metrics', '/anything/at/all']) {
      const res = await preflight(url, ALLOWED, 'POST');
      expect(res.statusCode, url).toBe(204);
      expect(res.headers['access-control-allow-origin'], url).toBe(ALLOWED);
    }
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin', async () => {
    for (const origin of [EVIL, `${ALLOWED}.evil.example`, 'null', ALLOWED.toUpperCase()]) {
      const res = await preflight('/v1/users/me', origin, 'GET');
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(String(res.headers.vary)).toMatch(/\bOrigin\b/);
      const simple = await api.app.inject({ method: 'GET', url: '/health', headers: { origin } });
      expect(simple.statusCode).toBe(200);
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('decorates real responses, errors included, and exposes the headers clients read', async () => {
    const token = await mintToken(api.config.auth, { sub: 'cors-user' });
    const res = await api.app.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { origin: ALLOWED, authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(res.headers.vary)).toMatch(/\bOrigin\b/);
    const exposed = String(res.headers['access-control-expose-headers']).split(', ');
    expect(exposed).toEqual(
      expect.arrayContaining([
        'ETag',
        'Location',
        'Retry-After',
        'X-Request-Id',
        'RateLimit-Limit',
        'RateLimit-Remaining',
        'RateLimit-Reset',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
      ]),
    );
    const unauthorized = await api.app.inject({ method: 'GET', url: '/v1/users/me', headers: { origin: ALLOWED } });
    expectError(unauthorized, 401, 'unauthorized');
    expect(unauthorized.headers['access-control-allow-origin']).toBe(ALLOWED);
    const missing = await api.app.inject({ method: 'GET', url: '/nowhere', headers: { origin: ALLOWED } });
    expectError(missing, 404, 'not_found');
    expect(missing.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('sends no CORS headers and answers no preflight when CORS_ORIGINS is unset', async () => {
    const plain = await appWith({});
    try {
      const res = await plain.app.inject({
        method: 'OPTIONS',
        url: '/v1/users/me',
        headers: { origin: ALLOWED, 'access-control-request-method': 'GET' },
      });
      expectError(res, 404, 'not_found');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const get = await plain.app.inject({ method: 'GET', url: '/health', headers: { origin: ALLOWED } });
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('with *: any origin, no credentials; with credentials: the header', async () => {
    const any = await appWith({ CORS_ORIGINS: '*' });
    const withCredentials = await appWith({ CORS_ORIGINS: ALLOWED, CORS_CREDENTIALS: 'true', AUTH_MODE: 'dev' });
    try {
      const res = await any.app.inject({
        method: 'OPTIONS',
        url: '/v1/users/me',
        headers: { origin: EVIL, 'access-control-request-method': 'GET' },
      });
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      const cred = await withCredentials.app.inject({
        method: 'OPTIONS',
        url: '/v1/users/me',
        headers: { origin: ALLOWED, 'access-control-request-method': 'GET' },
      });
      expect(cred.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(cred.headers['access-control-allow-credentials']).toBe('true');
      expect(String(cred.headers['access-control-allow-headers'])).toContain('X-User-Id');
    } finally {
      await any.close();
      await withCredentials.close();
    }
  });
});

import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { expectError, TEST_SECRET } from '../http/support.js';
import { appWith, FakeProvider, sign, signingKey, startServer, type SigningKey } from './support.js';

/**
 * Tokens signed by an identity provider: a fake one on 127.0.0.1 with keys made here, discovery,
 * algorithms, rotation, outages, floods of unknown kids, and every kind of bad token.
 */

const AUDIENCE = 'polystore-api';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectRefused(res: LightMyRequestResponse, what: string) {
  const error = expectError(res, 401, 'unauthorized');
  expect(String(res.headers['www-authenticate']), what).toContain('error="invalid_token"');
  return error;
}

function expectUnavailable(res: LightMyRequestResponse) {
  expectError(res, 503, 'unavailable');
  // The body says what is down: the provider, not the database.
  expect(res.json()).toMatchObject({
    error: {
      message: 'the identity provider is unavailable; retry later',
      details: { dependency: 'identity provider' },
    },
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { DATABASE_TYPE: 'memory', ...env }, dotenvPath: false });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('identity provider settings', () => {
  const load = (env: Record<string, string>) =>
    loadConfig({ env: { DATABASE_TYPE: 'memory', ...env }, dotenvPath: false });

  it('production needs a secret or a provider; a provider there needs an audience and https', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'AUTH_JWT_SECRET is required when NODE_ENV=production, unless AUTH_JWKS_URL or AUTH_OIDC_ISSUER names an identity provider',
    ]);
    const idp = { NODE_ENV: 'production', AUTH_OIDC_ISSUER: 'https://id.example.com/', AUTH_JWT_AUDIENCE: AUDIENCE };
    const config = load(idp);
    expect(config.auth).toMatchObject({ jwtSecret: undefined, usingDevSecret: false });
    expect(config.auth.remote).toMatchObject({
      oidcIssuer: 'https://id.example.com/',
      issuer: 'https://id.example.com/',
      jwksUrl: undefined,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      cacheMaxAgeMs: 600_000,
      cooldownMs: 30_000,
    });
    expect(config.metrics.enabled).toBe(false);
    expect(problemsOf({ ...idp, AUTH_JWT_AUDIENCE: '' })[0]).toMatch(
      /^AUTH_JWT_AUDIENCE is required when NODE_ENV=production/,
    );
    expect(problemsOf({ ...idp, AUTH_OIDC_ISSUER: 'http://id.example.com/' })).toEqual([
      'AUTH_OIDC_ISSUER="http://id.example.com/" must use https:// when NODE_ENV=production',
    ]);
    expect(problemsOf({ ...idp, AUTH_OIDC_ISSUER: 'http://127.0.0.1:8080/realms/x' })).toEqual([]);
    // Both at once is fine; the secret keeps HS256 working.
    expect(load({ ...idp, AUTH_JWT_SECRET: 'x'.repeat(32) }).auth.jwtSecret).toBe('x'.repeat(32));
  });

  it('outside production, a provider without a secret turns the development secret off', () => {
    expect(load({ NODE_ENV: 'development' }).auth).toMatchObject({ usingDevSecret: true });
    expect(load({ NODE_ENV: 'development', AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks' }).auth).toMatchObject({
      usingDevSecret: false,
      jwtSecret: undefined,
    });
  });

  it('refuses none, HS* and unknown algorithms, malformed URLs and claim names, and a conflicting issuer', () => {
    const jwks = { AUTH_JWKS_URL: 'https://id.example.com/jwks' };
    expect(problemsOf({ ...jwks, AUTH_JWT_ALGORITHMS: 'RS256,none' })[0]).toMatch(
      /AUTH_JWT_ALGORITHMS may not contain none/,
    );
    expect(problemsOf({ ...jwks, AUTH_JWT_ALGORITHMS: 'HS256' })[0]).toMatch(
      /AUTH_JWT_ALGORITHMS may not contain HS256/,
    );
    expect(problemsOf({ ...jwks, AUTH_JWT_ALGORITHMS: 'RS999' })[0]).toMatch(
      /AUTH_JWT_ALGORITHMS: "RS999" is not accepted/,
    );
    expect(load({ ...jwks, AUTH_JWT_ALGORITHMS: ' ES256 , EdDSA ' }).auth.remote?.algorithms).toEqual([
      'ES256',
      'EdDSA',
    ]);
    expect(problemsOf({ AUTH_JWT_ALGORITHMS: 'RS256' })[0]).toMatch(/set AUTH_JWKS_URL or AUTH_OIDC_ISSUER too/);
    expect(problemsOf({ AUTH_JWKS_URL: 'not a url' })).toEqual(['AUTH_JWKS_URL="not a url" is not an http(s) URL']);
    expect(problemsOf({ ...jwks, AUTH_CLAIM_USER_ID: 'has space' })).toEqual([
      'AUTH_CLAIM_USER_ID="has space" is not a claim name',
    ]);
    expect(problemsOf({ AUTH_OIDC_ISSUER: 'https://a.example', AUTH_JWT_ISSUER: 'https://b.example' })[0]).toMatch(
      /AUTH_JWT_ISSUER="https:\/\/b.example" differs from AUTH_OIDC_ISSUER/,
    );
    expect(load({}).auth.clockToleranceS).toBe(5);
  });
});

describe('tokens from an identity provider (through inject)', () => {
  const provider = new FakeProvider();
  let rsa: SigningKey;
  let ps: SigningKey;
  let es: SigningKey;
  let ed: SigningKey;
  let opened: Array<{ close: () => Promise<void> }> = [];

  beforeAll(async () => {
    await provider.start();
    [rsa, ps, es, ed] = await Promise.all([
      signingKey('rsa-1', 'RS256'),
      signingKey('ps-1', 'PS256'),
      signingKey('es-1', 'ES256'),
      signingKey('ed-1', 'EdDSA'),
    ]);
  });
  afterAll(() => provider.stop());
  afterEach(async () => {
    for (const app of opened) await app.close();
    opened = [];
    provider.failing = false;
    provider.requests = { discovery: 0, jwks: 0 };
  });

  async function gateway(env: Record<string, string> = {}) {
    const api = await appWith({ AUTH_OIDC_ISSUER: provider.issuer, AUTH_JWT_AUDIENCE: AUDIENCE, ...env });
    opened.push(api);
    const me = (token: string) =>
      api.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${token}` } });
    return { ...api, me };
  }
  const good = (key: SigningKey, more: Parameters<typeof sign>[1] = {}) =>
    sign(key, { issuer: provider.issuer, audience: AUDIENCE, ...more });

  it('finds the keys through discovery once, and accepts RS256, PS256, ES256 and EdDSA tokens', async () => {
    provider.publish(rsa, ps, es, ed);
    const api = await gateway();
    for (const key of [rsa, ps, es, ed]) {
      const res = await api.me(await good(key, { sub: `user-${key.kid}` }));
      expect(res.statusCode, key.alg).toBe(200);
      expect(res.json().id).toBe(`user-${key.kid}`);
    }
    expect(provider.requests).toEqual({ discovery: 1, jwks: 1 });
  });

  it('provisions from the mapped claims', async () => {
    provider.publish(rsa);
    const api = await gateway({ AUTH_CLAIM_USER_ID: 'oid', AUTH_CLAIM_HANDLE: 'email', AUTH_CLAIM_NAME: 'given_name' });
    const token = await good(rsa, {
      sub: 'pairwise-sub-ignored',
      claims: { oid: '7c1f7a53-7f3a-4c8e-9d3e-0b0a8f1d2e3c', email: 'Bob@Example.com', given_name: 'Bob' },
    });
    const res = await api.me(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: '7c1f7a53-7f3a-4c8e-9d3e-0b0a8f1d2e3c',
      handle: 'bob_example.com',
      displayName: 'Bob',
    });
    const withoutOid = await api.me(await good(rsa, { sub: 'someone' }));
    expect(expectRefused(withoutOid, 'no oid').message).toMatch(/oid/);
  });

  it('uses AUTH_JWKS_URL without discovery, with AUTH_JWT_ISSUER as the issuer', async () => {
    provider.publish(rsa);
    const api = await appWith({ AUTH_JWKS_URL: provider.jwksUrl, AUTH_JWT_ISSUER: 'https://issuer.example' });
    opened.push(api);
    const token = await sign(rsa, { issuer: 'https://issuer.example' });
    const res = await api.app.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(provider.requests).toEqual({ discovery: 0, jwks: 1 });
    const other = await sign(rsa, { issuer: provider.issuer });
    expectRefused(
      await api.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${other}` } }),
      'iss',
    );
  });

  it('keeps HS256 working beside the provider; an HS token without a secret is a 401', async () => {
    provider.publish(rsa);
    const both = await gateway({ AUTH_JWT_SECRET: TEST_SECRET });
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('hs-user')
      .setExpirationTime('1h')
      .setAudience(AUDIENCE)
      .sign(new TextEncoder().encode(TEST_SECRET));
    expect((await both.me(hs)).statusCode).toBe(200);
    expect((await both.me(await good(rsa))).statusCode).toBe(200);
    // testConfig always sets a secret; an empty one counts as unset.
    const providerOnly = await gateway({ AUTH_JWT_SECRET: '' });
    expect(providerOnly.config.auth.jwtSecret).toBeUndefined();
    expect(expectRefused(await providerOnly.me(hs), 'hs without secret').message).toMatch(
      /HS256 tokens are not accepted/,
    );
    expect((await providerOnly.me(await good(rsa))).statusCode).toBe(200);
  });

  it('refuses every malformed and mis-signed token with a 401, never a 500', async () => {
    provider.publish(rsa, ps, es, ed);
    const api = await gateway({ AUTH_JWT_SECRET: TEST_SECRET });
    expect((await api.me(await good(rsa))).statusCode).toBe(200); // keys cached, provider answering
    const impostors = await Promise.all([
      signingKey('rsa-1', 'RS256'),
      signingKey('ps-1', 'PS256'),
      signingKey('es-1', 'ES256'),
      signingKey('ed-1', 'EdDSA'),
    ]);
    const rs384 = await signingKey('rsa-384', 'RS384');
    provider.publish(rsa, ps, es, ed, rs384);
    const publicPem = new TextEncoder().encode(JSON.stringify(rsa.publicJwk));
    const publicN = new TextEncoder().encode(String(rsa.publicJwk.n));
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      ['unknown kid', await good(rsa, { kid: 'no-such-kid' })],
      ['wrong issuer', await sign(rsa, { issuer: 'https://evil.example', audience: AUDIENCE })],
      ['no issuer', await sign(rsa, { audience: AUDIENCE })],
      ['wrong audience', await sign(rsa, { issuer: provider.issuer, audience: 'another-app' })],
      ['no audience', await sign(rsa, { issuer: provider.issuer })],
      ['expired', await good(rsa, { expiresIn: -60 })],
      [
        'not yet valid',
        await new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
          .setSubject('a')
          .setIssuer(provider.issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .setNotBefore(now + 600)
          .sign(rsa.privateKey),
      ],
      [
        'no exp',
        await new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
          .setSubject('a')
          .setIssuer(provider.issuer)
          .setAudience(AUDIENCE)
          .sign(rsa.privateKey),
      ],
      ['bad sub', await good(rsa, { sub: 'has space' })],
      [
        'alg none',
        new UnsecuredJWT({})
          .setSubject('alice')
          .setIssuer(provider.issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .encode(),
      ],
      [
        'alg none with a kid',
        `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'rsa-1' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', exp: now + 600, iss: provider.issuer, aud: AUDIENCE })).toString('base64url')}.`,
      ],
      [
        'HS256 with the public JWK as secret',
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
          .setSubject('alice')
          .setIssuer(provider.issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .sign(publicPem),
      ],
      [
        'HS256 with the modulus as secret',
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
          .setSubject('alice')
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .sign(publicN),
      ],
      [
        'HS512 with the server secret',
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS512' })
          .setSubject('alice')
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_SECRET)),
      ],
      ['RS384 (not in AUTH_JWT_ALGORITHMS)', await good(rs384)],
      [
        'ES256 header on the RSA kid',
        await new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'rsa-1' })
          .setSubject('a')
          .setIssuer(provider.issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .sign(es.privateKey),
      ],
      ['garbage', 'not.a.jwt'],
      ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0'],
      ['bad base64 header', '%%%.e30.sig'],
      ['header not an object', `${Buffer.from('"x"').toString('base64url')}.e30.c2ln`],
      ['truncated signature', (await good(rsa)).slice(0, -10)],
    ];
    // PS256, ES256, EdDSA and RS256 tokens naming a published kid, signed by another key.
    for (const key of impostors) cases.push([`${key.alg} signed by an impostor`, await good(key)]);
    for (const [what, token] of cases) {
      const res = await api.me(token);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(401);
      expectRefused(res, what);
    }
    expect(
      await api.app
        .inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: 'Bearer ' } })
        .then((r) => r.statusCode),
    ).toBe(401);
  }, 60_000);

  it('picks up a rotated key by its kid; a removed key is refused once the set is refetched', async () => {
    const next = await signingKey('rsa-2', 'RS256');
    provider.publish(rsa);
    const api = await gateway({ AUTH_JWKS_COOLDOWN_S: '0' });
    expect((await api.me(await good(rsa))).statusCode).toBe(200);
    expect(provider.requests.jwks).toBe(1);

    provider.publish(rsa, next); // the provider rotates: the new key appears beside the old
    expect((await api.me(await good(next))).statusCode).toBe(200);
    expect(provider.requests.jwks).toBe(2);
    expect((await api.me(await good(rsa))).statusCode).toBe(200); // old kid: still published, still cached

    provider.publish(next); // the old key is retired
    expect((await api.me(await good(rsa))).statusCode).toBe(200); // cached until the set is refetched
    expect(provider.requests.jwks).toBe(2);
    expectRefused(await api.me(await good(rsa, { kid: 'unknown-kid' })), 'unknown kid'); // triggers a refetch
    expect(provider.requests.jwks).toBe(3);
    expect(expectRefused(await api.me(await good(rsa)), 'retired').message).toMatch(/kid/);
    expect((await api.me(await good(next))).statusCode).toBe(200);
  });

  it('refetches stale keys after the cache age; keeps them when the provider cannot be reached', async () => {
    const next = await signingKey('rsa-3', 'RS256');
    provider.publish(rsa);
    const api = await gateway({ AUTH_JWKS_CACHE_MAX_AGE_S: '1', AUTH_JWKS_COOLDOWN_S: '1' });
    expect((await api.me(await good(rsa))).statusCode).toBe(200);
    await sleep(1100);
    provider.publish(next);
    expect((await api.me(await good(next))).statusCode).toBe(200); // stale: refetched on use
    expect(provider.requests.jwks).toBe(2);
    expectRefused(await api.me(await good(rsa)), 'retired after the refetch');

    provider.failing = true;
    await sleep(1100);
    // Stale, and the refetch fails: the cached key still works.
    expect((await api.me(await good(next))).statusCode).toBe(200);
    expect(provider.requests.jwks).toBe(3);
  });

  it('during an outage: cached keys keep working; an unknown kid is a 503 with Retry-After', async () => {
    provider.publish(rsa);
    const api = await gateway({ AUTH_JWKS_COOLDOWN_S: '0' });
    expect((await api.me(await good(rsa))).statusCode).toBe(200);
    await provider.stop();
    try {
      expect((await api.me(await good(rsa, { sub: 'still-in' }))).statusCode).toBe(200);
      expectUnavailable(await api.me(await good(rsa, { kid: 'rotated-while-down' })));
    } finally {
      await provider.restart();
    }
    const rotated = await signingKey('rotated-while-down', 'RS256');
    provider.publish(rsa, rotated);
    expect((await api.me(await good(rotated))).statusCode).toBe(200);
  });

  it('a provider down from the start: 503, and a flood makes one request per cooldown', async () => {
    provider.publish(rsa);
    provider.failing = true;
    const api = await gateway(); // cooldown 30 s
    const token = await good(rsa);
    const first = await Promise.all(Array.from({ length: 25 }, () => api.me(token)));
    for (const res of first) expectUnavailable(res);
    for (let i = 0; i < 25; i++) expectUnavailable(await api.me(token));
    expect(provider.total).toBe(1); // one discovery attempt for 50 requests
    const res = await api.me(token);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(20);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(30);
  });

  it('a flood of unknown kids costs the provider one request per cooldown', async () => {
    provider.publish(rsa);
    const api = await gateway({ AUTH_JWKS_COOLDOWN_S: '1' });
    expect((await api.me(await good(rsa))).statusCode).toBe(200);
    expect(provider.requests).toEqual({ discovery: 1, jwks: 1 });
    const bogus = await Promise.all(Array.from({ length: 40 }, (_, i) => good(rsa, { kid: `bogus-${i}` })));
    // Within the cooldown of the first fetch: no request at all.
    for (const res of await Promise.all(bogus.map((t) => api.me(t)))) expectRefused(res, 'bogus kid');
    expect(provider.requests.jwks).toBe(1);
    await sleep(1100);
    // After it: the concurrent flood shares one fetch, and the rest wait for the next cooldown.
    for (const res of await Promise.all(bogus.map((t) => api.me(t)))) expectRefused(res, 'bogus kid');
    for (const t of bogus) expectRefused(await api.me(t), 'bogus kid');
    expect(provider.requests.jwks).toBe(2);
    expect(provider.requests.discovery).toBe(1);
    expect((await api.me(await good(rsa))).statusCode).toBe(200);
  });

  it('a discovery document naming another issuer is not trusted (503)', async () => {
    provider.publish(rsa);
    const api = await gateway({ AUTH_OIDC_ISSUER: `${provider.issuer}/` });
    expectUnavailable(await api.me(await sign(rsa, { issuer: `${provider.issuer}/`, audience: AUDIENCE })));
    expect(provider.requests).toEqual({ discovery: 1, jwks: 0 });
  });

  it('allows AUTH_CLOCK_TOLERANCE_S of skew', async () => {
    provider.publish(rsa);
    const lenient = await gateway();
    const strict = await gateway({ AUTH_CLOCK_TOLERANCE_S: '0' });
    const justExpired = await good(rsa, { expiresIn: -2 });
    expect((await lenient.me(justExpired)).statusCode).toBe(200);
    expect(expectRefused(await strict.me(justExpired), 'expired').message).toContain('expired');
  });
});

describe('tokens from an identity provider (the real server process)', () => {
  it('accepts provider tokens, keeps cached keys through an outage, and answers 503 for unknown kids', async () => {
    const provider = await new FakeProvider().start();
    const key = await signingKey('proc-1', 'ES256');
    provider.publish(key);
    const server = await startServer({
      AUTH_OIDC_ISSUER: provider.issuer,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      AUTH_JWKS_COOLDOWN_S: '0',
    });
    try {
      const me = (token: string) =>
        fetch(`${server.url}/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
      const token = await sign(key, {
        issuer: provider.issuer,
        audience: AUDIENCE,
        sub: 'proc-idp',
        claims: { name: 'Proc Idp' },
      });
      const ok = await me(token);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ id: 'proc-idp', displayName: 'Proc Idp' });

      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'proc-1' })
        .setSubject('x')
        .setIssuer(provider.issuer)
        .setAudience(AUDIENCE)
        .setExpirationTime('1h')
        .sign(privateKey);
      const refused = await me(forged);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthorized');

      await provider.stop();
      expect((await me(token)).status).toBe(200);
      const unknown = await me(await sign(key, { issuer: provider.issuer, audience: AUDIENCE, kid: 'proc-2' }));
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain("cannot refresh the identity provider's keys");
      expect(server.output()).not.toContain(token);
    } finally {
      await server.stop();
      await provider.stop();
    }
  }, 60_000);
});

import type { LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { isCanonicalBase64url, mintToken } from '../../src/http/auth/jwt.js';
import { appWith, FakeProvider, sign, type SigningKey, signingKey } from '../deploy/support.js';
import { expectError, TEST_SECRET, testConfig } from '../http/support.js';

/**
 * One token, one spelling, and bounded times: non-canonical base64url, an iat in the future and
 * lifetimes over AUTH_MAX_TOKEN_LIFETIME_S are 401s, for HS256 tokens and for tokens signed by an
 * identity provider's keys (JWKS).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const now = () => Math.floor(Date.now() / 1000);
const DAY = 86_400;

/** The segment with a spare bit of its last character set: other text, the same bytes. */
function withStrayBits(segment: string): string | undefined {
  if (segment.length % 4 === 0) return undefined; // No spare bits.
  const last = segment.at(-1)!;
  const other = `${segment.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(last) ^ 1]}`;
  expect(Buffer.from(other, 'base64url').equals(Buffer.from(segment, 'base64url'))).toBe(true);
  return other;
}

/** Other spellings of `token`, each decoding to the same bytes or close to them. */
function respellings(token: string): [string, string][] {
  const [h, p, s] = token.split('.') as [string, string, string];
  const out: [string, string][] = [
    ['= after the signature', `${h}.${p}.${s}=`],
    ['== after the signature', `${h}.${p}.${s}==`],
    ['= after the header', `${h}=.${p}.${s}`],
    ['= after the payload', `${h}.${p}=.${s}`],
    ['base64 + instead of -', `${h}.${p}.${s.replaceAll('-', '+').replace(/^(.)/, '+')}`],
    ['base64 / instead of _', `${h}.${p}.${s.replaceAll('_', '/').replace(/^(.)/, '/')}`],
    ['a ~ in the signature', `${h}.${p}.~${s.slice(1)}`],
  ];
  const stray = withStrayBits(s);
  if (stray) out.push(['stray bits in the signature', `${h}.${p}.${stray}`]);
  const strayPayload = withStrayBits(p);
  if (strayPayload) out.push(['stray bits in the payload', `${h}.${strayPayload}.${s}`]);
  const strayHeader = withStrayBits(h);
  if (strayHeader) out.push(['stray bits in the header', `${strayHeader}.${p}.${s}`]);
  return out;
}

function expectRefused(res: LightMyRequestResponse, what: string) {
  expect({ what, status: res.statusCode }).toEqual({ what, status: 401 });
  const error = expectError(res, 401, 'unauthorized');
  expect(error.details).toBeNull();
  expect(String(res.headers['www-authenticate']), what).toContain('error="invalid_token"');
  return error;
}

const me = (app: Awaited<ReturnType<typeof appWith>>['app'], token: string) =>
  app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${token}` } });

/** An HS256 token with exactly the given times (iat/exp omitted when undefined). */
async function hs256(times: { iat?: number; exp?: number }, header: Record<string, unknown> = {}): Promise<string> {
  const jwt = new SignJWT({ sub: 'alice', ...times }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header });
  return jwt.sign(new TextEncoder().encode(TEST_SECRET));
}

describe('isCanonicalBase64url', () => {
  it('accepts exactly the RFC 7515 spelling', () => {
    for (const bytes of [1, 2, 3, 4, 5, 31, 32, 33]) {
      const text = Buffer.alloc(bytes, 0xa5).toString('base64url');
      expect(isCanonicalBase64url(text)).toBe(true);
      expect(isCanonicalBase64url(`${text}=`)).toBe(false);
      const stray = withStrayBits(text);
      if (stray) expect(isCanonicalBase64url(stray)).toBe(false);
    }
    for (const bad of ['', 'A', 'AAAAA', 'ab+c', 'ab/c', 'ab c', 'ab.c', 'abc=', 'é']) {
      expect({ bad, ok: isCanonicalBase64url(bad) }).toEqual({ bad, ok: false });
    }
  });
});

describe('HS256 tokens', () => {
  let api: Awaited<ReturnType<typeof appWith>>;
  afterEach(async () => api?.close());

  it('are accepted in one spelling only', async () => {
    api = await appWith({});
    // Vary the header so every segment length (and so every kind of spare bits) shows up.
    for (const kid of ['', 'k', 'kk']) {
      const token = await hs256({ iat: now(), exp: now() + 3600 }, kid ? { kid } : {});
      expect((await me(api.app, token)).statusCode).toBe(200);
      for (const [what, other] of respellings(token)) {
        const error = expectRefused(await me(api.app, other), what);
        expect(error.message).toMatch(/malformed/);
      }
    }
  });

  it('with an iat beyond the clock tolerance in the future are refused', async () => {
    api = await appWith({});
    expect((await me(api.app, await hs256({ iat: now() + 3, exp: now() + 3600 }))).statusCode).toBe(200);
    for (const iat of [now() + 60, now() + 365 * DAY]) {
      const error = expectRefused(await me(api.app, await hs256({ iat, exp: iat + 3600 })), `iat ${iat}`);
      expect(error.message).toBe("the token's iat claim is in the future");
    }
  });

  it('living longer than AUTH_MAX_TOKEN_LIFETIME_S (30 days by default) are refused', async () => {
    expect(testConfig().auth.maxTokenLifetimeS).toBe(30 * DAY);
    api = await appWith({});
    expect((await me(api.app, await hs256({ iat: now(), exp: now() + 29 * DAY }))).statusCode).toBe(200);
    const cases: [string, { iat?: number; exp?: number }][] = [
      ['exp 1e20', { iat: now(), exp: 1e20 }],
      ['exp 1e20 without iat', { exp: 1e20 }],
      ['31 days', { iat: now(), exp: now() + 31 * DAY }],
      ['31 days without iat', { exp: now() + 31 * DAY }],
      ['issued long ago, for long', { iat: now() - 400 * DAY, exp: now() + DAY }],
    ];
    for (const [what, times] of cases) {
      const error = expectRefused(await me(api.app, await hs256(times)), what);
      expect(error.message).toBe(`the token's lifetime (exp) is longer than this server accepts (${30 * DAY} s)`);
    }
    await api.close();

    api = await appWith({ AUTH_MAX_TOKEN_LIFETIME_S: '0' });
    expect((await me(api.app, await hs256({ iat: now(), exp: now() + 400 * DAY }))).statusCode).toBe(200);
    await api.close();
    api = await appWith({ AUTH_MAX_TOKEN_LIFETIME_S: '3600' });
    expect((await me(api.app, await hs256({ iat: now(), exp: now() + 3600 }))).statusCode).toBe(200);
    expectRefused(await me(api.app, await hs256({ iat: now(), exp: now() + 3601 })), 'one second over');
  });

  it('polystore token refuses to mint what the server would refuse', async () => {
    const auth = testConfig().auth;
    await expect(mintToken(auth, { sub: 'alice', expiresIn: '60d' })).rejects.toBeInstanceOf(ConfigError);
    await expect(mintToken(auth, { sub: 'alice', expiresIn: '60d' })).rejects.toThrow(/AUTH_MAX_TOKEN_LIFETIME_S/);
    expect(await mintToken(auth, { sub: 'alice', expiresIn: '30d' })).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await mintToken({ ...auth, maxTokenLifetimeS: 0 }, { sub: 'alice', expiresIn: '1y' })).toBeTruthy();
  });
});

describe('tokens signed with an identity provider key (JWKS)', () => {
  const provider = new FakeProvider();
  let key: SigningKey;
  let api: Awaited<ReturnType<typeof appWith>>;

  beforeAll(async () => {
    await provider.start();
    key = await signingKey('k1');
    provider.publish(key);
  });
  afterAll(async () => provider.stop());
  afterEach(async () => api?.close());

  const env = () => ({ AUTH_JWKS_URL: provider.jwksUrl, AUTH_JWT_AUDIENCE: 'polystore-api' });
  const good = () => sign(key, { audience: 'polystore-api' });
  /** Signed with the provider's key, with exactly these times. */
  const timed = (times: { iat?: number; exp?: number }) =>
    new SignJWT({ sub: 'alice', aud: 'polystore-api', ...times })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);

  it('are accepted in one spelling only', async () => {
    api = await appWith(env());
    const token = await good();
    expect((await me(api.app, token)).statusCode).toBe(200);
    for (const [what, other] of respellings(token)) expectRefused(await me(api.app, other), what);
  });

  it('with an iat in the future, or living too long, are refused', async () => {
    api = await appWith(env());
    expectRefused(await me(api.app, await timed({ iat: now() + 3600, exp: now() + 7200 })), 'iat in an hour');
    expectRefused(await me(api.app, await timed({ iat: now(), exp: now() + 31 * DAY })), '31 days');
    expectRefused(await me(api.app, await timed({ iat: now(), exp: 1e20 })), 'exp 1e20');
    expect((await me(api.app, await timed({ iat: now(), exp: now() + 7 * DAY }))).statusCode).toBe(200);
  });
});

import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect } from 'vitest';
import { expectError, TEST_SECRET, type ApiTest } from '../support.js';

const key = (secret: string) => new TextEncoder().encode(secret);

function expectUnauthorized(
  res: Awaited<ReturnType<import('fastify').FastifyInstance['inject']>>,
  invalidToken: boolean,
) {
  const error = expectError(res, 401, 'unauthorized');
  const header = String(res.headers['www-authenticate']);
  expect(header.startsWith('Bearer realm="polystore"')).toBe(true);
  expect(header.includes('error="invalid_token"')).toBe(invalidToken);
  return error;
}

export function authSpec(test: ApiTest): void {
  describe('authentication', () => {
    test('no Authorization header: 401 with a Bearer challenge', async (api) => {
      const error = expectUnauthorized(await api.withHeaders({}).get('/v1/users/me'), false);
      expect(error.message).toContain('Bearer');
    });

    test('a malformed Authorization header: 401 invalid_token', async (api) => {
      for (const value of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer a b', 'Token abc', 'Bearer ☃']) {
        expectUnauthorized(await api.withHeaders({ authorization: value }).get('/v1/users/me'), true);
      }
      expectUnauthorized(await api.withHeaders({ authorization: 'Bearer not.a.jwt' }).get('/v1/users/me'), true);
    });

    test('a token signed with another secret: 401', async (api) => {
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('mallory')
        .setExpirationTime('1h')
        .sign(key(`${TEST_SECRET}-other`));
      const error = expectUnauthorized(
        await api.withHeaders({ authorization: `Bearer ${jwt}` }).get('/v1/users/me'),
        true,
      );
      expect(error.message).toContain('signature');
      expect(await api.store.users.find('mallory')).toBeNull();
    });

    test('an expired token: 401 saying so', async (api) => {
      const jwt = await api.token('alice', { expiresIn: -120 });
      const error = expectUnauthorized(
        await api.withHeaders({ authorization: `Bearer ${jwt}` }).get('/v1/users/me'),
        true,
      );
      expect(error.message).toContain('expired');
    });

    test('a token with another algorithm, none, or no exp: 401', async (api) => {
      const hs512 = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject('alice')
        .setExpirationTime('1h')
        .sign(key(TEST_SECRET));
      expect(
        expectUnauthorized(await api.withHeaders({ authorization: `Bearer ${hs512}` }).get('/v1/users/me'), true)
          .message,
      ).toContain('HS256');
      const none = new UnsecuredJWT({}).setSubject('alice').setExpirationTime('1h').encode();
      expectUnauthorized(await api.withHeaders({ authorization: `Bearer ${none}` }).get('/v1/users/me'), true);
      const forever = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .sign(key(TEST_SECRET));
      expect(
        expectUnauthorized(await api.withHeaders({ authorization: `Bearer ${forever}` }).get('/v1/users/me'), true)
          .message,
      ).toContain('exp');
    });

    test('a sub that is not a valid user id, or no sub: 401', async (api) => {
      const bad = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('has space')
        .setExpirationTime('1h')
        .sign(key(TEST_SECRET));
      expect(
        expectUnauthorized(await api.withHeaders({ authorization: `Bearer ${bad}` }).get('/v1/users/me'), true).message,
      ).toContain('subject');
      const noSub = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(key(TEST_SECRET));
      expectUnauthorized(await api.withHeaders({ authorization: `Bearer ${noSub}` }).get('/v1/users/me'), true);
    });

    test('issuer and audience are enforced when configured', async (api) => {
      const strict = await api.rebuild({ AUTH_JWT_ISSUER: 'https://id.example', AUTH_JWT_AUDIENCE: 'polystore-api' });
      const plain = await api.token('alice');
      expect(
        expectUnauthorized(await strict.withHeaders({ authorization: `Bearer ${plain}` }).get('/v1/users/me'), true)
          .message,
      ).toMatch(/iss|aud/);
      const ok = await strict.as('alice').get('/v1/users/me');
      expect(ok.statusCode).toBe(200);
      expect(ok.json().id).toBe('alice');
    });

    test('AUTH_MODE=dev trusts X-User-Id; AUTH_MODE=jwt ignores it', async (api) => {
      expectUnauthorized(await api.withHeaders({ 'x-user-id': 'devuser' }).get('/v1/users/me'), false);
      const dev = await api.rebuild({ AUTH_MODE: 'dev' });
      const res = await dev.withHeaders({ 'x-user-id': 'devuser' }).get('/v1/users/me');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: 'devuser', handle: 'devuser', displayName: 'devuser' });
      expectError(await dev.withHeaders({ 'x-user-id': 'not valid!' }).get('/v1/users/me'), 401, 'unauthorized');
      // Bearer tokens keep working in dev mode.
      expect((await dev.as('alice').get('/v1/users/me')).json().id).toBe('alice');
    });
  });

  describe('provisioning on first sight', () => {
    test('the first request creates the user from preferred_username and name, audited', async (api) => {
      const res = await api
        .as('auth0|42', { preferredUsername: 'Alice.W@Example', name: '  Alice Wonder  ' })
        .get('/v1/users/me');
      expect(res.statusCode).toBe(200);
      const user = res.json();
      expect(user).toMatchObject({
        id: 'auth0|42',
        handle: 'alice.w_example',
        displayName: 'Alice Wonder',
        version: 1,
      });
      expect(res.headers.etag).toBe('"1"');
      const audit = await api.store.audit.listForEntity('user', 'auth0|42');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actorId: 'auth0|42',
        action: 'create',
        diff: { handle: 'alice.w_example', displayName: 'Alice Wonder' },
      });
      // A second request finds the user instead of creating another.
      expect((await api.as('auth0|42', { preferredUsername: 'changed' }).get('/v1/users/me')).json()).toEqual(user);
    });

    test('without claims the handle comes from the sub; the display name falls back to the handle', async (api) => {
      const user = (await api.as('-Weird:Sub@Corp').get('/v1/users/me')).json();
      expect(user).toMatchObject({ id: '-Weird:Sub@Corp', handle: '_weird_sub_corp', displayName: '_weird_sub_corp' });
    });

    test('a taken handle gets a short suffix; a long one is truncated', async (api) => {
      const first = (await api.as('u1', { preferredUsername: 'sam' }).get('/v1/users/me')).json();
      const second = (await api.as('u2', { preferredUsername: 'Sam' }).get('/v1/users/me')).json();
      expect(first.handle).toBe('sam');
      expect(second.handle).toMatch(/^sam_[0-9a-f]{4}$/);
      const long = (
        await api.as('u3', { preferredUsername: 'x'.repeat(100), name: 'N'.repeat(300) }).get('/v1/users/me')
      ).json();
      expect(long.handle).toBe('x'.repeat(64));
      expect(long.displayName).toBe('N'.repeat(128));
    });

    test('concurrent first requests of one user create it once', async (api) => {
      const c = api.as('racer', { preferredUsername: 'racer' });
      const results = await Promise.all(Array.from({ length: 5 }, () => c.get('/v1/users/me')));
      expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(results.map((r) => r.json().handle))).toEqual(new Set(['racer']));
      expect(await api.store.audit.listForEntity('user', 'racer')).toHaveLength(1);
    });

    test('a request that fails validation provisions nobody', async (api) => {
      const res = await api.as('careful').post('/v1/conversations', { title: 5 });
      expectError(res, 400, 'validation_failed', 'title');
      expect(await api.store.users.find('careful')).toBeNull();
    });
  });
}

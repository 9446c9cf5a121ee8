import { describe, expect } from 'vitest';
import { expectError, ISO_MS, type ApiTest } from '../support.js';

export function usersSpec(test: ApiTest): void {
  describe('users', () => {
    test('POST /v1/users registers the caller with a chosen handle: 201, ETag, Location; again: 409', async (api) => {
      const carol = api.as('carol-sub', { name: 'Carol from the token' });
      const res = await carol.post('/v1/users', { handle: 'carol' });
      expect(res.statusCode).toBe(201);
      const user = res.json();
      expect(user).toEqual({
        id: 'carol-sub',
        handle: 'carol',
        displayName: 'Carol from the token',
        createdAt: user.createdAt,
        updatedAt: user.createdAt,
        version: 1,
      });
      expect(user.createdAt).toMatch(ISO_MS);
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers.location).toBe('/v1/users/carol-sub');
      expect((await carol.get('/v1/users/me')).json()).toEqual(user);

      const again = await carol.post('/v1/users', { handle: 'carol2', displayName: 'Other' });
      const error = expectError(again, 409, 'conflict');
      expect(error.message).toContain('already exists');
      expect(error.details).toMatchObject({ entity: 'user', field: 'id' });
    });

    test('POST /v1/users for a user provisioned on an earlier request: 409', async (api) => {
      const dave = api.as('dave');
      expect((await dave.get('/v1/conversations')).statusCode).toBe(200);
      expectError(await dave.post('/v1/users', { handle: 'dave2' }), 409, 'conflict');
    });

    test('POST /v1/users with a taken handle: 409, and nobody is created', async (api) => {
      await api.as('first', { preferredUsername: 'taken' }).get('/v1/users/me');
      const error = expectError(
        await api.as('second').post('/v1/users', { handle: 'taken', displayName: 'Second' }),
        409,
        'conflict',
      );
      expect(error.details).toMatchObject({ field: 'handle' });
      expect(await api.store.users.find('second')).toBeNull();
    });

    test('POST /v1/users validates handle and displayName', async (api) => {
      const c = api.as('erin');
      expectError(await c.post('/v1/users', { handle: 'Has Caps' }), 400, 'validation_failed', 'handle');
      expectError(await c.post('/v1/users', { handle: '.dot' }), 400, 'validation_failed', 'handle');
      expectError(await c.post('/v1/users', {}), 400, 'validation_failed', 'handle');
      expectError(
        await c.post('/v1/users', { handle: 'erin', displayName: '' }),
        400,
        'validation_failed',
        'displayName',
      );
      expectError(
        await c.post('/v1/users', { handle: 'erin', displayName: '   ' }),
        400,
        'validation_failed',
        'displayName',
      );
      expectError(await c.post('/v1/users', { handle: 'erin', id: 'someone-else' }), 400, 'validation_failed', 'id');
      expect(await api.store.users.find('erin')).toBeNull();
    });

    test('GET /v1/users/:id: another user, an unknown one (404), a malformed id (400)', async (api) => {
      await api.as('frank', { name: 'Frank' }).get('/v1/users/me');
      const res = await api.as('gina').get('/v1/users/frank');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: 'frank', handle: 'frank', displayName: 'Frank', version: 1 });
      expect(res.headers.etag).toBe('"1"');
      const missing = expectError(await api.as('gina').get('/v1/users/nobody'), 404, 'not_found');
      expect(missing.details).toEqual({ entity: 'user', id: 'nobody' });
      expectError(await api.as('gina').get('/v1/users/has%20space'), 400, 'validation_failed', 'id');
      const longId = 'a'.repeat(129);
      expectError(await api.as('gina').get(`/v1/users/${longId}`), 400, 'validation_failed', 'id');
      expectError(await api.as('gina').get(`/v1/users/${'b'.repeat(128)}`), 404, 'not_found');
    });

    test('PATCH /v1/users/me with If-Match and body version', async (api) => {
      const h = api.as('hank');
      await h.get('/v1/users/me');
      const res = await h.patch('/v1/users/me', { displayName: 'Hank H.' }, { headers: { 'if-match': '"1"' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: 'hank', displayName: 'Hank H.', version: 2 });
      expect(res.headers.etag).toBe('"2"');
      expect(res.json().updatedAt > res.json().createdAt || res.json().updatedAt === res.json().createdAt).toBe(true);

      expectError(
        await h.patch('/v1/users/me', { displayName: 'Stale' }, { headers: { 'if-match': '"1"' } }),
        412,
        'precondition_failed',
      );
      const conflict = expectError(
        await h.patch('/v1/users/me', { displayName: 'Stale', version: 1 }),
        409,
        'version_conflict',
      );
      expect(conflict.details).toMatchObject({ entity: 'user', expectedVersion: 1, actualVersion: 2 });
      expect((await h.get('/v1/users/me')).json().displayName).toBe('Hank H.');

      await api.as('ivy', { preferredUsername: 'ivy' }).get('/v1/users/me');
      expectError(await h.patch('/v1/users/me', { handle: 'ivy' }), 409, 'conflict');
      expectError(await h.patch('/v1/users/me', {}), 400, 'validation_failed', 'body');
      const renamed = await h.patch('/v1/users/me', { handle: 'hank.h', version: 2 });
      expect(renamed.json()).toMatchObject({ handle: 'hank.h', version: 3 });
      const audit = await api.store.audit.listForEntity('user', 'hank');
      expect(audit.map((a) => a.action)).toEqual(['create', 'update', 'update']);
      expect(audit[1]!.diff).toMatchObject({ displayName: 'Hank H.' });
      expect(audit[2]!.diff).toMatchObject({ handle: 'hank.h' });
    });
  });
}

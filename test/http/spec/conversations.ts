import { describe, expect } from 'vitest';
import { conversationOf, expectError, ISO_MS, postText, UUID, type ApiTest } from '../support.js';

export function conversationsSpec(test: ApiTest): void {
  describe('conversations', () => {
    test('POST creates with the caller as owner and the listed users as members, audited', async (api) => {
      for (const sub of ['owner', 'm1', 'm2']) await api.as(sub).get('/v1/users/me');
      const res = await api.as('owner').post('/v1/conversations', {
        title: 'Plans',
        metadata: { topic: 'trip', 'app.v': '1' },
        participantIds: ['m1', 'm2', 'm1', 'owner'],
      });
      expect(res.statusCode).toBe(201);
      const c = res.json();
      expect(c).toEqual({
        id: c.id,
        title: 'Plans',
        metadata: { topic: 'trip', 'app.v': '1' },
        createdBy: 'owner',
        createdAt: c.createdAt,
        updatedAt: c.createdAt,
        lastMessageAt: null,
        messageCount: 0,
        version: 1,
      });
      expect(c.id).toMatch(UUID);
      expect(c.createdAt).toMatch(ISO_MS);
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers.location).toBe(`/v1/conversations/${c.id}`);

      const participants = (await api.as('m2').get(`/v1/conversations/${c.id}/participants`)).json().data;
      expect(participants.map((p: { userId: string; role: string }) => [p.userId, p.role]).sort()).toEqual([
        ['m1', 'member'],
        ['m2', 'member'],
        ['owner', 'owner'],
      ]);
      expect(participants[0].joinedAt).toBe(c.createdAt);

      const audit = await api.store.audit.listForEntity('conversation', c.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actorId: 'owner', action: 'create', entity: 'conversation', entityId: c.id });
      expect(audit[0]!.diff).toMatchObject({
        title: 'Plans',
        metadata: { topic: 'trip', 'app.v': '1' },
        createdAt: c.createdAt,
      });
    });

    test('POST with no body fields creates an untitled conversation', async (api) => {
      const res = await api.as('solo').post('/v1/conversations', {});
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ title: null, metadata: {}, createdBy: 'solo' });
    });

    test('POST with unknown participant ids: 400 naming participantIds[i], nothing created', async (api) => {
      await api.as('known').get('/v1/users/me');
      const res = await api.as('creator').post('/v1/conversations', { participantIds: ['known', 'ghost', 'phantom'] });
      const error = expectError(res, 400, 'validation_failed');
      expect(error.details).toEqual({
        fields: [
          { field: 'participantIds[1]', message: 'no user with id ghost exists' },
          { field: 'participantIds[2]', message: 'no user with id phantom exists' },
        ],
      });
      expect((await api.as('creator').get('/v1/conversations')).json().data).toEqual([]);
      expectError(
        await api.as('creator').post('/v1/conversations', { participantIds: ['ok', 'bad id'] }),
        400,
        'validation_failed',
        'participantIds[1]',
      );
    });

    test('GET: participants see it (ETag), everyone else gets 404', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const res = await api.as('m').get(`/v1/conversations/${c.id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: c.id, createdBy: 'o' });
      expect(res.headers.etag).toBe('"1"');
      const hidden = expectError(await api.as('outsider').get(`/v1/conversations/${c.id}`), 404, 'not_found');
      const absent = expectError(
        await api.as('outsider').get('/v1/conversations/01890000-0000-7000-8000-000000000000'),
        404,
        'not_found',
      );
      expect(hidden.message.replace(c.id, 'X')).toBe(
        absent.message.replace('01890000-0000-7000-8000-000000000000', 'X'),
      );
      expectError(await api.as('o').get('/v1/conversations/not-a-uuid'), 400, 'validation_failed', 'id');
      expectError(await api.as('o').get(`/v1/conversations/${c.id.toUpperCase()}`), 400, 'validation_failed', 'id');
    });

    test('PATCH: any participant changes title/metadata; If-Match 412; stale body version 409', async (api) => {
      const c = await conversationOf(api, 'o', ['m'], { title: 'Old', metadata: { a: '1' } });
      const url = `/v1/conversations/${c.id}`;
      const res = await api
        .as('m')
        .patch(url, { title: 'New', metadata: { b: '2' } }, { headers: { 'if-match': '"1"' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: c.id, title: 'New', metadata: { b: '2' }, version: 2 });
      expect(res.headers.etag).toBe('"2"');

      const stale = expectError(
        await api.as('o').patch(url, { title: 'Lost' }, { headers: { 'if-match': '"1"' } }),
        412,
        'precondition_failed',
      );
      expect(stale.details).toMatchObject({ currentVersion: 2 });
      expectError(
        await api.as('o').patch(url, { title: 'Lost' }, { headers: { 'if-match': 'W/"2"' } }),
        412,
        'precondition_failed',
      );
      expectError(
        await api.as('o').patch(url, { title: 'Lost' }, { headers: { 'if-match': 'garbage' } }),
        412,
        'precondition_failed',
      );
      const conflict = expectError(
        await api.as('o').patch(url, { title: 'Lost', version: 1 }),
        409,
        'version_conflict',
      );
      expect(conflict.details).toMatchObject({
        entity: 'conversation',
        id: c.id,
        expectedVersion: 1,
        actualVersion: 2,
      });
      expect((await api.as('o').get(url)).json().title).toBe('New');

      expect(
        (await api.as('o').patch(url, { title: null }, { headers: { 'if-match': '"7", "2"' } })).json(),
      ).toMatchObject({ title: null, version: 3 });
      expect((await api.as('o').patch(url, { title: 'Star' }, { headers: { 'if-match': '*' } })).json()).toMatchObject({
        title: 'Star',
        version: 4,
      });
      expect((await api.as('o').patch(url, { title: 'Body', version: 4 })).json()).toMatchObject({
        title: 'Body',
        version: 5,
      });
      expect((await api.as('o').patch(url, { metadata: {} })).json()).toMatchObject({
        title: 'Body',
        metadata: {},
        version: 6,
      });

      expectError(await api.as('o').patch(url, {}), 400, 'validation_failed', 'body');
      expectError(await api.as('o').patch(url, { metadata: { color: 5 } }), 400, 'validation_failed', 'metadata.color');
      expectError(await api.as('outsider').patch(url, { title: 'x' }), 404, 'not_found');

      const audit = await api.store.audit.listForEntity('conversation', c.id);
      expect(audit.map((a) => a.action)).toEqual(['create', 'update', 'update', 'update', 'update', 'update']);
      expect(audit[1]).toMatchObject({ actorId: 'm', diff: { title: 'New', metadata: { b: '2' } } });
      expect(audit[2]!.diff).toMatchObject({ title: null });
    });

    test('DELETE: owner only (member 403, outsider 404); afterwards everything is gone', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      await postText(api.as('m'), c.id, 'hello');
      const url = `/v1/conversations/${c.id}`;
      const forbidden = expectError(await api.as('m').delete(url), 403, 'forbidden');
      expect(forbidden.message).toContain('owner');
      expectError(await api.as('outsider').delete(url), 404, 'not_found');
      // A stray JSON content type without a body is tolerated on DELETE.
      const res = await api.as('o').delete(url, { headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expectError(await api.as('o').get(url), 404, 'not_found');
      expectError(await api.as('m').get(`${url}/messages`), 404, 'not_found');
      expectError(await api.as('o').delete(url), 404, 'not_found');
      const audit = await api.store.audit.listForEntity('conversation', c.id);
      expect(audit.map((a) => [a.action, a.actorId])).toEqual([
        ['create', 'o'],
        ['delete', 'o'],
      ]);
    });

    test('GET /v1/conversations lists only mine, most recent activity first', async (api) => {
      const a = await conversationOf(api, 'me', [], { title: 'a' });
      const b = await conversationOf(api, 'me', [], { title: 'b' });
      const other = await conversationOf(api, 'someone', [], { title: 'not mine' });
      const shared = await conversationOf(api, 'someone', ['me'], { title: 'shared' });
      let list = (await api.as('me').get('/v1/conversations')).json();
      expect(list.data.map((c: { id: string }) => c.id)).toEqual([shared.id, b.id, a.id]);
      expect(list).toMatchObject({ hasMore: false, prevCursor: null });
      expect(list.data.some((c: { id: string }) => c.id === other.id)).toBe(false);

      await new Promise((r) => setTimeout(r, 5)); // activity strictly after the last creation
      const m = await postText(api.as('me'), a.id, 'bump');
      list = (await api.as('me').get('/v1/conversations')).json();
      expect(list.data.map((c: { id: string }) => c.id)).toEqual([a.id, shared.id, b.id]);
      expect(list.data[0]).toMatchObject({ lastMessageAt: m.createdAt, messageCount: 1 });
    });
  });
}

import { describe, expect } from 'vitest';
import { conversationOf, expectError, ISO_MS, type ApiTest } from '../support.js';

export function participantsSpec(test: ApiTest): void {
  describe('participants', () => {
    test('a non-participant gets 404 for listing, adding and removing', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const base = `/v1/conversations/${c.id}/participants`;
      const x = api.as('outsider');
      await x.get('/v1/users/me');
      expectError(await x.get(base), 404, 'not_found');
      expectError(await x.post(base, { userId: 'outsider' }), 404, 'not_found');
      expectError(await x.delete(`${base}/m`), 404, 'not_found');
      expectError(await x.delete(`${base}/outsider`), 404, 'not_found');
    });

    test('the owner adds members (201); members may not (403); unknown users 400; duplicates 409', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      await api.as('newbie').get('/v1/users/me');
      const base = `/v1/conversations/${c.id}/participants`;
      expectError(await api.as('m').post(base, { userId: 'newbie' }), 403, 'forbidden');
      const res = await api.as('o').post(base, { userId: 'newbie', role: 'member' });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({
        conversationId: c.id,
        userId: 'newbie',
        role: 'member',
        joinedAt: res.json().joinedAt,
      });
      expect(res.json().joinedAt).toMatch(ISO_MS);
      expect((await api.as('newbie').get(`/v1/conversations/${c.id}`)).statusCode).toBe(200);

      const dup = expectError(await api.as('o').post(base, { userId: 'newbie' }), 409, 'conflict');
      expect(dup.details).toMatchObject({ entity: 'participant' });
      expectError(await api.as('o').post(base, { userId: 'ghost' }), 400, 'validation_failed', 'userId');
      expectError(await api.as('o').post(base, { userId: 'newbie', role: 'owner' }), 400, 'validation_failed', 'role');
      expectError(await api.as('o').post(base, {}), 400, 'validation_failed', 'userId');

      const audit = await api.store.audit.listForEntity('participant', `${c.id}/newbie`);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actorId: 'o',
        action: 'create',
        entity: 'participant',
        diff: { role: 'member' },
      });
    });

    test('a member leaves (204) and loses sight of the conversation', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const res = await api.as('m').delete(`/v1/conversations/${c.id}/participants/m`);
      expect(res.statusCode).toBe(204);
      expectError(await api.as('m').get(`/v1/conversations/${c.id}`), 404, 'not_found');
      const list = (await api.as('o').get(`/v1/conversations/${c.id}/participants`)).json();
      expect(list.data.map((p: { userId: string }) => p.userId)).toEqual(['o']);
      const audit = await api.store.audit.listForEntity('participant', `${c.id}/m`);
      expect(audit.map((a) => [a.action, a.actorId])).toEqual([['delete', 'm']]);
    });

    test('the owner cannot leave (409); members cannot remove others (403); the owner can (204)', async (api) => {
      const c = await conversationOf(api, 'o', ['m1', 'm2']);
      const base = `/v1/conversations/${c.id}/participants`;
      const rule = expectError(await api.as('o').delete(`${base}/o`), 409, 'conflict');
      expect(rule.message).toContain('owner cannot leave');
      expectError(await api.as('m1').delete(`${base}/m2`), 403, 'forbidden');
      expectError(await api.as('m1').delete(`${base}/o`), 403, 'forbidden');
      expect((await api.as('o').delete(`${base}/m2`)).statusCode).toBe(204);
      expectError(await api.as('o').delete(`${base}/m2`), 404, 'not_found');
      expectError(await api.as('o').delete(`${base}/never-joined`), 404, 'not_found');
      expectError(await api.as('o').delete(`${base}/bad%20id`), 400, 'validation_failed', 'userId');
      expect(
        (await api.as('o').get(base))
          .json()
          .data.map((p: { userId: string }) => p.userId)
          .sort(),
      ).toEqual(['m1', 'o']);
    });
  });
}

import { describe, expect } from 'vitest';
import { conversationOf, expectError, ISO_MS, postText, text, UUID, type ApiTest } from '../support.js';

const AWKWARD = [
  { type: 'text', text: 'Grüße, 世界! 👋🏽 — "quotes" \\ back\\slash \n new line, RTL: שלום, zero-width:\u200b.' },
  { type: 'text', text: '' },
  {
    type: 'tool_call',
    callId: 'call_1',
    name: 'search',
    arguments: { zeta: 1, alpha: { nested: [1, 2.5, -3e-7, { deep: [[], {}] }] }, none: null, big: 9007199254740991 },
  },
  { type: 'tool_result', callId: 'call_1', output: [{ b: 'second', a: 'first' }, 'plain', 0, true] },
  { type: 'file', url: 'https://example.com/a%20b.png?x=1', mimeType: 'image/png', name: 'a b.png' },
  { type: 'file', fileId: 'file-123', mimeType: 'application/pdf' },
];

export function messagesSpec(test: ApiTest): void {
  describe('messages', () => {
    test('POST returns 201 with every field, ETag and Location, and bumps the conversation', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const res = await api.as('m').post(`/v1/conversations/${c.id}/messages`, {
        role: 'assistant',
        content: AWKWARD,
        metadata: { model: 'x-1' },
        clientMessageId: 'client-1',
      });
      expect(res.statusCode).toBe(201);
      const m = res.json();
      expect(m).toEqual({
        id: m.id,
        conversationId: c.id,
        authorId: 'm',
        role: 'assistant',
        content: AWKWARD,
        metadata: { model: 'x-1' },
        clientMessageId: 'client-1',
        createdAt: m.createdAt,
        editedAt: null,
        deletedAt: null,
        version: 1,
        status: 'completed',
        statusReason: null,
      });
      expect(m.id).toMatch(UUID);
      expect(m.createdAt).toMatch(ISO_MS);
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers.location).toBe(`/v1/conversations/${c.id}/messages/${m.id}`);
      const conv = (await api.as('o').get(`/v1/conversations/${c.id}`)).json();
      expect(conv).toMatchObject({ messageCount: 1, lastMessageAt: m.createdAt, version: 1 });
      const got = await api.as('o').get(`/v1/conversations/${c.id}/messages/${m.id}`);
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(m);
      expect(got.headers.etag).toBe('"1"');
      // Posts are not audited: the message is its own record.
      expect(await api.store.audit.listForEntity('message', m.id)).toEqual([]);
    });

    test('a repeat with the same clientMessageId returns 200 and the original, changing nothing', async (api) => {
      const c = await conversationOf(api, 'o');
      const url = `/v1/conversations/${c.id}/messages`;
      const first = await api.as('o').post(url, { role: 'user', content: text('once'), clientMessageId: 'idem-1' });
      expect(first.statusCode).toBe(201);
      const repeat = await api.as('o').post(url, { role: 'user', content: text('once'), clientMessageId: 'idem-1' });
      expect(repeat.statusCode).toBe(200);
      expect(repeat.json()).toEqual(first.json());
      expect(repeat.headers.etag).toBe('"1"');
      expect(repeat.headers.location).toBeUndefined();
      const different = await api
        .as('o')
        .post(url, { role: 'user', content: text('changed body'), clientMessageId: 'idem-1' });
      expect(different.statusCode).toBe(200);
      expect(different.json()).toEqual(first.json());
      expect((await api.as('o').get(`/v1/conversations/${c.id}`)).json().messageCount).toBe(1);
      const list = (await api.as('o').get(url)).json();
      expect(list.data.map((x: { id: string }) => x.id)).toEqual([first.json().id]);
    });

    test('a non-participant gets 404 for posting, reading, listing, editing and deleting', async (api) => {
      const c = await conversationOf(api, 'o');
      const m = await postText(api.as('o'), c.id, 'secret');
      const x = api.as('outsider');
      const base = `/v1/conversations/${c.id}/messages`;
      expectError(await x.post(base, { role: 'user', content: text('hi') }), 404, 'not_found');
      expectError(await x.get(base), 404, 'not_found');
      expectError(await x.get(`${base}/${m.id}`), 404, 'not_found');
      expectError(await x.patch(`${base}/${m.id}`, { content: text('x') }), 404, 'not_found');
      expectError(await x.delete(`${base}/${m.id}`), 404, 'not_found');
      expect((await api.as('o').get(`${base}/${m.id}`)).json().content).toEqual(text('secret'));
    });

    test('a message is found only under its own conversation', async (api) => {
      const c1 = await conversationOf(api, 'o');
      const c2 = await conversationOf(api, 'o');
      const m = await postText(api.as('o'), c1.id, 'here');
      expectError(await api.as('o').get(`/v1/conversations/${c2.id}/messages/${m.id}`), 404, 'not_found');
      expectError(
        await api.as('o').get(`/v1/conversations/${c1.id}/messages/01890000-0000-7000-8000-000000000000`),
        404,
        'not_found',
      );
      expectError(
        await api.as('o').get(`/v1/conversations/${c1.id}/messages/nope`),
        400,
        'validation_failed',
        'messageId',
      );
    });

    test('PATCH: author only (403 for other participants), If-Match 412, body version 409, audited', async (api) => {
      const c = await conversationOf(api, 'author', ['other']);
      const m = await postText(api.as('author'), c.id, 'draft', { metadata: { k: 'v' } });
      const url = `/v1/conversations/${c.id}/messages/${m.id}`;
      const forbidden = expectError(await api.as('other').patch(url, { content: text('hijack') }), 403, 'forbidden');
      expect(forbidden.message).toContain('author');
      const res = await api.as('author').patch(url, { content: text('final') }, { headers: { 'if-match': '"1"' } });
      expect(res.statusCode).toBe(200);
      const edited = res.json();
      expect(edited).toMatchObject({
        id: m.id,
        content: text('final'),
        metadata: { k: 'v' },
        version: 2,
        deletedAt: null,
        createdAt: m.createdAt,
      });
      expect(edited.editedAt).toMatch(ISO_MS);
      expect(res.headers.etag).toBe('"2"');

      expectError(
        await api.as('author').patch(url, { metadata: {} }, { headers: { 'if-match': '"1"' } }),
        412,
        'precondition_failed',
      );
      expectError(await api.as('author').patch(url, { metadata: {}, version: 1 }), 409, 'version_conflict');
      expectError(await api.as('author').patch(url, {}), 400, 'validation_failed', 'body');
      expect((await api.as('other').get(url)).json()).toEqual(edited);

      const audit = await api.store.audit.listForEntity('message', m.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actorId: 'author',
        action: 'update',
        entity: 'message',
        diff: { content: text('final'), editedAt: edited.editedAt },
      });
    });

    test('DELETE: author only, If-Match honoured; leaves a tombstone that cannot be edited or deleted again', async (api) => {
      const c = await conversationOf(api, 'author', ['other']);
      const m = await postText(api.as('author'), c.id, 'oops', { metadata: { k: 'v' } });
      const url = `/v1/conversations/${c.id}/messages/${m.id}`;
      expectError(await api.as('other').delete(url), 403, 'forbidden');
      expectError(await api.as('author').delete(url, { headers: { 'if-match': '"5"' } }), 412, 'precondition_failed');
      const res = await api.as('author').delete(url, { headers: { 'if-match': '"1"' } });
      expect(res.statusCode).toBe(204);
      const tomb = (await api.as('other').get(url)).json();
      expect(tomb).toMatchObject({ id: m.id, content: [], metadata: {}, version: 2, authorId: 'author' });
      expect(tomb.deletedAt).toMatch(ISO_MS);
      expectError(await api.as('author').patch(url, { content: text('undo') }), 404, 'not_found');
      expectError(await api.as('author').delete(url), 404, 'not_found');
      const list = (await api.as('other').get(`/v1/conversations/${c.id}/messages`)).json();
      expect(list.data.map((x: { id: string; content: unknown[] }) => [x.id, x.content])).toEqual([[m.id, []]]);
      expect((await api.as('other').get(`/v1/conversations/${c.id}`)).json().messageCount).toBe(1);
      const audit = await api.store.audit.listForEntity('message', m.id);
      expect(audit.map((a) => [a.action, a.actorId, a.diff])).toEqual([
        ['delete', 'author', { deletedAt: tomb.deletedAt }],
      ]);
    });

    test('the domain rules hold beyond the schema', async (api) => {
      const c = await conversationOf(api, 'o');
      const url = `/v1/conversations/${c.id}/messages`;
      const o = api.as('o');
      expectError(
        await o.post(url, {
          role: 'user',
          content: [{ type: 'file', url: 'https://x.example/a', fileId: 'f', mimeType: 'a/b' }],
        }),
        400,
        'validation_failed',
        'content[0]',
      );
      expectError(
        await o.post(url, { role: 'user', content: [{ type: 'file', mimeType: 'a/b' }] }),
        400,
        'validation_failed',
        'content[0]',
      );
      expectError(
        await o.post(url, { role: 'user', content: [{ type: 'file', url: 'relative/path', mimeType: 'a/b' }] }),
        400,
        'validation_failed',
        'content[0].url',
      );
      let deep: unknown = 'bottom';
      for (let i = 0; i < 40; i++) deep = [deep];
      expectError(
        await o.post(url, { role: 'tool', content: [{ type: 'tool_result', callId: 'c', output: deep }] }),
        400,
        'validation_failed',
        'content[0].output',
      );
      expectError(await o.post(url, { role: 'user', content: [] }), 400, 'validation_failed', 'content');
      expectError(await o.post(url, { role: 'robot', content: text('x') }), 400, 'validation_failed', 'role');
      expectError(
        await o.post(url, { role: 'user', content: text('x'), clientMessageId: 'has space' }),
        400,
        'validation_failed',
        'clientMessageId',
      );
      expectError(
        await o.post(url, { role: 'user', content: text('x'), metadata: { '-bad': 'x' } }),
        400,
        'validation_failed',
        'metadata.-bad',
      );
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      expectError(
        await o.post(url, { role: 'user', content: text('x'), metadata: tooMany }),
        400,
        'validation_failed',
        'metadata',
      );
      expect((await o.get(`/v1/conversations/${c.id}`)).json().messageCount).toBe(0);
    });
  });
}

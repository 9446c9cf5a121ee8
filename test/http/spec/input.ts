import type { InjectOptions } from 'fastify';
import { describe, expect } from 'vitest';
import { conversationOf, expectError, postText, text, type ApiTest } from '../support.js';

export function inputSpec(test: ApiTest): void {
  describe('input handling', () => {
    test('unknown fields are rejected with 400 naming the field, never dropped', async (api) => {
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      expectError(await o.post('/v1/conversations', { title: 't', colour: 'red' }), 400, 'validation_failed', 'colour');
      expectError(
        await o.post(`/v1/conversations/${c.id}/messages`, {
          role: 'user',
          content: [{ type: 'text', text: 'x', bold: true }],
        }),
        400,
        'validation_failed',
        'content[0].bold',
      );
      expectError(
        await o.post(`/v1/conversations/${c.id}/messages`, {
          role: 'user',
          content: [{ type: 'tool_call', callId: 'c', name: 'n', arguments: {}, extra: 1 }],
        }),
        400,
        'validation_failed',
        'content[0].extra',
      );
      expectError(
        await o.patch(`/v1/conversations/${c.id}`, { title: 't', createdBy: 'me' }),
        400,
        'validation_failed',
        'createdBy',
      );
      expectError(
        await o.post(`/v1/conversations/${c.id}/participants`, { userId: 'o', admin: true }),
        400,
        'validation_failed',
        'admin',
      );
      expect((await o.get(`/v1/conversations/${c.id}`)).json().title).toBeNull();
    });

    test('a number, boolean or object where a string belongs is a 400 (bodies are not coerced)', async (api) => {
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      const base = `/v1/conversations/${c.id}/messages`;
      expectError(await o.post('/v1/conversations', { title: 42 }), 400, 'validation_failed', 'title');
      expectError(
        await o.post(base, { role: 'user', content: [{ type: 'text', text: 42 }] }),
        400,
        'validation_failed',
        'content[0].text',
      );
      expectError(await o.post(base, { role: 1, content: text('x') }), 400, 'validation_failed', 'role');
      expectError(
        await o.post(base, { role: 'user', content: text('x'), clientMessageId: 12345 }),
        400,
        'validation_failed',
        'clientMessageId',
      );
      expectError(
        await o.post(base, { role: 'user', content: text('x'), metadata: { n: 1 } }),
        400,
        'validation_failed',
        'metadata.n',
      );
      expectError(
        await o.post(base, { role: 'user', content: { type: 'text', text: 'x' } }),
        400,
        'validation_failed',
        'content',
      );
      expectError(await o.post('/v1/users', { handle: true }), 400, 'validation_failed', 'handle');
      expectError(
        await o.post(`/v1/conversations/${c.id}/participants`, { userId: 123 }),
        400,
        'validation_failed',
        'userId',
      );
      expectError(
        await o.patch(`/v1/conversations/${c.id}`, { title: 'x', version: '1' }),
        400,
        'validation_failed',
        'version',
      );
      expectError(
        await o.patch(`/v1/conversations/${c.id}`, { title: 'x', version: 0 }),
        400,
        'validation_failed',
        'version',
      );
      const error = expectError(
        await o.post(base, { role: 'user', content: [{ type: 'chart', data: 1 }] }),
        400,
        'validation_failed',
        'content[0].type',
      );
      expect(error.message).toContain('text, tool_call, tool_result, file');
      expect((await o.get(`/v1/conversations/${c.id}`)).json().messageCount).toBe(0);
    });

    test('malformed or empty JSON is 400 invalid_json', async (api) => {
      const o = api.as('o');
      await o.get('/v1/users/me');
      for (const payload of ['{"title":', '{title: 1}', "{'a':1}", '{"a":1}}', 'nul', '\u0000']) {
        expectError(
          await o.inject({
            method: 'POST',
            url: '/v1/conversations',
            headers: { 'content-type': 'application/json' },
            payload,
          }),
          400,
          'invalid_json',
        );
      }
      expectError(
        await o.inject({
          method: 'POST',
          url: '/v1/conversations',
          headers: { 'content-type': 'application/json' },
          payload: '',
        }),
        400,
        'invalid_json',
      );
      expectError(
        await o.inject({
          method: 'POST',
          url: '/v1/conversations',
          headers: { 'content-type': 'application/json' },
          payload: '{"__proto__":{"admin":true}}',
        }),
        400,
        'invalid_json',
      );
      expectError(
        await o.inject({
          method: 'POST',
          url: '/v1/conversations',
          headers: { 'content-type': 'application/json' },
          payload: 'null',
        }),
        400,
        'validation_failed',
        'body',
      );
      expectError(
        await o.inject({
          method: 'POST',
          url: '/v1/conversations',
          headers: { 'content-type': 'application/json' },
          payload: '[]',
        }),
        400,
        'validation_failed',
        'body',
      );
    });

    test('a body over BODY_LIMIT_BYTES is 413; another content type is 415', async (api) => {
      const small = await api.rebuild({ BODY_LIMIT_BYTES: '4096' });
      const c = await conversationOf(small, 'o');
      const big = await small
        .as('o')
        .post(`/v1/conversations/${c.id}/messages`, { role: 'user', content: text('x'.repeat(5000)) });
      const error = expectError(big, 413, 'payload_too_large');
      expect(error.message).not.toContain('4096 bytes at');
      const fits = await small
        .as('o')
        .post(`/v1/conversations/${c.id}/messages`, { role: 'user', content: text('x'.repeat(3000)) });
      expect(fits.statusCode).toBe(201);

      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        expectError(
          await small.as('o').inject({
            method: 'POST',
            url: '/v1/conversations',
            headers: { 'content-type': type },
            payload: 'title=x',
          }),
          415,
          'unsupported_media_type',
        );
      }
    });

    test('no client input produces a 500', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const m = await postText(api.as('o'), c.id, 'x');
      // Raw JSON texts, sent as they are (some are too deep for JSON.stringify).
      const deep = '['.repeat(5000) + ']'.repeat(5000);
      const bodies: unknown[] = [
        null,
        [],
        'string',
        0,
        true,
        {},
        { title: null },
        { content: null },
        { role: null, content: null },
        { content: [null] },
        { content: [[]] },
        { content: [{}] },
        { content: [{ type: null }] },
        { content: [{ type: 'text' }] },
        { content: [{ type: 'text', text: '\ud800' }], role: 'user' },
        { raw: `{"role":"user","content":[{"type":"tool_call","callId":"c","name":"n","arguments":${deep}}]}` },
        { raw: deep },
        { raw: `{"title":${deep}}` },
        { raw: '{"title":"\\ud800"}' },
        { raw: '{"a":1,"a":2}' },
        { raw: '1e999999' },
        { content: [{ type: 'file', url: 'javascript:alert(1)', mimeType: 'x/y' }], role: 'user' },
        { content: Array.from({ length: 100 }, () => ({ type: 'text', text: 'x' })), role: 'user' },
        { metadata: [] },
        { metadata: null },
        { metadata: { '': 'x' } },
        { metadata: { ['k'.repeat(100)]: 'x' } },
        { metadata: { a: 'v'.repeat(600) } },
        { participantIds: 'o' },
        { participantIds: [null] },
        { participantIds: Array.from({ length: 101 }, (_, i) => `u${i}`) },
        { userId: '' },
        { userId: '../../etc' },
        { handle: '' },
        { handle: 'a'.repeat(65) },
        { displayName: '\u0000' },
        // Refused by the domain on every backend (no backend may store something another cannot).
        { role: 'user', content: [{ type: 'text', text: 'a\u0000b' }], metadata: { k: 'v\u0000' } },
        { title: 'nul\u0000title' },
        { version: -1 },
        { version: 1.5 },
        { version: 1e308 },
        { title: 'x'.repeat(300) },
        { clientMessageId: '' },
        { constructor: { prototype: {} } },
      ];
      const routes: [InjectOptions['method'], string][] = [
        ['POST', '/v1/users'],
        ['PATCH', '/v1/users/me'],
        ['POST', '/v1/conversations'],
        ['PATCH', `/v1/conversations/${c.id}`],
        ['POST', `/v1/conversations/${c.id}/participants`],
        ['POST', `/v1/conversations/${c.id}/messages`],
        ['PATCH', `/v1/conversations/${c.id}/messages/${m.id}`],
      ];
      const o = api.as('o');
      const statuses = new Set<number>();
      for (const [method, url] of routes) {
        for (const body of bodies) {
          const payload =
            body !== null && typeof body === 'object' && 'raw' in body ? String(body.raw) : JSON.stringify(body);
          const res = await o.inject({ method, url, headers: { 'content-type': 'application/json' }, payload });
          statuses.add(res.statusCode);
          expect(res.statusCode, `${method} ${url} ${payload.slice(0, 80)} → ${res.body.slice(0, 200)}`).toBeLessThan(
            500,
          );
          if (res.statusCode >= 400) expectError(res, res.statusCode, res.json().error.code);
        }
      }
      expect(statuses.has(400)).toBe(true);

      const urls = [
        '/v1/conversations/%00',
        '/v1/conversations/..%2F..%2Fetc',
        `/v1/conversations/${'a'.repeat(300)}`,
        '/v1/conversations/%E0%A4%A',
        `/v1/conversations/${c.id}/messages/%ZZ`,
        `/v1/users/${'x'.repeat(1000)}`,
        '/v1/users/%F0%9F%98%80',
        `/v1/conversations/${c.id}/participants/%20`,
        `/v1/conversations/${c.id}/messages?cursor=%00`,
        `/v1/conversations/${c.id}/messages?limit=1e3`,
        `/v1/conversations?cursor[]=a`,
        '/v1/conversations?limit=99999999999999999999',
      ];
      for (const url of urls) {
        for (const method of ['GET', 'DELETE', 'PATCH'] as const) {
          const res = await o.inject({ method, url, ...(method === 'PATCH' ? { payload: { title: 'x' } } : {}) });
          expect(res.statusCode, `${method} ${url} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
          expectError(res, res.statusCode, res.json().error.code);
        }
      }

      const headers: Record<string, string>[] = [
        { 'if-match': '' },
        { 'if-match': '"' },
        { 'if-match': '"99999999999999999999"' },
        { 'if-match': ',,,' },
        { 'if-match': 'W/' },
        { authorization: `Bearer ${'a'.repeat(10000)}` },
        { authorization: 'Bearer e30.e30.' },
        { 'content-type': 'application/json; charset=utf-16' },
      ];
      for (const h of headers) {
        const client = h.authorization ? api.withHeaders(h) : o;
        const res = await client.patch(`/v1/conversations/${c.id}`, { title: 'y' }, { headers: h });
        expect(res.statusCode, `${JSON.stringify(h).slice(0, 60)} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
      }
    });
  });
}

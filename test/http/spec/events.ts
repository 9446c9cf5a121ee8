import { describe, expect } from 'vitest';
import { bearer, openStream } from '../sse-client.js';
import { conversationOf, expectError, postText, type ApiTest } from '../support.js';

export function eventsSpec(test: ApiTest): void {
  describe('events', () => {
    test('JSON pages: every change in order, exact resume with after, payloads as the API returns them', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const o = api.as('o');
      const m1 = await postText(o, c.id, 'one');
      const posted = (await o.get(`/v1/conversations/${c.id}/messages/${m1.id}`)).json();
      await postText(o, c.id, 'two');
      await postText(o, c.id, 'three');
      const base = `/v1/conversations/${c.id}/events`;

      const first = await o.get(base, { query: { limit: '2' } });
      expect(first.statusCode).toBe(200);
      const page = first.json();
      expect(page.events.map((e: { seq: number; type: string }) => [e.seq, e.type])).toEqual([
        [1, 'conversation.created'],
        [2, 'message.created'],
      ]);
      expect(page).toMatchObject({ lastSeq: 2, hasMore: true, ended: false });
      expect(page.events[1]).toEqual({
        seq: 2,
        type: 'message.created',
        conversationId: c.id,
        at: posted.createdAt,
        actorId: 'o',
        data: { message: posted },
      });
      const rest = (await o.get(base, { query: { after: '2' } })).json();
      expect(rest.events.map((e: { seq: number }) => e.seq)).toEqual([3, 4]);
      expect(rest).toMatchObject({ lastSeq: 4, hasMore: false });
      expect((await o.get(base, { query: { after: '4' } })).json()).toEqual({
        events: [],
        lastSeq: 4,
        hasMore: false,
        ended: false,
      });
      const ahead = (await o.get(base, { query: { after: '99' } })).json();
      expect(ahead.events).toMatchObject([{ type: 'reset', seq: 4, data: { reason: 'ahead', lastSeq: 4 } }]);
      expectError(await o.get(base, { query: { after: 'x' } }), 400, 'validation_failed', 'after');
      expectError(await o.get(base, { headers: { 'last-event-id': '-1' } }), 400, 'validation_failed', 'Last-Event-ID');
      const x = api.as('outsider');
      await x.get('/v1/users/me');
      expectError(await x.get(base), 404, 'not_found');
      expectError(await x.post('/v1/stream-tickets', { conversationId: c.id }), 404, 'not_found');
    });

    test('a resume from before the retained window is a reset, never a gap', async (api) => {
      const c = await conversationOf(api, 'o');
      await postText(api.as('o'), c.id, 'old');
      await api.store.events.prune(new Date(Date.now() + 60_000));
      await postText(api.as('o'), c.id, 'new');
      const base = `/v1/conversations/${c.id}/events`;
      const res = (await api.as('o').get(base, { query: { after: '1' } })).json();
      expect(res.events).toMatchObject([{ type: 'reset', seq: 3, actorId: null, data: { reason: 'expired' } }]);
      expect(res.lastSeq).toBe(3);
      expect(
        (await api.as('o').get(base, { query: { after: '2' } })).json().events.map((e: { seq: number }) => e.seq),
      ).toEqual([3]);
    });

    test('a member added later sees events from their joining on', async (api) => {
      const c = await conversationOf(api, 'o');
      await postText(api.as('o'), c.id, 'before');
      await api.as('late').get('/v1/users/me');
      expect((await api.as('o').post(`/v1/conversations/${c.id}/participants`, { userId: 'late' })).statusCode).toBe(
        201,
      );
      await postText(api.as('o'), c.id, 'after');
      const page = (await api.as('late').get(`/v1/conversations/${c.id}/events`)).json();
      expect(page.events.map((e: { seq: number; type: string }) => [e.seq, e.type])).toEqual([
        [3, 'participant.added'],
        [4, 'message.created'],
      ]);
    });

    test('SSE: live events over a real socket, resume with Last-Event-ID, retry set', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const path = `/v1/conversations/${c.id}/events`;
      const s = await openStream(api, path, await bearer(api, 'm'));
      try {
        expect(s.res.statusCode).toBe(200);
        expect(s.res.headers['content-type']).toMatch(/^text\/event-stream/);
        await s.waitFor((list) => list.length === 1);
        expect(s.text.startsWith('retry: 3000\n\n')).toBe(true);
        expect(s.events[0]).toMatchObject({ id: '1', event: 'conversation.created' });
        await postText(api.as('o'), c.id, 'live');
        await s.waitFor((list) => list.length === 2);
        expect(s.events[1]).toMatchObject({ id: '2', event: 'message.created' });
        expect(JSON.parse(s.events[1]!.data!).data.message.content).toEqual([{ type: 'text', text: 'live' }]);
      } finally {
        s.close();
      }
      await postText(api.as('o'), c.id, 'missed 1');
      await postText(api.as('o'), c.id, 'missed 2');
      const again = await openStream(api, path, { ...(await bearer(api, 'm')), 'last-event-id': '2' });
      try {
        await again.waitFor((list) => list.length === 2);
        await new Promise((r) => setTimeout(r, 100));
        expect(again.events.map((e) => e.id)).toEqual(['3', '4']);
      } finally {
        again.close();
      }
    });

    test('SSE: removal mid-stream delivers the final event and ends the stream', async (api) => {
      const c = await conversationOf(api, 'o', ['m']);
      const s = await openStream(api, `/v1/conversations/${c.id}/events?after=1`, await bearer(api, 'm'));
      await new Promise((r) => setTimeout(r, 50));
      expect((await api.as('o').delete(`/v1/conversations/${c.id}/participants/m`)).statusCode).toBe(204);
      await s.closed;
      expect(s.events.map((e) => [e.id, e.event])).toEqual([['2', 'participant.removed']]);
      const owner = await openStream(api, `/v1/conversations/${c.id}/events?after=2`, await bearer(api, 'o'));
      await new Promise((r) => setTimeout(r, 50));
      expect((await api.as('o').delete(`/v1/conversations/${c.id}`)).statusCode).toBe(204);
      await owner.closed;
      expect(owner.events.map((e) => e.event)).toEqual(['conversation.deleted']);
      expect(api.app.live.streams.size).toBe(0);
    });

    test('tickets: valid once, for one conversation; reused or foreign tickets are 401', async (api) => {
      const c = await conversationOf(api, 'o');
      const other = await conversationOf(api, 'o');
      const res = await api.as('o').post('/v1/stream-tickets', { conversationId: c.id });
      expect(res.statusCode).toBe(201);
      const { ticket, expiresAt } = res.json();
      expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(50_000);
      const path = (id: string, t: string) => `/v1/conversations/${id}/events?ticket=${encodeURIComponent(t)}`;
      const s = await openStream(api, path(c.id, ticket), {});
      try {
        expect(s.res.statusCode).toBe(200);
        await s.waitFor((list) => list.length === 1);
      } finally {
        s.close();
      }
      const anon = api.withHeaders({});
      expectError(await anon.get(path(c.id, ticket)), 401, 'unauthorized');
      const second = (await api.as('o').post('/v1/stream-tickets', { conversationId: c.id })).json().ticket;
      expectError(await anon.get(path(other.id, second)), 401, 'unauthorized');
      expectError(await anon.get(path(c.id, `${second.slice(0, -2)}xx`)), 401, 'unauthorized');
      expect((await anon.get(path(c.id, second))).statusCode).toBe(200);
    });

    test(
      'SSE: a client that does not read is dropped within a bound; memory stays bounded',
      async (api) => {
        const small = await api.rebuild({ EVENTS_STREAM_BUFFER_BYTES: '16384', EVENTS_POLL_MS: '100' });
        const c = await conversationOf(small, 'o');
        const s = await openStream(small, `/v1/conversations/${c.id}/events`, await bearer(small, 'o'), {
          paused: true,
        });
        const big = 'x'.repeat(60_000);
        const started = Date.now();
        const parts = Array.from({ length: 3 }, () => ({ type: 'text', text: big }));
        await new Promise((r) => setTimeout(r, 50));
        expect(small.app.live.streams.size).toBe(1);
        const heap = process.memoryUsage().heapUsed;
        // The socket's own buffers take a few MB first; past them the server's queue grows and the
        // stream is dropped once it holds more than EVENTS_STREAM_BUFFER_BYTES.
        for (let i = 0; i < 300 && small.app.live.streams.size > 0; i++) {
          const res = await small.as('o').post(`/v1/conversations/${c.id}/messages`, { role: 'user', content: parts });
          expect(res.statusCode).toBe(201);
          await new Promise((r) => setImmediate(r));
        }
        const until = Date.now() + 5000;
        while (small.app.live.streams.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        expect(small.app.live.streams.size).toBe(0);
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(process.memoryUsage().heapUsed - heap).toBeLessThan(200 * 1024 * 1024);
        s.close();
        expect(small.app.live.streams.size).toBe(0);
      },
      { timeout: 60_000 },
    );
  });
}

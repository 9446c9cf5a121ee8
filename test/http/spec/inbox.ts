import { describe, expect } from 'vitest';
import { bearer, openStream, type SseEvent } from '../sse-client.js';
import { conversationOf, expectError, postText, type Api, type ApiTest, type Client } from '../support.js';

interface InboxItem {
  type: 'conversation' | 'removed';
  at: string;
  conversation?: { id: string; title: string | null; messageCount: number; version: number };
  conversationId?: string;
  reason?: string;
}

/** Reads the caller's inbox JSON pages from `after` until nothing more is ready. */
async function readAll(c: Client, after: string, limit = 50) {
  const items: InboxItem[] = [];
  let cursor = after;
  for (let guard = 0; guard < 50; guard++) {
    const res = await c.get('/v1/events', { query: { after: cursor, limit: String(limit) } });
    expect(res.statusCode).toBe(200);
    const page = res.json();
    items.push(...page.items);
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  return { items, cursor };
}

const startCursor = async (c: Client): Promise<string> => {
  const page = (await c.get('/v1/events')).json();
  expect(page).toEqual({ items: [], cursor: expect.stringMatching(/^\d+$/), hasMore: false, reset: false });
  return page.cursor;
};

const summary = (items: InboxItem[]) =>
  items.map((i) =>
    i.type === 'conversation'
      ? ['conversation', i.conversation!.id, i.conversation!.title, i.conversation!.messageCount]
      : ['removed', i.conversationId, i.reason],
  );

const data = (e: SseEvent) => JSON.parse(e.data ?? 'null');
const named = (list: SseEvent[], event: string) => list.filter((e) => e.event === event);

async function provision(api: Api, ...subs: string[]) {
  for (const sub of subs) expect((await api.as(sub).get('/v1/users/me')).statusCode).toBe(200);
}

export function inboxSpec(test: ApiTest): void {
  describe('inbox feed', () => {
    test('JSON: states of my conversations after they change, my removals, nobody else’s', async (api) => {
      await provision(api, 'o', 'm', 'stranger');
      const o = api.as('o');
      const m = api.as('m');
      const from = await startCursor(m);
      const strangerFrom = await startCursor(api.as('stranger'));
      const a = await conversationOf(api, 'o', ['m'], { title: 'A' });
      const b = await conversationOf(api, 'o', ['m'], { title: 'B' });
      await postText(o, a.id, 'hello');
      const renamed = await o.patch(`/v1/conversations/${b.id}`, { title: 'B2' }, { headers: { 'if-match': '"1"' } });
      expect(renamed.statusCode).toBe(200);

      const seen = await readAll(m, from);
      // One item per conversation, each as it is now, in the order of their latest change.
      const states = summary(seen.items).filter(([, id], i, all) => all.findLastIndex(([, x]) => x === id) === i);
      expect(states).toEqual([
        ['conversation', a.id, 'A', 1],
        ['conversation', b.id, 'B2', 0],
      ]);
      const latest = seen.items.findLast((i) => i.conversation?.id === a.id)!;
      expect(latest.conversation).toEqual((await m.get(`/v1/conversations/${a.id}`)).json());
      expect((await readAll(api.as('stranger'), strangerFrom)).items).toEqual([]);

      expect((await o.delete(`/v1/conversations/${a.id}/participants/m`)).statusCode).toBe(204);
      expect((await o.delete(`/v1/conversations/${b.id}`)).statusCode).toBe(204);
      const after = await readAll(m, seen.cursor);
      expect(summary(after.items).filter(([kind]) => kind === 'removed')).toEqual([
        ['removed', a.id, 'removed'],
        ['removed', b.id, 'deleted'],
      ]);
      const owner = await readAll(o, seen.cursor);
      expect(summary(owner.items).filter(([kind]) => kind === 'removed')).toEqual([['removed', b.id, 'deleted']]);
    });

    test('JSON: pages continue exactly; an old position is a reset; a bad one is a 400 naming it', async (api) => {
      await provision(api, 'o', 'm');
      const m = api.as('m');
      const from = await startCursor(m);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await conversationOf(api, 'o', ['m'], { title: `c${i}` })).id);
      const paged = await readAll(m, from, 2);
      expect(paged.items.map((i) => i.conversation!.id)).toEqual(ids);
      const cut = (await m.get('/v1/events', { query: { after: from, limit: '2' } })).json();
      expect(cut).toMatchObject({ hasMore: true, cursor: expect.stringMatching(/^\d+\.[0-9a-f-]{36}$/) });

      const old = (await m.get('/v1/events', { query: { after: '1000' } })).json();
      expect(old).toEqual({ items: [], cursor: expect.stringMatching(/^\d+$/), hasMore: false, reset: true });
      expect(Number(old.cursor)).toBeGreaterThan(Date.now() - 60_000);
      expectError(await m.get('/v1/events', { query: { after: 'yesterday' } }), 400, 'validation_failed', 'after');
      expectError(
        await m.get('/v1/events', { headers: { 'last-event-id': '12.x' } }),
        400,
        'validation_failed',
        'Last-Event-ID',
      );
      expectError(await m.get('/v1/events', { query: { limit: '0' } }), 400, 'validation_failed', 'limit');
      expectError(await api.withHeaders({}).get('/v1/events'), 401, 'unauthorized');
    });

    test('SSE: ready, then each change once, live; removal; resume with Last-Event-ID misses nothing', async (base) => {
      const api = await base.rebuild({ EVENTS_POLL_MS: '150' });
      await provision(api, 'o', 'm');
      const o = api.as('o');
      const s = await openStream(api, '/v1/events', await bearer(api, 'm'));
      let resumeFrom = '';
      let c = { id: '' };
      try {
        await s.waitFor((list) => named(list, 'ready').length === 1);
        const ready = s.events[0]!;
        expect(ready.event).toBe('ready');
        expect(data(ready)).toEqual({ cursor: ready.id });

        c = await conversationOf(api, 'o', ['m'], { title: 'live' });
        await s.waitFor((list) => named(list, 'conversation').length === 1);
        expect(data(named(s.events, 'conversation')[0]!)).toMatchObject({
          type: 'conversation',
          conversation: { id: c.id, title: 'live', messageCount: 0 },
        });
        await postText(o, c.id, 'one');
        await s.waitFor((list) => named(list, 'conversation').some((e) => data(e).conversation.messageCount === 1));
        // Several polls read the settle window again: nothing is sent twice.
        await new Promise((r) => setTimeout(r, 600));
        const states = named(s.events, 'conversation').map((e) => data(e).conversation.messageCount);
        expect(states).toEqual([0, 1]);
        const ids = s.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
        resumeFrom = s.events.at(-1)!.id!;
      } finally {
        s.close();
      }

      // While disconnected: a rename, a new conversation and a removal.
      expect(
        (await o.patch(`/v1/conversations/${c.id}`, { title: 'renamed' }, { headers: { 'if-match': '"1"' } }))
          .statusCode,
      ).toBe(200);
      const d = await conversationOf(api, 'o', ['m'], { title: 'while away' });
      expect((await o.delete(`/v1/conversations/${d.id}/participants/m`)).statusCode).toBe(204);

      const again = await openStream(api, '/v1/events', { ...(await bearer(api, 'm')), 'last-event-id': resumeFrom });
      try {
        await again.waitFor((list) => named(list, 'removed').length === 1);
        expect(named(again.events, 'ready')).toEqual([]);
        const got = again.events.filter((e) => e.event === 'conversation' || e.event === 'removed').map(data);
        const lastState = (id: string) => got.findLast((i) => i.conversation?.id === id)?.conversation;
        expect(lastState(c.id)).toMatchObject({ title: 'renamed', messageCount: 1 });
        // Created and left while away: only the removal (its state is no longer the caller's to see).
        expect(lastState(d.id)).toBeUndefined();
        expect(got.at(-1)).toMatchObject({ type: 'removed', conversationId: d.id, reason: 'removed' });
        // Live after the resume: the conversation it still has wakes it.
        await postText(o, c.id, 'two');
        await again.waitFor((list) => named(list, 'conversation').some((e) => data(e).conversation.messageCount === 2));
      } finally {
        again.close();
      }
      await again.closed;
      for (let i = 0; i < 100 && api.app.live.streams.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(api.app.live.streams.size).toBe(0);
    });

    test('tickets for the inbox: once, and only for the inbox; the body names one stream', async (api) => {
      await provision(api, 'o');
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      const res = await o.post('/v1/stream-tickets', { stream: 'inbox' });
      expect(res.statusCode).toBe(201);
      const { ticket } = res.json();
      const anon = api.withHeaders({});
      const path = (t: string) => `/v1/events?ticket=${encodeURIComponent(t)}`;
      const s = await openStream(api, path(ticket), {});
      try {
        expect(s.res.statusCode).toBe(200);
        await s.waitFor((list) => named(list, 'ready').length === 1);
      } finally {
        s.close();
      }
      expectError(await anon.get(path(ticket)), 401, 'unauthorized');
      const forConversation = (await o.post('/v1/stream-tickets', { conversationId: c.id })).json().ticket;
      expectError(await anon.get(path(forConversation)), 401, 'unauthorized');
      const forInbox = (await o.post('/v1/stream-tickets', { stream: 'inbox' })).json().ticket;
      expectError(
        await anon.get(`/v1/conversations/${c.id}/events?ticket=${encodeURIComponent(forInbox)}`),
        401,
        'unauthorized',
      );
      expectError(await o.post('/v1/stream-tickets', {}), 400, 'validation_failed', 'conversationId');
      expectError(
        await o.post('/v1/stream-tickets', { stream: 'inbox', conversationId: c.id }),
        400,
        'validation_failed',
        'conversationId',
      );
      expectError(await o.post('/v1/stream-tickets', { stream: 'all' }), 400, 'validation_failed', 'stream');
    });
  });
}

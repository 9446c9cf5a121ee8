import { describe, expect } from 'vitest';
import { conversationOf, expectError, postText, type Api, type ApiTest } from '../support.js';

interface PageBody {
  data: { id: string }[];
  nextCursor: string | null;
  prevCursor: string | null;
  hasMore: boolean;
}

async function page(api: Api, sub: string, url: string, query: Record<string, string>): Promise<PageBody> {
  const res = await api.as(sub).get(url, { query });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as PageBody;
  expect(Object.keys(body).sort()).toEqual(['data', 'hasMore', 'nextCursor', 'prevCursor']);
  return body;
}

const ids = (p: PageBody) => p.data.map((x) => x.id);

export function paginationSpec(test: ApiTest): void {
  describe('pagination', () => {
    test('messages: three pages newest-first, three pages oldest-first, and back with prevCursor', async (api) => {
      const c = await conversationOf(api, 'o');
      const m: string[] = [];
      for (let i = 1; i <= 7; i++) m.push((await postText(api.as('o'), c.id, `m${i}`)).id);
      const [m1, m2, m3, m4, m5, m6, m7] = m as [string, string, string, string, string, string, string];
      const url = `/v1/conversations/${c.id}/messages`;

      // Default direction is older: newest first.
      const o1 = await page(api, 'o', url, { limit: '3' });
      expect(ids(o1)).toEqual([m7, m6, m5]);
      expect(o1.hasMore).toBe(true);
      const o2 = await page(api, 'o', url, { limit: '3', cursor: o1.nextCursor!, direction: 'older' });
      expect(ids(o2)).toEqual([m4, m3, m2]);
      expect(o2.hasMore).toBe(true);
      const o3 = await page(api, 'o', url, { limit: '3', cursor: o2.nextCursor! });
      expect(ids(o3)).toEqual([m1]);
      expect(o3.hasMore).toBe(false);
      const o4 = await page(api, 'o', url, { limit: '3', cursor: o3.nextCursor! });
      expect(o4).toEqual({ data: [], nextCursor: null, prevCursor: null, hasMore: false });

      const n1 = await page(api, 'o', url, { limit: '3', direction: 'newer' });
      expect(ids(n1)).toEqual([m1, m2, m3]);
      expect(n1.hasMore).toBe(true);
      const n2 = await page(api, 'o', url, { limit: '3', direction: 'newer', cursor: n1.nextCursor! });
      expect(ids(n2)).toEqual([m4, m5, m6]);
      const n3 = await page(api, 'o', url, { limit: '3', direction: 'newer', cursor: n2.nextCursor! });
      expect(ids(n3)).toEqual([m7]);
      expect(n3.hasMore).toBe(false);

      // prevCursor goes the other way from the first item of a page.
      const back = await page(api, 'o', url, { limit: '3', direction: 'newer', cursor: o2.prevCursor! });
      expect(ids(back)).toEqual([m5, m6, m7]);
      const backOlder = await page(api, 'o', url, { limit: '3', direction: 'older', cursor: n2.prevCursor! });
      expect(ids(backOlder)).toEqual([m3, m2, m1]);
      expect(backOlder.hasMore).toBe(false);

      // Polling: the newest page's nextCursor with direction=newer picks up later messages.
      const m8 = (await postText(api.as('o'), c.id, 'm8')).id;
      const fresh = await page(api, 'o', url, { direction: 'newer', cursor: n3.nextCursor! });
      expect(ids(fresh)).toEqual([m8]);

      // The default page size is 50 and holds everything here.
      expect(ids(await page(api, 'o', url, {}))).toEqual([m8, m7, m6, m5, m4, m3, m2, m1]);
    });

    test('conversations: three pages by recent activity, one direction only', async (api) => {
      const created: string[] = [];
      for (let i = 0; i < 7; i++) created.push((await conversationOf(api, 'lister', [], { title: `c${i}` })).id);
      const expected = [...created].reverse();
      const url = '/v1/conversations';
      const p1 = await page(api, 'lister', url, { limit: '3' });
      const p2 = await page(api, 'lister', url, { limit: '3', cursor: p1.nextCursor! });
      const p3 = await page(api, 'lister', url, { limit: '3', cursor: p2.nextCursor! });
      expect([ids(p1), ids(p2), ids(p3)]).toEqual([expected.slice(0, 3), expected.slice(3, 6), expected.slice(6)]);
      expect([p1.hasMore, p2.hasMore, p3.hasMore]).toEqual([true, true, false]);
      expect([p1.prevCursor, p2.prevCursor, p3.prevCursor]).toEqual([null, null, null]);
    });

    test('bad cursors, limits and directions are 400s naming the parameter', async (api) => {
      const c = await conversationOf(api, 'o');
      const o = api.as('o');
      for (const url of [`/v1/conversations/${c.id}/messages`, '/v1/conversations']) {
        for (const limit of ['0', '201', '-1', 'abc', '1.5', ''])
          expectError(await o.get(url, { query: { limit } }), 400, 'validation_failed', 'limit');
        for (const cursor of [
          'garbage',
          'c1.!!!',
          `c1.${Buffer.from('123.not-a-uuid').toString('base64url')}`,
          'x'.repeat(200),
        ]) {
          expectError(await o.get(url, { query: { cursor } }), 400, 'validation_failed', 'cursor');
        }
        expectError(await o.get(`${url}?limit=1&limit=2`), 400, 'validation_failed', 'limit');
        expectError(await o.get(url, { query: { page: '2' } }), 400, 'validation_failed', 'page');
      }
      expectError(
        await o.get(`/v1/conversations/${c.id}/messages`, { query: { direction: 'sideways' } }),
        400,
        'validation_failed',
        'direction',
      );
    });
  });
}

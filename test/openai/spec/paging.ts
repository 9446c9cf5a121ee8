import OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { allItems, expectOpenAiError, failure, type OpenAiTest } from '../support.js';

type InputItem = OpenAI.Responses.ResponseInputItem;

const texts = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ role: 'user', content: `item ${from + i}` })) as InputItem[];

const textOf = (item: OpenAI.Conversations.ConversationItem) =>
  item.type === 'message' && item.content[0]?.type === 'input_text' ? item.content[0].text : `<${item.type}>`;

export function pagingSpec(test: OpenAiTest): void {
  describe('listing items', () => {
    test('auto-pagination walks every item once, in either order; the default page is 20, newest first', async (api) => {
      const client = await api.sdk('alice');
      const { id } = await client.conversations.create({ items: texts(0, 15) });
      await client.conversations.items.create(id, { items: texts(15, 15) });
      await client.conversations.items.create(id, { items: texts(30, 15) });
      const ascending: string[] = [];
      for await (const item of client.conversations.items.list(id, { order: 'asc', limit: 7 }))
        ascending.push(textOf(item));
      expect(ascending).toEqual(Array.from({ length: 45 }, (_, i) => `item ${i}`));
      const descending: string[] = [];
      for await (const item of client.conversations.items.list(id)) descending.push(textOf(item));
      expect(descending).toEqual([...ascending].reverse());

      const first = await client.conversations.items.list(id);
      expect(first.data.map(textOf)).toEqual(ascending.slice(25).reverse());
      expect(first).toMatchObject({ has_more: true, last_id: first.data[19]!.id });
      // The page as sent, with the fields the SDK's page object does not keep.
      const raw = await client.get(`/conversations/${id}/items`);
      expect(raw).toEqual({
        object: 'list',
        data: first.data,
        first_id: first.data[0]!.id,
        last_id: first.last_id,
        has_more: true,
      });
      const second = await client.conversations.items.list(id, { after: first.last_id, limit: 100 });
      expect(second.data.map(textOf)).toEqual(ascending.slice(0, 25).reverse());
      expect(second.has_more).toBe(false);
      const exact = await client.conversations.items.list(id, { order: 'asc', limit: 45 });
      expect(exact.data).toHaveLength(45);
      expect(exact.has_more).toBe(false);
      const tail = await client.get(`/conversations/${id}/items`, { query: { order: 'asc', after: exact.last_id } });
      expect(tail).toEqual({ object: 'list', data: [], has_more: false, first_id: null, last_id: null });
    });

    test('limit, order and after are checked: 400 naming the parameter', async (api) => {
      const client = await api.sdk('bob');
      const { id } = await client.conversations.create({ items: texts(0, 2) });
      const other = await client.conversations.create({ items: texts(0, 1) });
      const [foreign] = await allItems(client, other.id);
      for (const [query, param] of [
        [{ limit: 0 }, 'limit'],
        [{ limit: 101 }, 'limit'],
        [{ order: 'sideways' }, 'order'],
        [{ after: 'msg_123' }, 'after'],
        [{ after: foreign!.id }, 'after'],
        [{ after: '01900000-0000-7000-8000-000000000000' }, 'after'],
      ] as const)
        expectOpenAiError(
          await failure(client.conversations.items.list(id, query as never)),
          OpenAI.BadRequestError,
          400,
          param,
        );
      expect((await client.conversations.items.list(id, { limit: 100 })).data).toHaveLength(2);
      expect((await client.conversations.items.list(id, { limit: 1 })).data).toHaveLength(1);
    });

    test('a /v1 message mixing text and tool parts reads as several items, paged and deleted one by one', async (api) => {
      const client = await api.sdk('carol');
      const { id } = await client.conversations.create({ items: texts(0, 1) });
      const posted = await api.v1('carol').post(`/conversations/${id}/messages`, {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_call', callId: 'c1', name: 'search', arguments: { q: 'lisbon' } },
          { type: 'text', text: 'And one more:' },
          { type: 'text', text: 'two texts make one item.' },
          { type: 'tool_result', callId: 'c1', output: { hits: 3 } },
        ],
      });
      expect(posted.status).toBe(201);
      const m = posted.body.id as string;
      const items = await allItems(client, id, 1);
      expect(items.slice(1)).toEqual([
        {
          id: m,
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }],
        },
        {
          id: `${m}_1`,
          type: 'function_call',
          status: 'completed',
          call_id: 'c1',
          name: 'search',
          arguments: '{"q":"lisbon"}',
        },
        {
          id: `${m}_2`,
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [
            { type: 'output_text', text: 'And one more:', annotations: [] },
            { type: 'output_text', text: 'two texts make one item.', annotations: [] },
          ],
        },
        { id: `${m}_3`, type: 'function_call_output', status: 'completed', call_id: 'c1', output: '{"hits":3}' },
      ]);
      const newestFirst: string[] = [];
      for await (const item of client.conversations.items.list(id, { limit: 1 })) newestFirst.push(String(item.id));
      expect(newestFirst).toEqual(items.map((i) => i.id).reverse());
      const mid = await client.conversations.items.list(id, { order: 'asc', after: `${m}_1`, limit: 1 });
      expect(mid.data.map((i) => i.id)).toEqual([`${m}_2`]);
      expect(await client.conversations.items.retrieve(`${m}_3`, { conversation_id: id })).toEqual(items[4]);

      // Deleting the tool call leaves the message with its other parts (an edit, on /v1).
      await client.conversations.items.delete(`${m}_1`, { conversation_id: id });
      const v1 = await api.v1('carol').get(`/conversations/${id}/messages/${m}`);
      expect(v1.body.content.map((p: { type: string }) => p.type)).toEqual(['text', 'text', 'text', 'tool_result']);
      expect(v1.body.version).toBe(2);
      expect((await allItems(client, id)).slice(1).map((i) => i.type)).toEqual(['message', 'function_call_output']);
    });

    test('deleted messages have no items: pages skip them and stay full', async (api) => {
      const client = await api.sdk('dave');
      const { id } = await client.conversations.create({ items: texts(0, 10) });
      const items = await allItems(client, id);
      for (const item of items.slice(2, 8))
        expect((await api.v1('dave').delete(`/conversations/${id}/messages/${item.id}`)).status).toBe(204);
      const page = await client.conversations.items.list(id, { order: 'asc', limit: 3 });
      expect(page.data.map(textOf)).toEqual(['item 0', 'item 1', 'item 8']);
      expect(page.has_more).toBe(true);
      expect((await allItems(client, id, 2)).map(textOf)).toEqual(['item 0', 'item 1', 'item 8', 'item 9']);
      // A cursor on a deleted item still continues from where it was.
      const after = await client.conversations.items.list(id, { order: 'asc', after: items[4]!.id });
      expect(after.data.map(textOf)).toEqual(['item 8', 'item 9']);
    });

    test(
      'a page ends before PAGE_MAX_BYTES with has_more; auto-pagination still gets everything',
      async (api) => {
        const client = await api.sdk('erin');
        const big = Array.from({ length: 6 }, (_, i) => ({ role: 'user', content: `${i}${'x'.repeat(20_000)}` }));
        const { id } = await client.conversations.create({ items: big as InputItem[] });
        const page = await client.conversations.items.list(id, { order: 'asc', limit: 100 });
        expect(page.data.length).toBeGreaterThan(0);
        expect(page.data.length).toBeLessThan(6);
        expect(page.has_more).toBe(true);
        expect(Buffer.byteLength(JSON.stringify(page.data))).toBeLessThanOrEqual(65_536);
        expect((await allItems(client, id)).map((i) => textOf(i)[0])).toEqual(['0', '1', '2', '3', '4', '5']);
      },
      { env: { PAGE_MAX_BYTES: '65536' } },
    );
  });
}

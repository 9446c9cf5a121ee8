import OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { allItems, expectOpenAiError, failure, withIds, type OpenAiTest } from '../support.js';

type InputItem = OpenAI.Responses.ResponseInputItem;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * One item of every kind and field the mapping handles, each exactly as the SDK reads it back:
 * every role, every content part kind (with the fields beyond their text), function calls with
 * canonical and non-canonical arguments, outputs as text and as parts, and item kinds polystore
 * keeps opaque.
 */
export const EVERY_KIND = [
  {
    type: 'message',
    role: 'user',
    status: 'completed',
    content: [
      { type: 'input_text', text: 'Look at this 👀' },
      { type: 'input_image', detail: 'high', image_url: 'https://example.com/cat.png' },
      { type: 'input_file', filename: 'notes.txt', file_data: 'data:text/plain;base64,aGk=' },
      { type: 'input_text', text: 'cached', prompt_cache_breakpoint: { mode: 'explicit' } },
    ],
  },
  {
    type: 'message',
    role: 'assistant',
    status: 'completed',
    phase: 'final_answer',
    content: [
      {
        type: 'output_text',
        text: 'Here.',
        annotations: [{ type: 'url_citation', url: 'https://x.test/$a.b', title: 'X', start_index: 0, end_index: 5 }],
        logprobs: [{ token: 'Here', bytes: [72, 101], logprob: -0.25, top_logprobs: [] }],
      },
      { type: 'refusal', refusal: 'Not that, though.' },
    ],
  },
  { type: 'message', role: 'system', status: 'completed', content: [{ type: 'input_text', text: 'system says' }] },
  {
    type: 'message',
    role: 'developer',
    status: 'completed',
    content: [{ type: 'input_text', text: 'developer says' }],
  },
  { type: 'message', role: 'tool', status: 'completed', content: [{ type: 'text', text: 'a plain text part' }] },
  {
    type: 'message',
    role: 'critic',
    status: 'completed',
    content: [
      { type: 'summary_text', text: 'in short' },
      { type: 'reasoning_text', text: 'because' },
    ],
  },
  {
    type: 'message',
    role: 'discriminator',
    status: 'completed',
    content: [{ type: 'computer_screenshot', detail: 'auto', file_id: null, image_url: 'data:image/png;base64,iVBO' }],
  },
  {
    type: 'message',
    role: 'unknown',
    status: 'completed',
    content: [{ type: 'output_text', text: 'not the default for this role', annotations: [] }],
  },
  {
    type: 'function_call',
    status: 'completed',
    call_id: 'call_1',
    name: 'get_weather',
    arguments: '{"city":"Lisbon","days":[1,2]}',
    namespace: 'tools',
  },
  {
    type: 'function_call',
    status: 'completed',
    call_id: 'call_2',
    name: 'spaced_out',
    arguments: '{ "not": "canonical",  "n": 1.0 }',
    caller: { type: 'direct' },
  },
  { type: 'function_call_output', status: 'completed', call_id: 'call_1', output: 'sunny, 24 °C' },
  {
    type: 'function_call_output',
    status: 'completed',
    call_id: 'call_2',
    output: [{ type: 'input_text', text: 'as parts' }],
  },
  {
    type: 'reasoning',
    status: 'completed',
    summary: [{ type: 'summary_text', text: 'thinking about $where' }],
    encrypted_content: null,
  },
  { type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'lisbon food' } },
  { type: 'mcp_call', name: 'lookup', server_label: 'docs', arguments: '{}', output: 'ok' },
] as unknown as InputItem[];

export function itemsSpec(test: OpenAiTest): void {
  describe('items', () => {
    test('every kind round-trips exactly: the create answer, retrieve and the list', async (api) => {
      const client = await api.sdk('alice');
      const { id } = await client.conversations.create();
      const added = await client.conversations.items.create(id, { items: EVERY_KIND });
      const expected = EVERY_KIND.map((item) => ({ ...item, id: expect.stringMatching(UUID) }));
      expect(added).toEqual({
        object: 'list',
        data: expected,
        first_id: added.data[0]!.id,
        last_id: added.data.at(-1)!.id,
        has_more: false,
      });
      expect(new Set(added.data.map((i) => i.id)).size).toBe(EVERY_KIND.length);
      expect(await allItems(client, id)).toEqual(added.data);
      for (const item of withIds(added.data))
        expect(await client.conversations.items.retrieve(item.id, { conversation_id: id })).toEqual(item);
      // Exactly the keys sent, plus the id: nothing is added or lost on the way.
      for (const [i, item] of added.data.entries())
        expect(Object.keys(item).sort()).toEqual([...Object.keys(EVERY_KIND[i]!), 'id'].sort());
    });

    test('short forms read back in the canonical form; an id sent with an item is replaced', async (api) => {
      const client = await api.sdk('bob');
      const { id } = await client.conversations.create();
      const { data } = await client.conversations.items.create(id, {
        items: [
          { role: 'user', content: 'plain string' },
          { role: 'assistant', content: 'answer' },
          { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'parts' }] },
          { id: 'msg_from_elsewhere', type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        ] as InputItem[],
      });
      expect(data).toEqual([
        {
          id: data[0]!.id,
          type: 'message',
          status: 'completed',
          role: 'user',
          content: [{ type: 'input_text', text: 'plain string' }],
        },
        {
          id: data[1]!.id,
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'answer', annotations: [] }],
        },
        {
          id: data[2]!.id,
          type: 'message',
          status: 'completed',
          role: 'system',
          content: [{ type: 'input_text', text: 'parts' }],
        },
        { id: data[3]!.id, type: 'function_call', status: 'completed', call_id: 'c', name: 'f', arguments: '{}' },
      ]);
      expect(data[3]!.id).toMatch(UUID);
    });

    test('a batch with one bad item stores none of them, and says which field is wrong', async (api) => {
      const client = await api.sdk('carol');
      const { id } = await client.conversations.create({ items: [{ role: 'user', content: 'first' }] });
      const good: InputItem[] = [
        { role: 'user', content: 'ok 1' },
        { role: 'assistant', content: 'ok 2' },
      ];
      const cases: [unknown, string][] = [
        [{ role: 'robot', content: 'x' }, 'items[2].role'],
        [{ role: 'user', content: [{ type: 'input_text' }] }, 'items[2].content[0].text'],
        [{ role: 'user', content: [] }, 'items[2].content'],
        [{ role: 'user', content: 'x', status: 'done' }, 'items[2].status'],
        [{ type: 'function_call', call_id: 'c', name: 'f', arguments: { a: 1 } }, 'items[2].arguments'],
        [{ type: 'function_call', call_id: '', name: 'f', arguments: '{}' }, 'items[2].call_id'],
        [{ type: 'function_call_output', call_id: 'c', output: 42 }, 'items[2].output'],
        [{ type: 'item_reference', id: 'msg_1' }, 'items[2].type'],
        [{ type: 'banana' }, 'items[2].type'],
        ['not an object', 'items[2]'],
        [{ role: 'user', content: 'nul \u0000 here' }, 'items[2].content'],
        [{ type: 'reasoning', summary: JSON.parse(`${'['.repeat(20)}${']'.repeat(20)}`) }, 'items[2]'],
      ];
      for (const [bad, param] of cases) {
        const error = await failure(client.conversations.items.create(id, { items: [...good, bad as InputItem] }));
        expectOpenAiError(error, OpenAI.BadRequestError, 400, param);
      }
      const many = Array.from({ length: 21 }, () => ({ role: 'user', content: 'x' })) as InputItem[];
      expectOpenAiError(
        await failure(client.conversations.items.create(id, { items: many })),
        OpenAI.BadRequestError,
        400,
        'items',
      );
      expectOpenAiError(
        await failure(client.conversations.items.create(id, { items: [] })),
        OpenAI.BadRequestError,
        400,
        'items',
      );
      const tooMany = await failure(client.conversations.create({ items: many }));
      expectOpenAiError(tooMany, OpenAI.BadRequestError, 400, 'items');
      // Nothing of any attempt was written: one item, one message, two events.
      expect((await allItems(client, id)).length).toBe(1);
      expect((await api.v1('carol').get(`/conversations/${id}`)).body.messageCount).toBe(1);
      const events = await api.v1('carol').get(`/conversations/${id}/events`);
      expect(events.body.events.map((e: { type: string }) => e.type)).toEqual([
        'conversation.created',
        'message.created',
      ]);
      // 20 at once is fine, in one event-logged batch with consecutive seqs.
      const twenty = Array.from({ length: 20 }, (_, i) => ({ role: 'user', content: `m${i}` })) as InputItem[];
      expect((await client.conversations.items.create(id, { items: twenty })).data).toHaveLength(20);
      const after = await api.v1('carol').get(`/conversations/${id}/events?after=2`);
      expect(after.body.events.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 3 + i));
    });

    test(
      'an item larger than MESSAGE_MAX_BYTES fails its batch, naming it',
      async (api) => {
        const client = await api.sdk('dora');
        const { id } = await client.conversations.create();
        const items = [
          { role: 'user', content: 'small' },
          { role: 'user', content: 'x'.repeat(3000) },
        ] as InputItem[];
        const error = await failure(client.conversations.items.create(id, { items }));
        expectOpenAiError(error, OpenAI.BadRequestError, 400, 'items[1]');
        expect(error.message).toContain('2048 bytes');
        // Also when the conversation is created with them: then no conversation is made either.
        const before = (await api.v1('dora').get('/conversations')).body.data.length;
        expectOpenAiError(
          await failure(client.conversations.create({ items })),
          OpenAI.BadRequestError,
          400,
          'items[1]',
        );
        expect((await api.v1('dora').get('/conversations')).body.data.length).toBe(before);
        expect(await allItems(client, id)).toEqual([]);
      },
      { env: { MESSAGE_MAX_BYTES: '2048' } },
    );

    test('retrieve and delete one item: ids of other conversations or never given out are 404 / 400', async (api) => {
      const client = await api.sdk('erin');
      const { id } = await client.conversations.create({
        items: [
          { role: 'user', content: 'keep' },
          { role: 'user', content: 'drop' },
        ],
      });
      const other = await client.conversations.create({ items: [{ role: 'user', content: 'elsewhere' }] });
      const [keep, drop] = await allItems(client, id);
      const [elsewhere] = await allItems(client, other.id);
      const ref = { conversation_id: id };
      expectOpenAiError(
        await failure(client.conversations.items.retrieve(elsewhere!.id, ref)),
        OpenAI.NotFoundError,
        404,
      );
      expectOpenAiError(
        await failure(client.conversations.items.retrieve('msg_abc', ref)),
        OpenAI.BadRequestError,
        400,
        'item_id',
      );
      expectOpenAiError(
        await failure(client.conversations.items.retrieve(`${keep!.id}_1`, ref)),
        OpenAI.NotFoundError,
        404,
      );

      const conversation = await client.conversations.items.delete(drop!.id, ref);
      expect(conversation).toEqual(await client.conversations.retrieve(id));
      expect(await allItems(client, id)).toEqual([keep]);
      expectOpenAiError(await failure(client.conversations.items.retrieve(drop!.id, ref)), OpenAI.NotFoundError, 404);
      expectOpenAiError(await failure(client.conversations.items.delete(drop!.id, ref)), OpenAI.NotFoundError, 404);
      // /v1 keeps the tombstone, as for any deleted message.
      const tomb = await api.v1('erin').get(`/conversations/${id}/messages/${drop!.id}`);
      expect(tomb.body).toMatchObject({ id: drop!.id, content: [], deletedAt: expect.any(String) });
      expect(await allItems(client, other.id)).toEqual([elsewhere]);
    });

    test('include is accepted (and ignored) on create, retrieve and list; an unknown value is a 400', async (api) => {
      const client = await api.sdk('fay');
      const { id } = await client.conversations.create();
      const include: OpenAI.Responses.ResponseIncludable[] = [
        'message.output_text.logprobs',
        'reasoning.encrypted_content',
      ];
      const created = await client.conversations.items.create(id, {
        items: [{ role: 'user', content: 'hi' }],
        include,
      });
      const data = withIds(created.data);
      expect(await client.conversations.items.retrieve(data[0]!.id, { conversation_id: id, include })).toEqual(data[0]);
      expect((await client.conversations.items.list(id, { include })).data).toEqual(data);
      const bogus = await failure(client.conversations.items.list(id, { include: ['everything' as never] }));
      expect(bogus).toBeInstanceOf(OpenAI.BadRequestError);
      expect(bogus.param).toMatch(/^include/);
    });

    test('item status follows the message status: posted statuses read back, a streamed message is in_progress', async (api) => {
      const client = await api.sdk('sam');
      const { id } = await client.conversations.create();
      const sent = [
        {
          type: 'message',
          role: 'assistant',
          status: 'in_progress',
          content: [{ type: 'output_text', text: 'par', annotations: [] }],
        },
        {
          type: 'message',
          role: 'assistant',
          status: 'incomplete',
          content: [{ type: 'output_text', text: 'cut', annotations: [] }],
        },
        { type: 'function_call', status: 'incomplete', call_id: 'c9', name: 'f', arguments: '{"a":' },
        { type: 'function_call_output', status: 'completed', call_id: 'c9', output: 'ok' },
      ] as unknown as InputItem[];
      const added = await client.conversations.items.create(id, { items: sent });
      expect(added.data).toEqual(sent.map((item) => ({ ...item, id: expect.stringMatching(UUID) })));
      expect(await allItems(client, id)).toEqual(added.data);
      // The same messages through /v1 carry the status.
      const v1 = api.v1('sam');
      const page = (await v1.get(`/conversations/${id}/messages?direction=newer`)).body;
      expect(page.data.map((m: { status: string }) => m.status)).toEqual([
        'in_progress',
        'incomplete',
        'incomplete',
        'completed',
      ]);
      // A message streamed through /v1 reads in_progress until it is finished, then completed.
      const streamed = (
        await v1.post(`/conversations/${id}/messages`, {
          role: 'assistant',
          status: 'in_progress',
          content: [{ type: 'text', text: '' }],
        })
      ).body;
      await v1.post(`/conversations/${id}/messages/${streamed.id}/append`, { offset: 0, text: 'Hi' });
      const during = await client.conversations.items.retrieve(streamed.id, { conversation_id: id });
      expect(during).toMatchObject({ type: 'message', status: 'in_progress' });
      await v1.post(`/conversations/${id}/messages/${streamed.id}/finish`, { status: 'completed' });
      const after = await client.conversations.items.retrieve(streamed.id, { conversation_id: id });
      expect(after).toEqual({
        id: streamed.id,
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hi', annotations: [] }],
      });
    });
  });
}

import type OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { allItems, type OpenAiTest } from '../support.js';
import { EVERY_KIND } from './items.js';

/** The one data set seen through both APIs: what each writes, the other reads sensibly. */
export function surfacesSpec(test: OpenAiTest): void {
  describe('the same data through /v1 and /openai/v1', () => {
    test('items read on /v1 as messages: text as text, calls as tool_call / tool_result, the rest kept', async (api) => {
      const client = await api.sdk('alice');
      const { id } = await client.conversations.create();
      const { data } = await client.conversations.items.create(id, { items: EVERY_KIND });
      const page = await api.v1('alice').get(`/conversations/${id}/messages?direction=newer&limit=50`);
      const messages = page.body.data as { id: string; role: string; authorId: string; content: unknown[] }[];
      expect(messages.map((m) => m.id)).toEqual(data.map((i) => i.id));
      for (const m of messages) expect(m.authorId).toBe('alice');
      expect(messages.map((m) => m.role)).toEqual([
        'user',
        'assistant',
        'system',
        'system',
        'tool',
        'assistant',
        'assistant',
        'user',
        'assistant',
        'assistant',
        'tool',
        'tool',
        'assistant',
        'assistant',
        'assistant',
      ]);
      expect(messages[0]!.content).toEqual([
        { type: 'text', text: 'Look at this 👀' },
        {
          type: 'opaque',
          openai: { part: { type: 'input_image', detail: 'high', image_url: 'https://example.com/cat.png' } },
        },
        {
          type: 'opaque',
          openai: { part: { type: 'input_file', filename: 'notes.txt', file_data: 'data:text/plain;base64,aGk=' } },
        },
        {
          type: 'text',
          text: 'cached',
          openai: { part: { type: 'input_text', prompt_cache_breakpoint: { mode: 'explicit' } } },
        },
      ]);
      expect(messages[1]!.content).toEqual([
        {
          type: 'text',
          text: 'Here.',
          openai: {
            part: {
              type: 'output_text',
              annotations: [
                { type: 'url_citation', url: 'https://x.test/$a.b', title: 'X', start_index: 0, end_index: 5 },
              ],
              logprobs: [{ token: 'Here', bytes: [72, 101], logprob: -0.25, top_logprobs: [] }],
            },
            item: { phase: 'final_answer' },
          },
        },
        { type: 'text', text: 'Not that, though.', openai: { part: { type: 'refusal' } } },
      ]);
      // The defaults need no extras: a system message's input_text is a plain text part.
      expect(messages[2]!.content).toEqual([{ type: 'text', text: 'system says' }]);
      expect(messages[3]!.content).toEqual([
        { type: 'text', text: 'developer says', openai: { item: { role: 'developer' } } },
      ]);
      expect(messages[8]!.content).toEqual([
        {
          type: 'tool_call',
          callId: 'call_1',
          name: 'get_weather',
          arguments: { city: 'Lisbon', days: [1, 2] },
          openai: { item: { namespace: 'tools' } },
        },
      ]);
      // Not how JSON.stringify writes it, so kept as the text it was, to read back the same.
      expect(messages[9]!.content).toMatchObject([
        { type: 'tool_call', arguments: '{ "not": "canonical",  "n": 1.0 }' },
      ]);
      expect(messages[10]!.content).toEqual([{ type: 'tool_result', callId: 'call_1', output: 'sunny, 24 °C' }]);
      expect(messages[12]!.content).toEqual([
        {
          type: 'opaque',
          openai: {
            item: {
              type: 'reasoning',
              status: 'completed',
              summary: [{ type: 'summary_text', text: 'thinking about $where' }],
              encrypted_content: null,
            },
          },
        },
      ]);
      // One message.created per item, consecutive seqs, each carrying the message as /v1 shows it.
      const events = await api.v1('alice').get(`/conversations/${id}/events`);
      const created = events.body.events.filter((e: { type: string }) => e.type === 'message.created');
      expect(created.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 2 + i));
      expect(created.map((e: { data: { message: unknown } }) => e.data.message)).toEqual(messages);
    });

    test('messages posted through /v1 appear as items', async (api) => {
      const { body: conversation } = await api.v1('bob').post('/conversations', { title: 'from v1' });
      const id = conversation.id as string;
      const post = async (role: string, content: unknown[]) => {
        const res = await api.v1('bob').post(`/conversations/${id}/messages`, { role, content });
        expect(res.status).toBe(201);
        return res.body.id as string;
      };
      const ids = [
        await post('user', [
          { type: 'text', text: 'hello' },
          { type: 'file', url: 'https://example.com/p.png', mimeType: 'image/png' },
          { type: 'file', fileId: 'file-9', mimeType: 'application/pdf', name: 'spec.pdf' },
        ]),
        await post('system', [{ type: 'text', text: 'be kind' }]),
        await post('assistant', [{ type: 'tool_call', callId: 'k', name: 'lookup', arguments: { id: 7, deep: [{}] } }]),
        await post('tool', [{ type: 'tool_result', callId: 'k', output: { found: true } }]),
        await post('tool', [{ type: 'tool_result', callId: 'k2', output: 'plain' }]),
        await post('tool', [{ type: 'text', text: 'a tool speaking' }]),
      ];
      const client = await api.sdk('bob');
      const retrieved = await client.conversations.retrieve(id);
      expect(retrieved).toEqual({
        id,
        object: 'conversation',
        created_at: Math.floor(Date.parse(conversation.createdAt) / 1000),
        metadata: {},
      });
      expect(await allItems(client, id)).toEqual([
        {
          id: ids[0],
          type: 'message',
          status: 'completed',
          role: 'user',
          content: [
            { type: 'input_text', text: 'hello' },
            { type: 'input_image', detail: 'auto', image_url: 'https://example.com/p.png' },
            { type: 'input_file', file_id: 'file-9', filename: 'spec.pdf' },
          ],
        },
        {
          id: ids[1],
          type: 'message',
          status: 'completed',
          role: 'system',
          content: [{ type: 'input_text', text: 'be kind' }],
        },
        {
          id: ids[2],
          type: 'function_call',
          status: 'completed',
          call_id: 'k',
          name: 'lookup',
          arguments: '{"id":7,"deep":[{}]}',
        },
        { id: ids[3], type: 'function_call_output', status: 'completed', call_id: 'k', output: '{"found":true}' },
        { id: ids[4], type: 'function_call_output', status: 'completed', call_id: 'k2', output: 'plain' },
        {
          id: ids[5],
          type: 'message',
          status: 'completed',
          role: 'tool',
          content: [{ type: 'input_text', text: 'a tool speaking' }],
        },
      ]);
    });

    test('an edit through /v1 shows in the item; extras sent back keep the OpenAI form', async (api) => {
      const client = await api.sdk('carol');
      const { id } = await client.conversations.create({
        items: [
          {
            type: 'message',
            role: 'assistant',
            status: 'completed',
            id: 'ignored',
            content: [{ type: 'refusal', refusal: 'I cannot.' }],
          },
        ],
      });
      const [item] = await allItems(client, id);
      const url = `/conversations/${id}/messages/${item!.id}`;
      const ref = { conversation_id: id };
      const before = (await api.v1('carol').get(url)).body;
      const kept = before.content[0];
      expect(kept).toEqual({ type: 'text', text: 'I cannot.', openai: { part: { type: 'refusal' } } });
      await api.v1('carol').patch(url, { content: [{ ...kept, text: 'I cannot, sorry.' }] });
      expect(
        ((await client.conversations.items.retrieve(item!.id, ref)) as OpenAI.Conversations.Message).content,
      ).toEqual([{ type: 'refusal', refusal: 'I cannot, sorry.' }]);
      // Without the extras it is a plain assistant text: output_text.
      await api.v1('carol').patch(url, { content: [{ type: 'text', text: 'Plain now.' }] });
      expect(
        ((await client.conversations.items.retrieve(item!.id, ref)) as OpenAI.Conversations.Message).content,
      ).toEqual([{ type: 'output_text', text: 'Plain now.', annotations: [] }]);
      // Extras /v1 checks like any JSON: the wrong shape is a 400 naming the field, and nothing changes.
      const bad = await api.v1('carol').patch(url, { content: [{ type: 'text', text: 'x', openai: { other: {} } }] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields[0].field).toBe('content[0].openai.other');
      const opaque = await api.v1('carol').patch(url, { content: [{ type: 'opaque', openai: { part: {} } }] });
      expect(opaque.status).toBe(400);
      expect(opaque.body.error.details.fields[0].field).toBe('content[0].openai');
      expect((await api.v1('carol').get(url)).body.content).toEqual([{ type: 'text', text: 'Plain now.' }]);
    });
  });
}

import OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { allItems, expectOpenAiError, failure, type OpenAiTest } from '../support.js';

const GHOST = '01900000-0000-7000-8000-000000000000';

export function conversationsSpec(test: OpenAiTest): void {
  describe('conversations', () => {
    test('create with metadata and items, then retrieve: the SDK’s Conversation shape', async (api) => {
      const client = await api.sdk('alice');
      const before = Math.floor(Date.now() / 1000);
      const created = await client.conversations.create({
        metadata: { topic: 'travel', 'app.version': '1.2' },
        items: [
          { type: 'message', role: 'developer', content: 'Answer in Portuguese.' },
          { role: 'user', content: 'Where should I eat in Lisbon?' },
        ],
      });
      expect(Object.keys(created).sort()).toEqual(['created_at', 'id', 'metadata', 'object']);
      expect(created).toMatchObject({ object: 'conversation', metadata: { topic: 'travel', 'app.version': '1.2' } });
      expect(Number.isInteger(created.created_at)).toBe(true);
      expect(created.created_at).toBeGreaterThanOrEqual(before);
      expect(created.created_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect(await client.conversations.retrieve(created.id)).toEqual(created);
      const items = await allItems(client, created.id);
      expect(items.map((i) => i.type === 'message' && [i.role, i.content])).toEqual([
        ['developer', [{ type: 'input_text', text: 'Answer in Portuguese.' }]],
        ['user', [{ type: 'input_text', text: 'Where should I eat in Lisbon?' }]],
      ]);
      // The same conversation on /v1: the caller owns it, no title, the metadata as given.
      const v1 = await api.v1('alice').get(`/conversations/${created.id}`);
      expect(v1.body).toMatchObject({ id: created.id, title: null, createdBy: 'alice', messageCount: 2 });
      expect(created.created_at).toBe(Math.floor(Date.parse(v1.body.createdAt) / 1000));
    });

    test('create with no body, or null items and metadata: an empty conversation', async (api) => {
      const client = await api.sdk('bob');
      const bare = await client.conversations.create();
      expect(bare.metadata).toEqual({});
      const nulls = await client.conversations.create({ items: null, metadata: null });
      expect(nulls.metadata).toEqual({});
      expect(await allItems(client, nulls.id)).toEqual([]);
      const page = await client.conversations.items.list(bare.id);
      expect(page.data).toEqual([]);
      expect(page.has_more).toBe(false);
    });

    test('update replaces the metadata (null clears it); the change is on /v1 and in the event log', async (api) => {
      const client = await api.sdk('carol');
      const { id } = await client.conversations.create({ metadata: { a: '1', b: '2' } });
      const updated = await client.conversations.update(id, { metadata: { c: '3' } });
      expect(updated).toMatchObject({ id, object: 'conversation', metadata: { c: '3' } });
      expect((await client.conversations.retrieve(id)).metadata).toEqual({ c: '3' });
      expect((await client.conversations.update(id, { metadata: null })).metadata).toEqual({});
      const v1 = await api.v1('carol').get(`/conversations/${id}`);
      expect(v1.body).toMatchObject({ metadata: {}, version: 3 });
      const events = await api.v1('carol').get(`/conversations/${id}/events`);
      expect(events.body.events.map((e: { type: string }) => e.type)).toEqual([
        'conversation.created',
        'conversation.updated',
        'conversation.updated',
      ]);
    });

    test('delete answers the SDK’s deleted resource; the conversation and its items are gone', async (api) => {
      const client = await api.sdk('dave');
      const { id } = await client.conversations.create({ items: [{ role: 'user', content: 'bye' }] });
      expect(await client.conversations.delete(id)).toEqual({ id, object: 'conversation.deleted', deleted: true });
      expectOpenAiError(await failure(client.conversations.retrieve(id)), OpenAI.NotFoundError, 404);
      expectOpenAiError(await failure(client.conversations.items.list(id)), OpenAI.NotFoundError, 404);
      expectOpenAiError(await failure(client.conversations.delete(id)), OpenAI.NotFoundError, 404);
      expect((await api.v1('dave').get(`/conversations/${id}`)).status).toBe(404);
    });

    test('outsiders get 404 for every operation; members read and update but only the owner deletes', async (api) => {
      const owner = await api.sdk('olga');
      const { id } = await owner.conversations.create({ items: [{ role: 'user', content: 'mine' }] });
      const [item] = await allItems(owner, id);
      const stranger = await api.sdk('sam');
      const ref = { conversation_id: id };
      for (const call of [
        () => stranger.conversations.retrieve(id),
        () => stranger.conversations.update(id, { metadata: { x: 'y' } }),
        () => stranger.conversations.delete(id),
        () => stranger.conversations.items.list(id),
        () => stranger.conversations.items.create(id, { items: [{ role: 'user', content: 'in' }] }),
        () => stranger.conversations.items.retrieve(item!.id, ref),
        () => stranger.conversations.items.delete(item!.id, ref),
      ])
        expectOpenAiError(await failure(call()), OpenAI.NotFoundError, 404);
      // Nothing changed for the owner.
      expect((await owner.conversations.retrieve(id)).metadata).toEqual({});
      expect(await allItems(owner, id)).toEqual([item]);

      // A member, added through /v1.
      await api.v1('mia').get('/users/me');
      expect((await api.v1('olga').post(`/conversations/${id}/participants`, { userId: 'mia' })).status).toBe(201);
      const member = await api.sdk('mia');
      expect((await member.conversations.retrieve(id)).id).toBe(id);
      expect((await member.conversations.update(id, { metadata: { by: 'mia' } })).metadata).toEqual({ by: 'mia' });
      expect(await allItems(member, id)).toEqual([item]);
      expectOpenAiError(await failure(member.conversations.delete(id)), OpenAI.PermissionDeniedError, 403);
      expectOpenAiError(
        await failure(member.conversations.items.delete(item!.id, ref)),
        OpenAI.PermissionDeniedError,
        403,
      );
      expect(await allItems(owner, id)).toEqual([item]);
    });

    test('bad metadata and ids are 400s naming the field, and change nothing', async (api) => {
      const client = await api.sdk('erin');
      const { id } = await client.conversations.create({ metadata: { keep: 'me' } });
      const badKey = await failure(client.conversations.update(id, { metadata: { 'has space': 'x' } }));
      expectOpenAiError(badKey, OpenAI.BadRequestError, 400, 'metadata.has space');
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
      expectOpenAiError(
        await failure(client.conversations.create({ metadata: tooMany })),
        OpenAI.BadRequestError,
        400,
        'metadata',
      );
      const long = await failure(client.conversations.update(id, { metadata: { k: 'x'.repeat(513) } }));
      expectOpenAiError(long, OpenAI.BadRequestError, 400, 'metadata.k');
      expect((await client.conversations.retrieve(id)).metadata).toEqual({ keep: 'me' });
      const notAnId = await failure(client.conversations.retrieve('conv_123'));
      expectOpenAiError(notAnId, OpenAI.BadRequestError, 400, 'conversation_id');
      expectOpenAiError(await failure(client.conversations.retrieve(GHOST)), OpenAI.NotFoundError, 404);
    });
  });
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFoundHandler } from '../errors.js';
import { actorId } from '../plugins/auth.js';
import { OpenAiConversations } from './conversations.js';
import { openAiErrorBody, parseErrorBody } from './errors.js';
import { conversationObject } from './mapping.js';
import {
  ConversationCreateBody,
  ConversationDeleted,
  ConversationObject,
  ConversationParams,
  ConversationUpdateBody,
  IncludeQuery,
  ItemList,
  ItemListQuery,
  ItemObject,
  ItemParams,
  ItemsCreateBody,
  openAiErrors,
} from './schemas.js';

const tags = ['openai'];
const SAME_RULES =
  'The same data and rules as /v1: the API key is a polystore JWT, and a conversation the caller does not take part in answers 404.';

/**
 * OpenAI's Conversations API at /openai/v1, so that the unmodified `openai` SDK works with
 * `baseURL: '<server>/openai/v1'` and a polystore JWT as `apiKey`. Authentication, provisioning
 * and rate limits are those of /v1; errors are in OpenAI's shape (errors.ts); the mapping between
 * items and messages is mapping.ts (its table is in README.md, "OpenAI-compatible API").
 * @see https://platform.openai.com/docs/api-reference/conversations
 */
export const openAiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const api = new OpenAiConversations(app.services, app.config.settings.PAGE_MAX_BYTES);
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', app.provisionCaller);
  // Every error body leaving this prefix, whoever wrote it, in OpenAI's shape.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400) return payload;
    const body = parseErrorBody(payload);
    if (!body) return payload;
    // A conflict here is not a lock that clears by itself: the SDK would retry a 409 otherwise.
    if (reply.statusCode === 409) reply.header('x-should-retry', 'false');
    return JSON.stringify(openAiErrorBody(reply.statusCode, body));
  });
  app.setNotFoundHandler(notFoundHandler);
  // Items are open-ended JSON; the response schemas document, JSON.stringify writes (as messages do).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.post(
    '/conversations',
    {
      schema: {
        tags,
        summary: 'Create a conversation (OpenAI)',
        description: `With up to 20 first items and metadata. The caller owns it. ${SAME_RULES}`,
        body: ConversationCreateBody,
        response: { 200: ConversationObject, ...openAiErrors(400, 401, 413, 415) },
      },
    },
    async (request) => conversationObject(await api.create(actorId(request), request.body)),
  );

  app.get(
    '/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Get a conversation (OpenAI)',
        description: SAME_RULES,
        params: ConversationParams,
        response: { 200: ConversationObject, ...openAiErrors(400, 401, 404) },
      },
    },
    async (request) => conversationObject(await api.get(actorId(request), request.params.conversation_id)),
  );

  app.post(
    '/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Update a conversation (OpenAI)',
        description: `Replaces its metadata (null clears it); any participant may. ${SAME_RULES}`,
        params: ConversationParams,
        body: ConversationUpdateBody,
        response: { 200: ConversationObject, ...openAiErrors(400, 401, 404, 413, 415) },
      },
    },
    async (request) =>
      conversationObject(await api.update(actorId(request), request.params.conversation_id, request.body.metadata)),
  );

  app.delete(
    '/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Delete a conversation (OpenAI)',
        description: `Owner only (403 for other participants). Unlike OpenAI's, its items go with it. ${SAME_RULES}`,
        params: ConversationParams,
        response: { 200: ConversationDeleted, ...openAiErrors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const id = request.params.conversation_id;
      await api.delete(actorId(request), id);
      return { id, object: 'conversation.deleted' as const, deleted: true as const };
    },
  );

  app.post(
    '/conversations/:conversation_id/items',
    {
      schema: {
        tags,
        summary: 'Create items (OpenAI)',
        description: `1–20 items, all of them or none. \`include\` is accepted and ignored. ${SAME_RULES}`,
        params: ConversationParams,
        querystring: IncludeQuery,
        body: ItemsCreateBody,
        response: { 200: ItemList, ...openAiErrors(400, 401, 404, 413, 415) },
      },
    },
    async (request) => api.addItems(actorId(request), request.params.conversation_id, request.body.items),
  );

  app.get(
    '/conversations/:conversation_id/items',
    {
      schema: {
        tags,
        summary: 'List items (OpenAI)',
        description: `Newest first (\`order=desc\`, the default) or oldest first (\`asc\`); \`after\` an item id; \`limit\` 1–100, default 20. A page also ends before PAGE_MAX_BYTES (then \`has_more\` is true). \`include\` is accepted and ignored. ${SAME_RULES}`,
        params: ConversationParams,
        querystring: ItemListQuery,
        response: { 200: ItemList, ...openAiErrors(400, 401, 404) },
      },
    },
    async (request) => {
      const { after, limit, order } = request.query;
      return api.listItems(actorId(request), request.params.conversation_id, { after, limit, order });
    },
  );

  app.get(
    '/conversations/:conversation_id/items/:item_id',
    {
      schema: {
        tags,
        summary: 'Get an item (OpenAI)',
        description: `\`include\` is accepted and ignored. ${SAME_RULES}`,
        params: ItemParams,
        querystring: IncludeQuery,
        response: { 200: ItemObject, ...openAiErrors(400, 401, 404) },
      },
    },
    async (request) => api.getItem(actorId(request), request.params.conversation_id, request.params.item_id),
  );

  app.delete(
    '/conversations/:conversation_id/items/:item_id',
    {
      schema: {
        tags,
        summary: 'Delete an item (OpenAI)',
        description: `Author only (403 for other participants); returns the conversation. The message stays as a tombstone for /v1. ${SAME_RULES}`,
        params: ItemParams,
        response: { 200: ConversationObject, ...openAiErrors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      conversationObject(
        await api.deleteItem(actorId(request), request.params.conversation_id, request.params.item_id),
      ),
  );
};

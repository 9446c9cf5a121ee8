import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { setETag } from '../etag.js';
import { actorId } from '../plugins/auth.js';
import { withPreconditions } from '../preconditions.js';
import { messageJson, pageText } from '../representation.js';
import { ConversationParams } from '../schemas/conversations.js';
import { errors, IfMatchHeaders, Page, PAGINATION_DOC } from '../schemas/common.js';
import {
  AppendBody,
  AppendResultSchema,
  FinishBody,
  MessageCreateBody,
  MessageListQuery,
  MessageParams,
  MessageSchema,
  MessageUpdateBody,
} from '../schemas/messages.js';

const tags = ['messages'];
const VISIBILITY = 'In a conversation the caller does not take part in, everything answers 404.';

export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const messages = app.services.messages;
  const streams = app.services.streams;
  // The response schemas stay to document these routes, but they serialize with native
  // JSON.stringify: a message's content is a union of part schemas, and fast-json-stringify tests
  // every part against each branch (~270 µs per 50-message page, bench/README.md). messageJson
  // already emits exactly the documented fields, so there is nothing for a schema to strip.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.post(
    '/conversations/:id/messages',
    {
      schema: {
        tags,
        summary: 'Post a message',
        description: `201 for a new message. With a \`clientMessageId\` already used in this conversation, 200 with the original message and nothing changes (safe retries). \`status: "in_progress"\` starts a streamed message: append to it, then finish it (README, "Streamed messages"). ${VISIBILITY}`,
        params: ConversationParams,
        body: MessageCreateBody,
        response: { 200: MessageSchema, 201: MessageSchema, ...errors(400, 401, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const { message, created } = await messages.post(actorId(request), request.params.id, request.body);
      setETag(reply, message.version);
      if (created) reply.header('location', `/v1/conversations/${message.conversationId}/messages/${message.id}`);
      return reply.code(created ? 201 : 200).send(messageJson(message));
    },
  );

  app.get(
    '/conversations/:id/messages',
    {
      schema: {
        tags,
        summary: 'Read messages',
        description:
          `\`direction=older\` (default) pages from the newest message back in time; \`direction=newer\` from the oldest forward. ${PAGINATION_DOC} ` +
          'For example: the first page with `direction=older` holds the latest messages; `nextCursor` with `direction=older` gives the page before it, ' +
          'and `prevCursor` with `direction=newer` fetches what arrived after it. Deleted messages appear as tombstones (empty content, `deletedAt` set). ' +
          VISIBILITY,
        params: ConversationParams,
        querystring: MessageListQuery,
        response: {
          200: Page(MessageSchema, 'Start from the first item in the opposite direction; null on an empty page.'),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const page = await messages.list(actorId(request), request.params.id, request.query);
      // The service serialized each message once to fit the page into its byte budget; the text
      // is the documented page (pageText), which the typed reply only knows as an object.
      return reply.type('application/json; charset=utf-8').send(pageText(page, messageJson) as never);
    },
  );

  app.get(
    '/conversations/:id/messages/:messageId',
    {
      schema: {
        tags,
        summary: 'A message',
        description: VISIBILITY,
        params: MessageParams,
        response: { 200: MessageSchema, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const message = await messages.get(actorId(request), request.params.id, request.params.messageId);
      setETag(reply, message.version);
      return messageJson(message);
    },
  );

  app.patch(
    '/conversations/:id/messages/:messageId',
    {
      schema: {
        tags,
        summary: 'Edit a message',
        description: `Author only (403 for other participants); a deleted message cannot be edited (404). Guard with \`If-Match\` (412) and/or \`version\` (409). ${VISIBILITY}`,
        params: MessageParams,
        headers: IfMatchHeaders,
        body: MessageUpdateBody,
        response: { 200: MessageSchema, ...errors(400, 401, 403, 404, 409, 412, 413, 415) },
      },
    },
    async (request, reply) => {
      const { version, ...input } = request.body;
      const { id, messageId } = request.params;
      const message = await withPreconditions(version, request.headers['if-match'], (guard) =>
        messages.update(actorId(request), id, messageId, input, guard),
      );
      setETag(reply, message.version);
      return messageJson(message);
    },
  );

  app.delete(
    '/conversations/:id/messages/:messageId',
    {
      schema: {
        tags,
        summary: 'Delete a message',
        description: `Author only (403 for other participants). Soft delete: content and metadata are erased and a tombstone keeps its place. Accepts \`If-Match\` (412). ${VISIBILITY}`,
        params: MessageParams,
        headers: IfMatchHeaders,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...errors(400, 401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      const { id, messageId } = request.params;
      await withPreconditions(undefined, request.headers['if-match'], (guard) =>
        messages.delete(actorId(request), id, messageId, guard),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/conversations/:id/messages/:messageId/append',
    {
      schema: {
        tags,
        summary: 'Append text to a streamed message',
        description:
          'Author only (403 for other participants), on an `in_progress` message (else 409 `message_not_in_progress`). ' +
          'Adds `text` at `offset` (code points) to the message’s streamed text — its last part when that is a text part, else a new text part at the end. ' +
          'Idempotent by offset: text already there is accepted again and not repeated (`appended: 0`); an offset beyond the end is 409 `offset_gap` and one that overlaps with other text 409 `offset_conflict`, both with `details.expectedOffset`. ' +
          'Live subscribers of the conversation’s events get a `message.delta` at once; the database gets the text at a bounded rate (STREAM_FLUSH_INTERVAL_MS, STREAM_FLUSH_BYTES). ' +
          `503 \`stream_capacity\` when the instance holds STREAM_MAX_ACTIVE streams. ${VISIBILITY}`,
        params: MessageParams,
        body: AppendBody,
        response: { 200: AppendResultSchema, ...errors(400, 401, 403, 404, 409, 415, 503) },
      },
    },
    async (request) => {
      const { id, messageId } = request.params;
      return streams.append(actorId(request), id, messageId, request.body);
    },
  );

  app.post(
    '/conversations/:id/messages/:messageId/finish',
    {
      schema: {
        tags,
        summary: 'Finish a streamed message',
        description:
          'Author only (403 for other participants). Ends an `in_progress` message as `completed` or `incomplete` (with an optional `statusReason`), with what was streamed, or with `content` (the whole final content, replacing it). ' +
          'Bumps the version and appends a `message.updated` event with the final message. A repeat of the same finish returns the message again; any other on an ended message is 409 `message_not_in_progress`. ' +
          VISIBILITY,
        params: MessageParams,
        body: FinishBody,
        response: { 200: MessageSchema, ...errors(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { id, messageId } = request.params;
      const message = await streams.finish(actorId(request), id, messageId, request.body);
      setETag(reply, message.version);
      return messageJson(message);
    },
  );
};

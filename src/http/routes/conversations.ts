import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { setETag } from '../etag.js';
import { actorId } from '../plugins/auth.js';
import { withPreconditions } from '../preconditions.js';
import { conversationJson, pageText, participantJson } from '../representation.js';
import { errors, IfMatchHeaders, ListQuery, Page, PAGINATION_DOC } from '../schemas/common.js';
import {
  ConversationCreateBody,
  ConversationParams,
  ConversationSchema,
  ConversationUpdateBody,
  ParticipantAddBody,
  ParticipantParams,
  ParticipantSchema,
} from '../schemas/conversations.js';
import { Type } from 'typebox';

const tags = ['conversations'];
const VISIBILITY = 'A conversation the caller does not take part in answers 404, as if it did not exist.';

export const conversationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { conversations, participants } = app.services;

  app.post(
    '/conversations',
    {
      schema: {
        tags,
        summary: 'Start a conversation',
        description:
          'The caller becomes the owner; `participantIds` join as members (unknown ids: 400 naming `participantIds[i]`).',
        body: ConversationCreateBody,
        response: { 201: ConversationSchema, ...errors(400, 401, 413, 415) },
      },
    },
    async (request, reply) => {
      const conversation = await conversations.create(actorId(request), request.body);
      setETag(reply, conversation.version);
      reply.header('location', `/v1/conversations/${conversation.id}`);
      return reply.code(201).send(conversationJson(conversation));
    },
  );

  app.get(
    '/conversations',
    {
      schema: {
        tags,
        summary: "The caller's conversations",
        description: `Most recent activity (last message, else creation) first. ${PAGINATION_DOC} This listing runs in one direction only, so \`prevCursor\` is always null.`,
        querystring: ListQuery,
        response: {
          200: Page(ConversationSchema, 'Always null: conversations are listed in one direction only.'),
          ...errors(400, 401),
        },
      },
    },
    async (request, reply) => {
      const page = await conversations.list(actorId(request), request.query);
      // The service serialized the conversations once to fit the page into its byte budget;
      // conversationJson emits exactly the documented fields, so the text is the documented page.
      return reply.type('application/json; charset=utf-8').send(pageText(page, conversationJson) as never);
    },
  );

  app.get(
    '/conversations/:id',
    {
      schema: {
        tags,
        summary: 'A conversation',
        description: VISIBILITY,
        params: ConversationParams,
        response: { 200: ConversationSchema, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const conversation = await conversations.get(actorId(request), request.params.id);
      setETag(reply, conversation.version);
      return conversationJson(conversation);
    },
  );

  app.patch(
    '/conversations/:id',
    {
      schema: {
        tags,
        summary: 'Change title or metadata',
        description: `Any participant may. Guard with \`If-Match: "<version>"\` (412 when stale) and/or \`version\` in the body (409 version_conflict when stale). ${VISIBILITY}`,
        params: ConversationParams,
        headers: IfMatchHeaders,
        body: ConversationUpdateBody,
        response: { 200: ConversationSchema, ...errors(400, 401, 404, 409, 412, 413, 415) },
      },
    },
    async (request, reply) => {
      const { version, ...input } = request.body;
      const conversation = await withPreconditions(version, request.headers['if-match'], (guard) =>
        conversations.update(actorId(request), request.params.id, input, guard),
      );
      setETag(reply, conversation.version);
      return conversationJson(conversation);
    },
  );

  app.delete(
    '/conversations/:id',
    {
      schema: {
        tags,
        summary: 'Delete a conversation',
        description: `Owner only (403 for other participants); removes its messages and participants. ${VISIBILITY}`,
        params: ConversationParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await conversations.delete(actorId(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/conversations/:id/participants',
    {
      schema: {
        tags,
        summary: 'Who takes part',
        description: `By join time, then user id. ${VISIBILITY}`,
        params: ConversationParams,
        response: {
          200: Type.Object({ data: Type.Array(ParticipantSchema) }, { additionalProperties: false }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => ({ data: (await participants.list(actorId(request), request.params.id)).map(participantJson) }),
  );

  app.post(
    '/conversations/:id/participants',
    {
      schema: {
        tags,
        summary: 'Add a participant',
        description: `Owner only (403 for other participants). The user must exist (400 otherwise); one already taking part: 409. ${VISIBILITY}`,
        params: ConversationParams,
        body: ParticipantAddBody,
        response: { 201: ParticipantSchema, ...errors(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const participant = await participants.add(actorId(request), request.params.id, request.body);
      return reply.code(201).send(participantJson(participant));
    },
  );

  app.delete(
    '/conversations/:id/participants/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a participant, or leave',
        description: `Anyone may remove themselves; only the owner removes others (403); the owner cannot leave (409: delete the conversation instead). ${VISIBILITY}`,
        params: ParticipantParams,
        response: { 204: Type.Null({ description: 'Removed.' }), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await participants.remove(actorId(request), request.params.id, request.params.userId);
      return reply.code(204).send(null);
    },
  );
};

import Fastify, { type FastifyInstance } from 'fastify';
import { uuidv7 } from '../../src/domain/ids.js';
import type { Conversation, Message } from '../../src/domain/models.js';
import { conversationJson, messageJson } from '../../src/http/representation.js';
import { conversationsOfUser, CREATOR_ID, hotMessage, plan, regularMessage, type DatasetParams } from '../dataset.js';
import { CREATE_BODY, PAGE, POST_BODY } from '../workload.js';
import { conversationPage, messagePage } from './bodies.js';

/** Newest-first rows of the hot conversation below index `end` (exclusive), one extra for hasMore. */
function hotRows(p: DatasetParams, end: number): Message[] {
  const rows: Message[] = [];
  for (let h = end - 1; h >= Math.max(0, end - PAGE - 1); h--) rows.push(hotMessage(p, h));
  return rows;
}

/**
 * L0, the HTTP ceiling: bare Fastify answering every route with a body computed once at startup,
 * of the same shape and size as the real answer. Request bodies are still parsed (Fastify does
 * that before the handler), so only the database and polystore's own layers are missing.
 */
export async function buildL0(p: DatasetParams, deep: number): Promise<FastifyInstance> {
  const now = new Date();
  const conversation: Conversation = {
    id: uuidv7(now.getTime()),
    ...CREATE_BODY,
    createdBy: CREATOR_ID,
    createdAt: now,
    updatedAt: now,
    lastMessageAt: null,
    messageCount: 0,
    version: 1,
  };
  const first = plan(p, deep).getTargets[0]!;
  const posted: Message = {
    id: uuidv7(now.getTime()),
    conversationId: first.conversationId,
    authorId: first.userId,
    ...POST_BODY,
    clientMessageId: null,
    createdAt: now,
    editedAt: null,
    deletedAt: null,
    version: 1,
    status: 'completed',
    statusReason: null,
  };
  const gotten = regularMessage(p, 0);
  const bodies = {
    create: JSON.stringify(conversationJson(conversation)),
    post: JSON.stringify(messageJson(posted)),
    newest: JSON.stringify(messagePage(hotRows(p, p.hot), PAGE)),
    deep: JSON.stringify(messagePage(hotRows(p, p.hot - deep), PAGE)),
    conversations: JSON.stringify(conversationPage(conversationsOfUser(p, 0).slice(0, PAGE + 1), PAGE)),
    message: JSON.stringify(messageJson(gotten)),
  };

  const app = Fastify({ logger: false });
  const send = (status: number, body: string) => (_: unknown, reply: import('fastify').FastifyReply) =>
    reply.code(status).type('application/json').send(body);
  app.post('/v1/conversations', send(201, bodies.create));
  app.post('/v1/conversations/:id/messages', send(201, bodies.post));
  app.get('/v1/conversations', send(200, bodies.conversations));
  app.get<{ Querystring: { cursor?: string } }>('/v1/conversations/:id/messages', (request, reply) =>
    reply.type('application/json').send(request.query.cursor ? bodies.deep : bodies.newest),
  );
  app.get('/v1/conversations/:id/messages/:messageId', send(200, bodies.message));
  return app;
}

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DatabaseType } from '../../src/config/schema.js';
import { decodeCursor } from '../../src/domain/cursor.js';
import { uuidv7 } from '../../src/domain/ids.js';
import type { AuditEntry, Conversation, Message } from '../../src/domain/models.js';
import { conversationJson, messageJson } from '../../src/http/representation.js';
import { fillDataset } from '../fill.js';
import type { DatasetParams } from '../dataset.js';
import { L1_INSERT_PREFIX, type CREATE_BODY, type PostBody } from '../workload.js';
import { conversationPage, messagePage } from './bodies.js';
import type { L1Db } from './l1/types.js';

/** Opens the raw driver of a backend; each driver lives in its own small module. */
export async function openL1Db(type: DatabaseType, url: string, poolSize: number): Promise<L1Db> {
  switch (type) {
    case 'memory':
      return (await import('./l1/memory.js')).openMemory();
    case 'sqlite':
      return (await import('./l1/sqlite.js')).openSqlite(url);
    case 'postgres':
      return (await import('./l1/postgres.js')).openPostgres(url, poolSize);
    case 'mysql':
    case 'mariadb':
      return (await import('./l1/mysql.js')).openMysql(type, url, poolSize);
    case 'mongodb':
      return (await import('./l1/mongodb.js')).openMongo(url, poolSize);
    default: {
      const unknown: never = type;
      throw new Error(`no L1 driver for ${String(unknown)}`);
    }
  }
}

const userOf = (request: FastifyRequest) => request.headers['x-user-id'] as string;
const notFound = (reply: FastifyReply) =>
  reply.code(404).send({ error: { code: 'not_found', message: 'not found', details: null } });

type Params = { id: string; messageId: string };
type Query = { cursor?: string; limit?: string };

/**
 * L1, the database ceiling: bare Fastify (no schemas, no services, no ORM) doing what polystore
 * does per request through the raw driver, in the fastest correct form we can write (see
 * l1/types.ts), with the same JSON out. The caller is taken from X-User-Id, as polystore's
 * AUTH_MODE=dev does. The same server answers L1-insert under L1_INSERT_PREFIX.
 */
export async function buildL1(
  type: DatabaseType,
  url: string,
  poolSize: number,
  params: DatasetParams,
  report: (line: string) => void,
): Promise<FastifyInstance> {
  const db = await openL1Db(type, url, poolSize);
  // Memory keeps nothing between processes: this server loads its own copy of the dataset.
  if (type === 'memory')
    await fillDataset(params, (kind, records) => db.insert(kind, records), 'L1 memory', { batch: 50_000, report });

  const app = Fastify({ logger: false });
  app.addHook('onClose', () => db.close());

  app.post<{ Body: typeof CREATE_BODY }>('/v1/conversations', async (request, reply) => {
    const userId = userOf(request);
    const now = new Date();
    const conversation: Conversation = {
      id: uuidv7(now.getTime()),
      title: request.body.title ?? null,
      metadata: request.body.metadata ?? {},
      createdBy: userId,
      createdAt: now,
      updatedAt: now,
      lastMessageAt: null,
      messageCount: 0,
      version: 1,
    };
    const audit: AuditEntry = {
      id: uuidv7(now.getTime()),
      actorId: userId,
      action: 'create',
      entity: 'conversation',
      entityId: conversation.id,
      at: now,
      diff: {
        title: conversation.title,
        metadata: conversation.metadata,
        createdAt: now.toISOString(),
        participants: [{ userId, role: 'owner' }],
      },
    };
    await db.createConversation(
      conversation,
      { conversationId: conversation.id, userId, role: 'owner', joinedAt: now },
      audit,
    );
    return reply.code(201).send(conversationJson(conversation));
  });

  const messageFrom = (request: FastifyRequest<{ Params: Params; Body: PostBody }>): Message => {
    const now = new Date();
    return {
      id: uuidv7(now.getTime()),
      conversationId: request.params.id,
      authorId: userOf(request),
      role: request.body.role,
      content: request.body.content,
      metadata: request.body.metadata ?? {},
      clientMessageId: request.body.clientMessageId ?? null,
      createdAt: now,
      editedAt: null,
      deletedAt: null,
      version: 1,
      status: 'completed',
      statusReason: null,
    };
  };

  app.post<{ Params: Params; Body: PostBody }>('/v1/conversations/:id/messages', async (request, reply) => {
    const posted = await db.postMessage(messageFrom(request));
    if (!posted) return notFound(reply);
    return reply.code(posted.created ? 201 : 200).send(messageJson(posted.message));
  });

  // L1-insert: the floor a post cannot beat, one bare INSERT (no membership, no idempotency, no
  // counters, no event), what a store without those guarantees does.
  app.post<{ Params: Params; Body: PostBody }>(
    `${L1_INSERT_PREFIX}/v1/conversations/:id/messages`,
    async (request, reply) => {
      const message = messageFrom(request);
      await db.insertMessage(message);
      return reply.code(201).send(messageJson(message));
    },
  );

  app.get<{ Params: Params; Querystring: Query }>('/v1/conversations/:id/messages', async (request, reply) => {
    const limit = Number(request.query.limit ?? 50);
    const before = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
    const rows = await db.listMessages(request.params.id, userOf(request), limit + 1, before);
    return rows ? messagePage(rows, limit) : notFound(reply);
  });

  app.get<{ Querystring: Query }>('/v1/conversations', async (request) => {
    const limit = Number(request.query.limit ?? 50);
    return conversationPage(await db.listConversations(userOf(request), limit + 1), limit);
  });

  app.get<{ Params: Params }>('/v1/conversations/:id/messages/:messageId', async (request, reply) => {
    const message = await db.getMessage(request.params.id, userOf(request), request.params.messageId);
    return message ? messageJson(message) : notFound(reply);
  });

  return app;
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { eventJson } from '../../domain/events.js';
import type { EventService, Feed, FeedPage } from '../../services/events.js';
import type { Live } from '../plugins/live.js';
import { actorId } from '../plugins/auth.js';
import { errors } from '../schemas/common.js';
import { ConversationParams } from '../schemas/conversations.js';
import { EVENT_DATA_DOC, EventPageSchema, EventQuery, TicketBody, TicketSchema } from '../schemas/events.js';

const tags = ['events'];
/** What EventSource waits before reconnecting (the `retry:` field). */
const RETRY_MS = 3000;
/** Events a stream reads from the log per query. */
const STREAM_BATCH = 200;
/** A dropped slow client's socket is destroyed after this long if the final event cannot be flushed. */
const DROP_GRACE_MS = 1000;

function pageItems(conversationId: string, page: FeedPage) {
  if (page.reset) {
    return [
      {
        seq: page.reset.lastSeq,
        type: 'reset' as const,
        conversationId,
        at: new Date().toISOString(),
        actorId: null,
        data: { reason: page.reset.reason, lastSeq: page.reset.lastSeq },
      },
    ];
  }
  return page.events.map(eventJson);
}

export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const events = app.services.events;
  const settings = app.config.settings;
  // Event payloads are built by src/domain/events.ts with exactly the documented fields.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.post(
    '/stream-tickets',
    {
      schema: {
        tags,
        summary: 'A ticket for one event stream',
        description: `For browsers, whose EventSource cannot send Authorization: a signed ticket for the caller and one conversation they take part in, valid for ${settings.STREAM_TICKET_TTL_S} s (STREAM_TICKET_TTL_S) and usable once, as \`?ticket=\` on \`GET /v1/conversations/:id/events\`. 404 for a conversation the caller does not take part in.`,
        body: TicketBody,
        response: { 201: TicketSchema, ...errors(400, 401, 404, 415) },
      },
    },
    async (request, reply) => {
      const me = actorId(request);
      await events.open(me, request.body.conversationId);
      const { ticket, expiresAt } = app.live.tickets.issue(me, request.body.conversationId);
      return reply.code(201).header('cache-control', 'no-store').send({ ticket, expiresAt: expiresAt.toISOString() });
    },
  );

  app.get(
    '/conversations/:id/events',
    {
      config: { streamTicket: true },
      schema: {
        tags,
        summary: 'The conversation’s events: a JSON page, or a live stream',
        description:
          'Every change inside the conversation, in order, each with the next `seq` (1, 2, 3, … no gaps). ' +
          '`after` (or the `Last-Event-ID` header) is the last seq you saw: you get every later event exactly once, in order. ' +
          'With `Accept: text/event-stream` the answer is a Server-Sent Events stream: `id:` is the seq, `event:` the type, `data:` the event as JSON; ' +
          `a comment line every ${settings.EVENTS_HEARTBEAT_MS} ms when idle; it ends after your removal or the conversation's deletion. ` +
          'Otherwise a JSON page `{events, lastSeq, hasMore, ended}`. When the events after your position are no longer kept ' +
          `(retention ${settings.EVENTS_RETENTION_S} s) or your position is beyond the log, the one event is a \`reset\`: re-read the conversation and continue after its \`lastSeq\`. ` +
          `Event types and their data: ${EVENT_DATA_DOC}. You see events from your (latest) joining on. ` +
          'Authenticate with Authorization, or `?ticket=` from POST /v1/stream-tickets. 404 for a conversation you do not take part in.',
        params: ConversationParams,
        querystring: EventQuery,
        response: { 200: EventPageSchema, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const conversationId = request.params.id;
      const header = request.headers['last-event-id'];
      const after =
        request.query.after !== undefined
          ? events.position(request.query.after, 'after')
          : events.position(typeof header === 'string' ? header.trim() : undefined, 'Last-Event-ID');
      const accept = request.headers.accept ?? '';
      if (!/\btext\/event-stream\b/i.test(accept)) {
        const page = await events.page(actorId(request), conversationId, after, request.query.limit);
        return {
          events: pageItems(conversationId, page),
          lastSeq: page.lastSeq,
          hasMore: page.hasMore,
          ended: page.ended,
        };
      }
      const feed = await events.open(actorId(request), conversationId);
      return stream(request, reply, feed, after, events, app.live, {
        heartbeatMs: settings.EVENTS_HEARTBEAT_MS,
        pollMs: settings.EVENTS_POLL_MS,
        bufferBytes: settings.EVENTS_STREAM_BUFFER_BYTES,
      });
    },
  );
};

interface StreamOptions {
  heartbeatMs: number;
  pollMs: number;
  bufferBytes: number;
}

/**
 * One Server-Sent Events stream. Wake-ups (the notifier) and a poll timer both just schedule a
 * read of the log from the last seq sent; reads never overlap, and a wake-up during a read causes
 * one more. Nothing is pushed from the write path. A client that stops reading makes the socket's
 * buffer grow: beyond `bufferBytes` it gets a final `overflow` event and is dropped (it resumes
 * with Last-Event-ID), and no further reads are made meanwhile.
 */
function stream(
  request: FastifyRequest,
  reply: FastifyReply,
  feed: Feed,
  from: number,
  events: EventService,
  live: Live,
  options: StreamOptions,
): FastifyReply {
  const res = reply.raw;
  let last = from;
  let closed = false;
  let reading = false;
  let again = false;

  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  res.write(`retry: ${RETRY_MS}\n\n`);

  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(poll);
    clearInterval(heartbeat);
    unsubscribe();
    live.streams.delete(end);
  };
  const end = () => {
    close();
    res.end();
  };
  const drop = () => {
    request.log.warn({ conversationId: feed.conversationId, lastSeq: last }, 'event stream dropped: client too slow');
    const final = `event: overflow\ndata: ${JSON.stringify({ reason: 'slow_client', lastSeq: last })}\n\n`;
    close();
    res.end(final);
    setTimeout(() => res.destroy(), DROP_GRACE_MS).unref();
  };
  const send = (text: string): boolean => {
    res.write(text);
    if (res.writableLength > options.bufferBytes) {
      drop();
      return false;
    }
    return true;
  };

  const read = async () => {
    if (closed) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        for (;;) {
          const page = await events.read(feed, last, STREAM_BATCH);
          if (closed) return;
          if (page.reset) {
            const item = pageItems(feed.conversationId, page)[0]!;
            last = page.reset.lastSeq;
            if (!send(`id: ${last}\nevent: reset\ndata: ${JSON.stringify(item)}\n\n`)) return;
          }
          for (const e of page.events) {
            last = e.seq;
            if (!send(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(eventJson(e))}\n\n`)) return;
          }
          if (page.ended) {
            end();
            return;
          }
          if (!page.hasMore) break;
        }
      } while (again && !closed);
    } catch (error) {
      request.log.warn({ err: error, conversationId: feed.conversationId }, 'event stream read failed; retrying');
    } finally {
      reading = false;
    }
  };

  const unsubscribe = live.notifier.subscribe(feed.conversationId, () => void read());
  const poll = setInterval(() => void read(), options.pollMs);
  const heartbeat = setInterval(() => {
    if (!closed) send(': heartbeat\n\n');
  }, options.heartbeatMs);
  poll.unref();
  heartbeat.unref();
  live.streams.add(end);
  res.on('close', close);
  void read();
  return reply;
}

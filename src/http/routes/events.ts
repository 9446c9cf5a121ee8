import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../../domain/errors.js';
import { eventJson } from '../../domain/events.js';
import type { EventService, Feed, FeedPage } from '../../services/events.js';
import { deltaTopic } from '../../services/streams.js';
import type { Live } from '../plugins/live.js';
import { openSse, sseFrame, type SseOptions } from '../sse.js';
import { actorId } from '../plugins/auth.js';
import { errors } from '../schemas/common.js';
import { ConversationParams } from '../schemas/conversations.js';
import { EVENT_DATA_DOC, EventPageSchema, EventQuery, TicketBody, TicketSchema } from '../schemas/events.js';

const tags = ['events'];
/** Events a stream reads from the log per query. */
const STREAM_BATCH = 200;

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
        description: `For browsers, whose EventSource cannot send Authorization: a signed ticket for the caller and one stream — \`{conversationId}\` for \`GET /v1/conversations/:id/events\` of a conversation they take part in, or \`{stream: "inbox"}\` for \`GET /v1/events\` — valid for ${settings.STREAM_TICKET_TTL_S} s (STREAM_TICKET_TTL_S) and usable once on any instance, as \`?ticket=\`. 404 for a conversation the caller does not take part in.`,
        body: TicketBody,
        response: { 201: TicketSchema, ...errors(400, 401, 404, 415) },
      },
    },
    async (request, reply) => {
      const me = actorId(request);
      const { conversationId, stream } = request.body;
      if ((conversationId === undefined) === (stream === undefined))
        throw ValidationError.field('conversationId', 'give exactly one of conversationId and stream');
      if (conversationId !== undefined) await events.open(me, conversationId);
      const { ticket, expiresAt } = app.live.tickets.issue(
        me,
        conversationId !== undefined ? { conversationId } : { inbox: true },
      );
      return reply.code(201).header('cache-control', 'no-store').send({ ticket, expiresAt: expiresAt.toISOString() });
    },
  );

  app.get(
    '/conversations/:id/events',
    {
      config: { streamTicket: 'conversation' },
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

/**
 * One conversation's Server-Sent Events stream (src/http/sse.ts): each read sends the events
 * after the last seq sent, and ends the stream after the reader's removal or the deletion.
 */
function stream(
  request: FastifyRequest,
  reply: FastifyReply,
  feed: Feed,
  from: number,
  events: EventService,
  live: Live,
  options: SseOptions,
): FastifyReply {
  let last = from;
  const sse = openSse(
    request,
    reply,
    live,
    options,
    { log: { conversationId: feed.conversationId }, resume: () => ({ lastSeq: last }) },
    async (out) => {
      for (;;) {
        const page = await events.read(feed, last, STREAM_BATCH);
        if (out.closed) return;
        if (page.reset) {
          const item = pageItems(feed.conversationId, page)[0]!;
          last = page.reset.lastSeq;
          if (!out.send(sseFrame(last, 'reset', item))) return;
        }
        for (const e of page.events) {
          last = e.seq;
          if (!out.send(sseFrame(e.seq, e.type, eventJson(e)))) return;
        }
        if (page.ended) return out.end();
        if (!page.hasMore) return;
      }
    },
  );
  sse.subscribe(feed.conversationId);
  // Deltas of streamed messages, from the moment the stream is open (README, "Streamed messages").
  sse.forward(deltaTopic(feed.conversationId), 'message.delta');
  return reply;
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { conversationJson } from '../../domain/encoding.js';
import { activityAt } from '../../domain/models.js';
import { checkLimit } from '../../domain/validation.js';
import type { Store } from '../../repositories/ports.js';
import { idOf, type InboxCursor, type InboxItem, type InboxService } from '../../services/inbox.js';
import { userTopic } from '../../services/notifier.js';
import { actorId } from '../plugins/auth.js';
import type { Live } from '../plugins/live.js';
import { errors } from '../schemas/common.js';
import { INBOX_ITEM_DOC, InboxPageSchema, InboxQuery } from '../schemas/events.js';
import { openSse, sseFrame, type SseOptions } from '../sse.js';

const tags = ['events'];
/** Items a stream reads per query. */
const STREAM_BATCH = 200;
/** Conversations whose writes wake an inbox stream at once; beyond, the poll finds their changes. */
const WATCH_MAX = 10_000;
/** An idle stream moves the client's Last-Event-ID forward (an `id:`-only frame) at most this often. */
const POSITION_EVERY_MS = 1000;

function itemJson(item: InboxItem) {
  return item.kind === 'conversation'
    ? { type: 'conversation' as const, at: item.at.toISOString(), conversation: conversationJson(item.conversation) }
    : { type: 'removed' as const, at: item.at.toISOString(), conversationId: item.conversationId, reason: item.reason };
}

/** What a stream compares to skip an item it sent already (the settle window reads items again). */
const signature = (item: InboxItem) =>
  item.kind === 'conversation'
    ? `c|${item.at.getTime()}|${item.conversation.version}|${item.conversation.messageCount}`
    : `r|${item.at.getTime()}`;

export const inboxRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const inbox = app.services.inbox;
  const settings = app.config.settings;
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.get(
    '/events',
    {
      config: { streamTicket: 'inbox' },
      schema: {
        tags,
        summary: 'Your inbox: changes of your conversation list, as a JSON page or a live stream',
        description:
          'Each item is the state of one of your conversations after it changed (new activity, title or metadata, or you joined it), ' +
          'or your removal from one (removed, or the conversation deleted). Items are states: applying one again is harmless. ' +
          '`after` (or the `Last-Event-ID` header) is the `cursor` of the previous answer (or the `id:` of the last stream frame); ' +
          'without it the feed starts now — read GET /v1/conversations after the first answer. ' +
          `A resume re-reads ${settings.EVENTS_INBOX_SETTLE_MS} ms behind its position (EVENTS_INBOX_SETTLE_MS), so a change that committed late is not missed; ` +
          'a stream skips what it already sent, a JSON page may repeat recent items. ' +
          'With `Accept: text/event-stream`: Server-Sent Events — `ready` first (`{cursor}`, new streams), then `conversation` and `removed` events, ' +
          '`id:`-only frames that move your position while idle, and a comment line when idle. ' +
          `A position older than the retention (${settings.EVENTS_RETENTION_S} s) gets \`reset: true\` (a \`reset\` event): re-read the list, then continue. ` +
          `Items: ${INBOX_ITEM_DOC}. Authenticate with Authorization, or \`?ticket=\` from POST /v1/stream-tickets with \`{"stream": "inbox"}\`.`,
        querystring: InboxQuery,
        response: { 200: InboxPageSchema, ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const me = actorId(request);
      const header = request.headers['last-event-id'];
      const given = request.query.after ?? (typeof header === 'string' ? header.trim() : undefined);
      const cursor = inbox.cursor(given, request.query.after !== undefined ? 'after' : 'Last-Event-ID');
      if (!/\btext\/event-stream\b/i.test(request.headers.accept ?? '')) {
        const page = await inbox.read(me, cursor, checkLimit(request.query.limit, 'limit'));
        return {
          items: page.items.map(itemJson),
          cursor: inbox.format(page.cursor),
          hasMore: page.hasMore,
          reset: page.reset,
        };
      }
      return stream(request, reply, me, cursor, given === undefined || given === '', inbox, app.store, app.live, {
        heartbeatMs: settings.EVENTS_HEARTBEAT_MS,
        pollMs: settings.EVENTS_POLL_MS,
        bufferBytes: settings.EVENTS_STREAM_BUFFER_BYTES,
      });
    },
  );
};

/**
 * One user's inbox stream. Every read (at the start, on a wake-up of the user's topic or of any
 * of their conversations, and every poll) reads the settle window behind the position and sends
 * what it has not sent yet; a fresh stream sends nothing from before its start.
 */
function stream(
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
  start: InboxCursor,
  fresh: boolean,
  inbox: InboxService,
  store: Store,
  live: Live,
  options: SseOptions,
): FastifyReply {
  let cursor = start;
  /** The last position given to the client as `id:`. */
  let position = fresh ? -1 : start.at;
  const floor = fresh ? start.at : Number.NEGATIVE_INFINITY;
  const sent = new Map<string, { signature: string; at: number }>();

  const sse = openSse(
    request,
    reply,
    live,
    options,
    { log: { inbox: userId }, resume: () => ({ cursor: inbox.format({ at: Math.max(position, 0), id: null }) }) },
    async (out) => {
      if (position < 0) {
        position = start.at;
        if (!out.send(sseFrame(position, 'ready', { cursor: inbox.format(start) }))) return;
      }
      for (;;) {
        const page = await inbox.read(userId, cursor, STREAM_BATCH);
        if (out.closed) return;
        cursor = page.cursor;
        if (page.reset) {
          position = cursor.at;
          sent.clear();
          if (!out.send(sseFrame(position, 'reset', { reason: 'expired', cursor: inbox.format(cursor) }))) return;
          continue;
        }
        for (const item of page.items) {
          const at = item.at.getTime();
          if (at <= floor) continue;
          const key = idOf(item);
          const sig = signature(item);
          if (sent.get(key)?.signature === sig) continue;
          sent.set(key, { signature: sig, at });
          if (item.kind === 'conversation') out.subscribe(key);
          else out.unsubscribe(key);
          position = Math.max(position, Math.min(at, Date.now()));
          if (!out.send(sseFrame(position, item.kind, itemJson(item)))) return;
        }
        if (page.hasMore) continue;
        for (const [key, entry] of sent) if (entry.at < cursor.at - inbox.settleMs) sent.delete(key);
        if (cursor.at - position >= POSITION_EVERY_MS) {
          position = cursor.at;
          out.send(`id: ${position}\n\n`);
        }
        return;
      }
    },
  );
  sse.subscribe(userTopic(userId));
  void watch(store, userId, sse.subscribe).catch((error: unknown) =>
    request.log.warn(
      { err: error, inbox: userId },
      'inbox stream: listing conversations to watch failed; polling only',
    ),
  );
  return reply;
}

/** Subscribes the stream to the user's conversations (up to WATCH_MAX), newest activity first. */
async function watch(store: Store, userId: string, subscribe: (topic: string) => void): Promise<void> {
  let after: { at: Date; id: string } | undefined;
  for (let watched = 0; watched < WATCH_MAX; ) {
    const page = await store.conversations.listForUser({ userId, limit: 500, ...(after ? { after } : {}) });
    for (const c of page.items) subscribe(c.id);
    watched += page.items.length;
    const last = page.items.at(-1);
    if (!page.hasMore || !last) return;
    after = { at: activityAt(last), id: last.id };
  }
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Live } from './plugins/live.js';

/** What EventSource waits before reconnecting (the `retry:` field). */
const RETRY_MS = 3000;
/** A dropped slow client's socket is destroyed after this long if the final event cannot be flushed. */
const DROP_GRACE_MS = 1000;

export interface SseOptions {
  heartbeatMs: number;
  pollMs: number;
  bufferBytes: number;
}

/** One Server-Sent Events frame. */
export const sseFrame = (id: string | number, event: string, data: unknown): string =>
  `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export interface SseStream {
  /** Writes a frame; false when the client was dropped for not reading (stop sending). */
  send(frame: string): boolean;
  /** Ends the stream normally. */
  end(): void;
  readonly closed: boolean;
  /** Wakes `pump` after writes that notify `topic` (a conversation id, or `user:<id>`). */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /**
   * Sends every message broadcast on `topic` (Notifier.broadcast) as an `event` frame without an
   * `id:` line, so it does not move the client's Last-Event-ID: streamed-message deltas.
   */
  forward(topic: string, event: string): void;
}

/**
 * Opens a Server-Sent Events response and runs `pump` — read what is new from the store and
 * `send` it — once at the start, on every wake-up of a subscribed topic (the notifier) and every
 * `pollMs`. Nothing is pushed from the write path: wake-ups only schedule a read; reads never
 * overlap, and a wake-up during one causes one more. A client that stops reading makes the
 * socket's buffer grow: beyond `bufferBytes` it gets a final `overflow` event (with the position
 * to reconnect from) and is dropped, and no further reads are made.
 */
export function openSse(
  request: FastifyRequest,
  reply: FastifyReply,
  live: Live,
  options: SseOptions,
  /** `log`: fields for log lines; `resume`: where the client reconnects from, for the final overflow event. */
  context: { log: object; resume: () => Record<string, unknown> },
  pump: (stream: SseStream) => Promise<void>,
): SseStream {
  const res = reply.raw;
  const subscriptions = new Map<string, () => void>();
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
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
    live.streams.delete(end);
  };
  const end = () => {
    close();
    res.end();
  };
  const drop = () => {
    const resume = context.resume();
    request.log.warn({ ...context.log, ...resume }, 'event stream dropped: client too slow');
    const final = `event: overflow\ndata: ${JSON.stringify({ reason: 'slow_client', ...resume })}\n\n`;
    close();
    res.end(final);
    setTimeout(() => res.destroy(), DROP_GRACE_MS).unref();
  };

  const stream: SseStream = {
    send(frame) {
      if (closed) return false;
      res.write(frame);
      if (res.writableLength > options.bufferBytes) {
        drop();
        return false;
      }
      return true;
    },
    end,
    get closed() {
      return closed;
    },
    subscribe(topic) {
      if (closed || subscriptions.has(topic)) return;
      subscriptions.set(
        topic,
        live.notifier.subscribe(topic, () => void read()),
      );
    },
    unsubscribe(topic) {
      subscriptions.get(topic)?.();
      subscriptions.delete(topic);
    },
    forward(topic, event) {
      const key = `forward:${topic}`;
      if (closed || subscriptions.has(key)) return;
      subscriptions.set(
        key,
        live.notifier.listen(topic, (message) => void stream.send(`event: ${event}\ndata: ${message}\n\n`)),
      );
    },
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
        await pump(stream);
      } while (again && !closed);
    } catch (error) {
      request.log.warn({ err: error, ...context.log }, 'event stream read failed; retrying');
    } finally {
      reading = false;
    }
  };

  const poll = setInterval(() => void read(), options.pollMs);
  const heartbeat = setInterval(() => stream.send(': heartbeat\n\n'), options.heartbeatMs);
  poll.unref();
  heartbeat.unref();
  live.streams.add(end);
  res.on('close', close);
  void read();
  return stream;
}

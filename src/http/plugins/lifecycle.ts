import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { answeredBeforeBody, errorBody } from '../errors.js';

/**
 * Shutdown, seen from HTTP. Once the app closes (SIGTERM/SIGINT in server.ts, or `app.close()`):
 * - every response, those of requests already in flight included, carries `Connection: close`,
 *   so no client keeps its socket and holds the shutdown;
 * - a request that still arrives (on a connection opened earlier) gets 503 `unavailable` with
 *   `Retry-After`, in the API's error shape (Fastify's own 503 is turned off, see app.ts);
 * - connections with no request in flight (idle keep-alive, or headers still arriving) are
 *   closed, at once and again whenever an in-flight request finishes, so the server closes as
 *   soon as the last in-flight response is sent.
 * A response that streams for long (an event feed) counts as in flight until it ends: such a
 * route must end its streams in a preClose hook, or shutdown waits for SHUTDOWN_TIMEOUT_MS.
 */

/** Seconds a client is told to wait before retrying elsewhere. */
export const CLOSING_RETRY_AFTER_S = 1;

export default fp(
  async (app: FastifyInstance) => {
    let closing = false;
    /** Sockets of the listening server, and those that carry a request some route is working on. */
    const sockets = new Set<Socket>();
    const busy = new Set<Socket>();

    app.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });

    /** Closes connections with no request in flight that are not already closing by themselves. */
    const sweep = () => {
      for (const socket of sockets) {
        if (busy.has(socket) || socket.writableEnded) continue;
        // A response may still be in the socket's buffer: flush it first.
        if (socket.writableLength === 0) socket.destroy();
        else socket.end(() => socket.destroy());
      }
    };

    app.addHook('onRequest', async (request, reply) => {
      const socket = request.raw.socket;
      if (socket && sockets.has(socket)) {
        busy.add(socket);
        reply.raw.once('close', () => {
          busy.delete(socket);
          if (closing) setImmediate(sweep);
        });
      }
      if (!closing) return;
      request.log.info({ code: 'unavailable', status: 503 }, 'request refused: shutting down');
      return reply
        .code(503)
        .header('retry-after', String(CLOSING_RETRY_AFTER_S))
        .send(
          errorBody({
            code: 'unavailable',
            message: 'the server is shutting down; retry later',
            details: { retryAfterSeconds: CLOSING_RETRY_AFTER_S },
          }),
        );
    });

    app.addHook('onSend', async (_request, reply, payload) => {
      if (closing) reply.header('connection', 'close');
      return payload;
    });

    app.addHook('onResponse', async (request) => {
      const raw = request.raw;
      if (raw.complete || !raw.socket) return;
      answeredBeforeBody.add(raw.socket);
      raw.once('end', () => answeredBeforeBody.delete(raw.socket));
    });

    app.addHook('preClose', async () => {
      closing = true;
      sweep();
    });
  },
  { name: 'lifecycle' },
);

import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { UnauthorizedError } from '../../domain/errors.js';
import { isUserId } from '../../domain/ids.js';
import type { Identity } from '../../services/users.js';
import { createVerifier } from '../auth/jwt.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: verifies the credentials and sets `request.identity` (401 otherwise). */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** preHandler hook: creates the user on first sight unless the route opts out. */
    provisionCaller: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    identity: Identity | null;
  }
  interface FastifyContextConfig {
    /** False on the one route where a new user registers explicitly (POST /v1/users). */
    autoProvision?: boolean;
    /**
     * Set where a stream ticket (`?ticket=`, POST /v1/stream-tickets) may stand in for
     * Authorization: the stream it must have been issued for (the route's conversation, or the inbox).
     */
    streamTicket?: 'conversation' | 'inbox';
  }
}

/** The authenticated caller's user id. */
export function actorId(request: FastifyRequest): string {
  if (!request.identity) throw new UnauthorizedError('missing credentials: send Authorization: Bearer <token>');
  return request.identity.sub;
}

export function identityOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new UnauthorizedError('missing credentials: send Authorization: Bearer <token>');
  return request.identity;
}

const BEARER = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i;

/**
 * Authentication. `AUTH_MODE=jwt`: `Authorization: Bearer <JWT>` (HS256, or signed by the identity
 * provider's keys; see auth/jwt.ts), whose user-id claim (`sub` by default) is the user id.
 * `AUTH_MODE=dev`: an `X-User-Id` header is trusted as is (a bearer token still works) — for local
 * work only; the config refuses it in production and startup logs a warning.
 *
 * Verification happens in onRequest, before the body is read, so unauthenticated requests are
 * refused cheaply; provisioning waits for preHandler, so a request that fails validation creates
 * nobody.
 */
export default fp(
  async (app) => {
    const auth = app.config.auth;
    if (auth.mode === 'dev') {
      app.log.warn(
        'AUTH_MODE=dev: any request may claim any user with an X-User-Id header. Never expose this server; use AUTH_MODE=jwt outside local work.',
      );
    }
    if (auth.usingDevSecret) {
      app.log.warn(
        'AUTH_JWT_SECRET is not set: tokens are signed and verified with the public development secret. Set AUTH_JWT_SECRET (32+ characters) for anything but local work.',
      );
    }

    const verifier = createVerifier(auth, { log: app.log });
    app.decorateRequest('identity', null);

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const ticket = (request.query as { ticket?: unknown } | undefined)?.ticket;
      const streamTicket = request.routeOptions.config.streamTicket;
      if (streamTicket !== undefined && typeof ticket === 'string') {
        const stream =
          streamTicket === 'inbox'
            ? ({ inbox: true } as const)
            : { conversationId: String((request.params as { id?: unknown } | undefined)?.id ?? '') };
        request.identity = { sub: (await app.live.tickets.redeem(ticket, stream)).sub };
        return;
      }
      if (auth.mode === 'dev') {
        const header = request.headers['x-user-id'];
        if (header !== undefined) {
          if (typeof header !== 'string' || !isUserId(header))
            throw new UnauthorizedError('X-User-Id must be a user id: 1–128 of letters, digits and ._:@|-');
          request.identity = { sub: header };
          return;
        }
      }
      const authorization = request.headers.authorization;
      if (authorization === undefined || authorization === '')
        throw new UnauthorizedError('missing credentials: send Authorization: Bearer <token>');
      const match = BEARER.exec(authorization);
      if (!match)
        throw new UnauthorizedError('the Authorization header must be "Bearer <token>"', { invalidToken: true });
      request.identity = await verifier.verify(match[1] ?? '');
    });

    app.decorate('provisionCaller', async (request: FastifyRequest) => {
      if (request.routeOptions.config.autoProvision === false) return;
      await app.services.users.ensure(identityOf(request));
    });
  },
  { name: 'auth', dependencies: ['config', 'services'] },
);

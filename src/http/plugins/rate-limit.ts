import rateLimit, { normalizeIP, type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errorBody } from '../errors.js';

/**
 * Rate limits (RATE_LIMIT_*), counted per process in memory by @fastify/rate-limit:
 * - per client address, every request (authenticated or not) as it arrives, so floods of bad
 *   credentials or unknown URLs are limited too; the probes /health and /ready are exempt;
 * - per user, every /v1 request once its credentials are verified, before the body is validated.
 * Over either limit the answer is 429 `too_many_requests` in the API's error shape, with
 * `Retry-After` and the X-RateLimit-Limit/-Remaining/-Reset headers (which every limited response
 * carries; for /v1 they describe whichever of the two limits has less left).
 * @see https://github.com/fastify/fastify-rate-limit#options
 */

const WINDOW_MS = 60_000;
const EXEMPT = new Set(['/health', '/ready']);
/** Keys each limiter remembers (least recently used ones are forgotten first). */
const CACHE_KEYS = 10_000;

type Scope = 'address' | 'user';

interface Remaining {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

const remainingOf = new WeakMap<FastifyRequest, Remaining>();

function setHeaders(reply: FastifyReply, r: Remaining): void {
  reply.header('x-ratelimit-limit', r.limit);
  reply.header('x-ratelimit-remaining', r.remaining);
  reply.header('x-ratelimit-reset', r.resetSeconds);
}

export default fp(
  async (app) => {
    const settings = app.config.settings;
    if (!settings.RATE_LIMIT_ENABLED) return;

    const options: RateLimitPluginOptions = { global: false, timeWindow: WINDOW_MS, cache: CACHE_KEYS };
    await app.register(rateLimit, options);
    const limiters = {
      address: app.createRateLimit({
        max: settings.RATE_LIMIT_ADDRESS_PER_MINUTE,
        keyGenerator: (request) => `address:${normalizeIP(request.ip)}`,
      }),
      user: app.createRateLimit({
        max: settings.RATE_LIMIT_PER_MINUTE,
        keyGenerator: (request) => `user:${request.identity?.sub ?? ''}`,
      }),
    };

    /** Counts the request; on a limit, answers 429 and returns true. */
    async function limited(scope: Scope, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
      const result = await limiters[scope](request);
      if (result.isAllowed) return false;
      const now: Remaining = { limit: result.max, remaining: result.remaining, resetSeconds: result.ttlInSeconds };
      if (!result.isExceeded) {
        const before = remainingOf.get(request);
        if (before === undefined || now.remaining <= before.remaining) {
          remainingOf.set(request, now);
          setHeaders(reply, now);
        }
        return false;
      }
      const retryAfterSeconds = Math.max(1, result.ttlInSeconds);
      setHeaders(reply, { ...now, remaining: 0 });
      reply.header('retry-after', retryAfterSeconds);
      const who = scope === 'user' ? 'this user' : 'this address';
      const message = `too many requests from ${who}: at most ${result.max} a minute; retry in ${retryAfterSeconds} s`;
      request.log.info({ code: 'too_many_requests', status: 429, scope }, 'request refused');
      await reply.code(429).send(
        errorBody({
          code: 'too_many_requests',
          message,
          details: { scope, limit: result.max, windowSeconds: WINDOW_MS / 1000, retryAfterSeconds },
        }),
      );
      return true;
    }

    app.addHook('onRequest', async (request, reply) => {
      if (EXEMPT.has(request.routeOptions.url ?? '')) return;
      if (await limited('address', request, reply)) return reply;
    });

    // After the /v1 onRequest hook has verified the credentials; before the body is validated.
    app.addHook('preValidation', async (request, reply) => {
      if (!request.identity) return;
      if (await limited('user', request, reply)) return reply;
    });
  },
  { name: 'rate-limit', dependencies: ['config', 'auth'] },
);

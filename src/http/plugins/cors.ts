import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import type { CorsConfig } from '../../config/schema.js';

/** Response headers a browser client needs to read: versions, new resources, back-off, tracing. */
export const EXPOSED_HEADERS = [
  'ETag',
  'Location',
  'Retry-After',
  'X-Request-Id',
  'WWW-Authenticate',
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

/** Request headers a browser client may send. */
export const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'If-Match',
  'If-None-Match',
  'X-Request-Id',
  'Idempotency-Key',
  'Last-Event-ID',
];

export const ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * CORS for browser clients on other origins (CORS_ORIGINS), registered app-wide: its onRequest
 * hook decorates every response, error responses included, and its `OPTIONS *` route answers the
 * preflight of every path, routes added later and other prefixes (/openai/v1) as well. Origins
 * match exactly; a listed origin gets itself back in Access-Control-Allow-Origin, with
 * `Vary: Origin`. Not registered at all when CORS_ORIGINS is unset.
 * @see https://github.com/fastify/fastify-cors
 */
export default fp<{ cors: CorsConfig; devAuth: boolean }>(
  async (app, { cors: config, devAuth }) => {
    await app.register(cors, {
      origin: config.origins === '*' ? '*' : config.origins,
      credentials: config.credentials,
      methods: ALLOWED_METHODS,
      allowedHeaders: devAuth ? [...ALLOWED_HEADERS, 'X-User-Id'] : ALLOWED_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: config.maxAgeS,
      // A preflight is answered by the OPTIONS * route with 204 and no body.
      optionsSuccessStatus: 204,
      // An OPTIONS request that is not a preflight (no Origin or Access-Control-Request-Method) gets
      // the same 204 rather than the plugin's plain-text 400, which is not the API's error shape.
      strictPreflight: false,
    });
  },
  { name: 'cors' },
);

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from './config/schema.js';
import { createClientErrorHandler, errorHandler, notFoundHandler } from './http/errors.js';
import authPlugin from './http/plugins/auth.js';
import configPlugin from './http/plugins/config.js';
import corsPlugin from './http/plugins/cors.js';
import lifecyclePlugin from './http/plugins/lifecycle.js';
import metricsPlugin, { createMetrics, instrumentStore } from './http/plugins/metrics.js';
import openApiPlugin, { openApiRoute } from './http/plugins/openapi.js';
import rateLimitPlugin from './http/plugins/rate-limit.js';
import servicesPlugin from './http/plugins/services.js';
import storePlugin from './http/plugins/store.js';
import { demoRoutes } from './http/routes/demo.js';
import { openAiRoutes } from './http/openai/routes.js';
import { healthRoutes } from './http/routes/health.js';
import { v1Routes } from './http/routes/v1.js';
import { createValidatorCompiler } from './http/validation.js';
import { createLogger, requestId } from './logger.js';
import type { Store } from './repositories/ports.js';

export interface BuildAppOptions {
  config: Config;
  /** An opened store whose schema is current (see ensureSchema). */
  store: Store;
  /** Default: a logger built from the config. */
  logger?: FastifyBaseLogger;
  /** Close the store when the app closes. Default true; the tests manage store lifetimes themselves. */
  ownsStore?: boolean;
}

/**
 * Builds the HTTP application: external plugins, then app plugins (config → store → services →
 * auth), then routes, with one error handler and one not-found handler for all of them. The
 * process concerns (config loading, listening, signals) live in server.ts.
 * @see https://github.com/fastify/demo/blob/main/src/app.ts
 */
export function buildApp({ config, store, logger, ownsStore = true }: BuildAppOptions) {
  const settings = config.settings;
  const timeouts = {
    headersTimeoutMs: settings.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: settings.HTTP_REQUEST_TIMEOUT_MS,
  };
  const app = Fastify({
    loggerInstance: logger ?? createLogger(config),
    // Connections (see SETUP.md, "Timeouts and shutdown"). Node checks the headers and request
    // timeouts every connectionsCheckingInterval (30 s by default), so it is set to a fraction of
    // the shorter one. No socket idle timeout unless HTTP_CONNECTION_TIMEOUT_MS asks for one: it
    // would cut quiet long-lived responses.
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      connectionsCheckingInterval: checkingInterval(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs),
    },
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: settings.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: settings.HTTP_CONNECTION_TIMEOUT_MS,
    // Parse errors and timeouts are answered in the API's error shape, with Connection: close.
    clientErrorHandler: createClientErrorHandler(timeouts),
    // Requests arriving while the app closes get the API's 503 (plugins/lifecycle.ts).
    return503OnClosing: false,
    genReqId: requestId,
    bodyLimit: config.bodyLimitBytes,
    // User ids may be 128 characters; Fastify's default stops matching at 100.
    routerOptions: { maxParamLength: 256 },
    // Errors the router raises before any hook runs (undecodable URL, overlong parameter): same shape.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      errorHandler(error, request, reply);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  if (settings.HTTP_MAX_CONNECTIONS > 0) app.server.maxConnections = settings.HTTP_MAX_CONNECTIONS;
  watchDroppedConnections(app, settings.HTTP_MAX_CONNECTIONS);

  // The API speaks JSON only: without the built-in text/plain parser, other bodies get 415.
  // JSON keeps Fastify's parser (prototype-poisoning checks included), except that a DELETE with
  // a stray `Content-Type: application/json` and no body is accepted, as many clients send one.
  app.removeContentTypeParser('text/plain');
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && request.method === 'DELETE') done(null, undefined);
    else json(request, body as string, done);
  });
  app.setValidatorCompiler(createValidatorCompiler());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // External plugins. CORS and metrics are app-wide: their hooks see every route and error.
  if (config.cors) app.register(corsPlugin, { cors: config.cors, devAuth: config.auth.mode === 'dev' });
  const metrics = config.metrics.enabled ? createMetrics() : undefined;
  if (metrics) app.register(metricsPlugin, { config: config.metrics, metrics });
  // After CORS, so that the 503s it sends while closing carry the CORS headers.
  app.register(lifecyclePlugin);
  app.register(openApiPlugin);

  // Application plugins.
  app.register(configPlugin, { config });
  app.register(storePlugin, { store: metrics ? instrumentStore(store, metrics) : store, ownsStore });
  app.register(servicesPlugin);
  app.register(authPlugin);
  app.register(rateLimitPlugin);

  // Routes.
  app.register(healthRoutes);
  app.register(openApiRoute);
  app.register(v1Routes, { prefix: '/v1' });
  // Off by default outside development: absent, /demo is a 404 like any unknown path.
  if (config.demoEnabled) app.register(demoRoutes);
  app.register(openAiRoutes, { prefix: '/openai/v1' });

  return app;
}

export type App = ReturnType<typeof buildApp>;

/** How often Node looks for requests past their headers or request timeout: a quarter of the shorter, 50 ms to 1 s. */
function checkingInterval(headersTimeoutMs: number, requestTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 4)));
}

/** Logs connections refused over HTTP_MAX_CONNECTIONS: the first at once, then a count at most every 10 s. */
function watchDroppedConnections(app: { server: App['server']; log: FastifyBaseLogger }, max: number): void {
  let dropped = 0;
  let lastLog = Number.NEGATIVE_INFINITY;
  app.server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    app.log.warn({ dropped, maxConnections: max }, 'HTTP_MAX_CONNECTIONS reached: closing new connections');
    dropped = 0;
  });
}

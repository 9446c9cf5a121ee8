import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from './config/schema.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import authPlugin from './http/plugins/auth.js';
import configPlugin from './http/plugins/config.js';
import corsPlugin from './http/plugins/cors.js';
import metricsPlugin, { createMetrics, instrumentStore } from './http/plugins/metrics.js';
import openApiPlugin, { openApiRoute } from './http/plugins/openapi.js';
import rateLimitPlugin from './http/plugins/rate-limit.js';
import servicesPlugin from './http/plugins/services.js';
import storePlugin from './http/plugins/store.js';
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
  const app = Fastify({
    loggerInstance: logger ?? createLogger(config),
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

  return app;
}

export type App = ReturnType<typeof buildApp>;

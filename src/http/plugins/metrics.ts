import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { MetricsConfig } from '../../config/schema.js';
import { UnauthorizedError } from '../../domain/errors.js';
import type { Store } from '../../repositories/ports.js';

/**
 * Prometheus metrics at GET /metrics: requests and their latency by route pattern and status,
 * error responses by the error code of their body, 429s (for the rate limiter), database calls
 * by repository method, and the process metrics of prom-client.
 *
 * Each app has its own registry, so several apps in one process (the tests) do not mix their
 * numbers; the process metrics live in one registry per process, since they describe the process.
 * @see https://github.com/siimon/prom-client
 */

declare module 'fastify' {
  interface FastifyRequest {
    /** The `error.code` of an error response, noted by onSend for the metrics. */
    metricsErrorCode: string | undefined;
  }
}

/** The route label of requests no route matched (so stray URLs cannot blow up the label set). */
export const UNMATCHED_ROUTE = '(unmatched)';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

let processRegistry: Registry | undefined;

/** The process metrics (CPU, memory, event loop, GC), collected once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface AppMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status_code'>;
  duration: Histogram<'method' | 'route' | 'status_code'>;
  errors: Counter<'code' | 'status_code'>;
  rateLimited: Counter<'route'>;
  database: Histogram<'repository' | 'operation' | 'outcome'>;
}

export function createMetrics(): AppMetrics {
  const registry = new Registry();
  return {
    registry,
    requests: new Counter({
      name: 'polystore_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'polystore_http_request_duration_seconds',
      help: 'Time from receiving a request to sending the last byte of its response.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'polystore_http_errors_total',
      help: 'Error responses, by the error code of their body (validation_failed, unauthorized, unavailable, ...).',
      labelNames: ['code', 'status_code'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'polystore_http_rate_limited_total',
      help: 'Requests refused with 429 Too Many Requests, by route pattern.',
      labelNames: ['route'],
      registers: [registry],
    }),
    database: new Histogram({
      name: 'polystore_db_call_duration_seconds',
      help: 'Time of each repository call, by repository, method and outcome (ok or error).',
      labelNames: ['repository', 'operation', 'outcome'],
      buckets: DB_BUCKETS,
      registers: [registry],
    }),
  };
}

const REPOSITORIES = ['users', 'conversations', 'messages', 'streams', 'audit', 'events'] as const;

/**
 * The store with every repository method (and ping) timed. Only what the HTTP layer calls goes
 * through this view; the store itself is unchanged and still closed by its owner.
 */
export function instrumentStore(store: Store, metrics: AppMetrics): Store {
  const time = <T extends object>(target: T, repository: string): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          const end = metrics.database.startTimer({ repository, operation: property });
          let result: unknown;
          try {
            result = value.apply(object, args);
          } catch (error) {
            end({ outcome: 'error' });
            throw error;
          }
          if (result instanceof Promise) {
            return result.then(
              (v) => {
                end({ outcome: 'ok' });
                return v;
              },
              (error: unknown) => {
                end({ outcome: 'error' });
                throw error;
              },
            );
          }
          end({ outcome: 'ok' });
          return result;
        };
      },
    });
  const timed: Record<string, unknown> = Object.fromEntries(
    REPOSITORIES.map((name) => [name, time(store[name], name)]),
  );
  const ping = time(store, 'store').ping;
  return new Proxy(store, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(timed, property)) return timed[property];
      if (property === 'ping') return ping;
      const value = Reflect.get(object, property);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The `error.code` of a serialized error body (`{"error":{"code":...}}`), else undefined. */
function errorCodeOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || !payload.startsWith('{"error"') || payload.length > 65_536) return undefined;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

export interface MetricsPluginOptions {
  config: MetricsConfig;
  metrics: AppMetrics;
}

/** The hooks that count every request, and the GET /metrics route (bearer-protected with METRICS_TOKEN). */
export default fp<MetricsPluginOptions>(
  async (app, { config, metrics }) => {
    app.decorateRequest('metricsErrorCode', undefined);

    app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (reply.statusCode >= 400) request.metricsErrorCode = errorCodeOf(payload);
      return payload;
    });

    app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const status = String(reply.statusCode);
      const labels = { method: request.method, route, status_code: status };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, reply.elapsedTime / 1000);
      if (reply.statusCode >= 400) {
        metrics.errors.inc({ code: request.metricsErrorCode ?? 'unknown', status_code: status });
      }
      if (reply.statusCode === 429) metrics.rateLimited.inc({ route });
    });

    const expected = config.token === undefined ? undefined : sha256(config.token);
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (expected !== undefined) {
        const header = request.headers.authorization ?? '';
        const match = /^Bearer +(\S+) *$/i.exec(header);
        if (!match) throw new UnauthorizedError('/metrics needs Authorization: Bearer <METRICS_TOKEN>');
        if (!timingSafeEqual(sha256(match[1] ?? ''), expected)) {
          throw new UnauthorizedError('the metrics token is not accepted', { invalidToken: true });
        }
      }
      const text = (await processMetrics().metrics()) + (await metrics.registry.metrics());
      return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(text);
    });
  },
  { name: 'metrics' },
);

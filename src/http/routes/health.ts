import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { LogLevel } from 'fastify';
import { Type } from 'typebox';
import { DomainError, UnavailableError } from '../../domain/errors.js';
import { errorBody } from '../errors.js';
import { ErrorResponse } from '../schemas/common.js';

const tags = ['operations'];
const Ok = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });
const Notifier = Type.Object(
  {
    type: Type.Union([Type.Literal('local'), Type.Literal('postgres'), Type.Literal('redis'), Type.Literal('nats')]),
    state: Type.Union([Type.Literal('connected'), Type.Literal('degraded')], {
      description:
        'degraded: the broker cannot be reached; streams read the log every EVENTS_DEGRADED_POLL_MS meanwhile',
    }),
    since: Type.String({ format: 'date-time', description: 'When it entered this state' }),
  },
  { additionalProperties: false, description: 'What wakes event streams (EVENTS_NOTIFY), and how it stands' },
);
const Ready = Type.Object(
  { status: Type.Literal('ready'), database: Type.String(), notifier: Notifier },
  { additionalProperties: false },
);

/**
 * The log level of the probes' routes: orchestrators call them every few seconds, so at `info`
 * their request lines are dropped (warnings, such as a failed readiness check, stay); at `debug`
 * or `trace` they are logged like any request.
 */
export function probeLogLevel(level: string): LogLevel {
  return (level === 'info' ? 'warn' : level) as LogLevel;
}

/** Probes for orchestrators. Public: no credentials. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const logLevel = probeLogLevel(app.log.level);
  app.get(
    '/health',
    {
      logLevel,
      schema: {
        tags,
        summary: 'Liveness: the process answers',
        description: 'Does not touch the database.',
        security: [],
        response: { 200: Ok },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      logLevel,
      schema: {
        tags,
        summary: 'Readiness: the database answers and its schema is current',
        description:
          '503 with the reason when the database cannot be reached or has pending or unknown migrations. ' +
          'A notifier that cannot reach its broker does not make the instance unready (events still arrive, by polling): `notifier.state` says `degraded`.',
        security: [],
        response: { 200: Ready, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const store = app.store;
      let status;
      try {
        await store.ping();
        status = await store.migrator.status();
      } catch (error) {
        request.log.warn({ err: error }, 'readiness: the database did not answer');
        const retry = error instanceof UnavailableError ? error.retryAfterSeconds : 2;
        const message = error instanceof DomainError ? error.message : 'the database did not answer';
        return reply
          .code(503)
          .header('retry-after', String(retry))
          .send(
            errorBody({
              code: 'unavailable',
              message: `database unreachable: ${message}`,
              details: { check: 'database' },
            }),
          );
      }
      if (status.pending.length > 0 || status.unknown.length > 0) {
        const parts = [];
        if (status.pending.length > 0)
          parts.push(`${status.pending.length} pending migration(s): ${status.pending.join(', ')}`);
        if (status.unknown.length > 0)
          parts.push(`${status.unknown.length} migration(s) newer than this build: ${status.unknown.join(', ')}`);
        return reply.code(503).send(
          errorBody({
            code: 'schema_mismatch',
            message: `database schema is not current: ${parts.join('; ')}`,
            details: { check: 'schema', pending: status.pending, unknown: status.unknown },
          }),
        );
      }
      const notifier = app.live.notifier.status();
      return {
        status: 'ready' as const,
        database: store.kind,
        notifier: { type: notifier.type, state: notifier.state, since: notifier.since.toISOString() },
      };
    },
  );
};

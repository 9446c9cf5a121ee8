import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config/schema.js';

/**
 * The process logger: pino JSON, one line per event, with the request id on every request's
 * lines. Authorization headers, cookies and credentials in query strings (stream tickets) are
 * redacted; database URLs are logged only through
 * redactUrl (src/config/load.ts).
 * @see https://getpino.io/#/docs/redaction
 */

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-user-id"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/** Query parameters that carry credentials (stream tickets for EventSource, which cannot send headers). */
const SECRET_QUERY = /([?&](?:ticket|token|access_token)=)[^&#]*/gi;

/** What a redacted path becomes: URLs keep their shape with credentials in the query hidden. */
function censor(value: unknown, path: string[]): unknown {
  if (path.at(-1) === 'url' && typeof value === 'string') return value.replace(SECRET_QUERY, '$1[redacted]');
  return '[redacted]';
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** Pretty output when LOG_PRETTY says so, or by default in development when pino-pretty (a dev dependency) is installed. */
export function wantsPretty(config: Pick<Config, 'logPretty' | 'env'>): boolean {
  if (config.logPretty === false) return false;
  if (config.logPretty === true) return prettyAvailable();
  return config.env === 'development' && prettyAvailable();
}

export interface LoggerTarget {
  /** File descriptor to write to: 1 (stdout, the server) or 2 (stderr, CLI commands whose stdout is their output). */
  fd?: 1 | 2;
  /** A stream instead (tests). */
  stream?: DestinationStream;
}

export function createLogger(
  config: Pick<Config, 'logLevel' | 'logPretty' | 'env'>,
  target: LoggerTarget = {},
): Logger {
  const options: LoggerOptions = {
    level: config.logLevel,
    redact: { paths: [...REDACT, 'req.url', 'url'], censor },
  };
  if (target.stream) return pino(options, target.stream);
  const fd = target.fd ?? 1;
  if (wantsPretty(config)) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  const logger = pino(options, pino.destination({ fd, sync: fd === 2 }));
  if (config.logPretty === true)
    logger.warn('LOG_PRETTY=true but pino-pretty (a dev dependency) is not installed; logging JSON');
  return logger;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours a sane incoming `x-request-id` (so ids follow a request across services), else mints one. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Every setting polystore reads, with its type, default and documentation. The loader checks the
 * merged sources (flags > environment > .env > defaults) against this table at startup; SETUP.md
 * and .env.example list the same variables.
 */

import { registeredTypes, type DatabaseConfig } from '../../database/registry.js';

export type { DatabaseConfig, DatabaseType } from '../../database/registry.js';

/** Every DATABASE_TYPE value, in the order database/registry.ts lists the backends. */
export const DATABASE_TYPES: readonly string[] = registeredTypes();

export const AUTH_MODES = ['jwt', 'dev'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const TLS_MODES = ['disable', 'require', 'verify'] as const;
/** What wakes event streams after a write: this process only, or every instance through a broker. */
export const EVENT_NOTIFIERS = ['local', 'postgres', 'redis', 'nats'] as const;
export type EventNotifierType = (typeof EVENT_NOTIFIERS)[number];
/** Signature algorithms a JWKS/OIDC key may be used with (asymmetric only: never HS*, never none). */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export const DEFAULT_JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

type Spec =
  | { kind: 'enum'; values: readonly string[]; default?: string; doc: string }
  | { kind: 'int'; min: number; max: number; default?: number; doc: string }
  | { kind: 'bool'; default?: boolean; doc: string }
  | { kind: 'string'; default?: string; secret?: boolean; doc: string };

export const SETTINGS = {
  NODE_ENV: {
    kind: 'enum',
    values: NODE_ENVS,
    default: 'development',
    doc: 'development, production or test. Production refuses AUTH_MODE=dev, and needs AUTH_JWT_SECRET or AUTH_JWKS_URL/AUTH_OIDC_ISSUER.',
  },
  HOST: { kind: 'string', default: '127.0.0.1', doc: 'Address the HTTP server binds to (0.0.0.0 in containers).' },
  PORT: { kind: 'int', min: 0, max: 65535, default: 3000, doc: 'HTTP port.' },
  LOG_LEVEL: { kind: 'enum', values: LOG_LEVELS, default: 'info', doc: 'pino log level.' },
  LOG_PRETTY: {
    kind: 'bool',
    doc: 'Human-readable logs. Default: on when NODE_ENV=development and pino-pretty is installed.',
  },
  BODY_LIMIT_BYTES: {
    kind: 'int',
    min: 1024,
    max: 64 * 1024 * 1024,
    default: 1024 * 1024,
    doc: 'Largest accepted request body; larger bodies get 413.',
  },
  SHUTDOWN_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 600_000,
    default: 10_000,
    doc: 'How long in-flight requests may take to finish after SIGTERM/SIGINT.',
  },
  HTTP_HEADERS_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 600_000,
    default: 10_000,
    doc: 'A request whose headers have not all arrived this long after it started (or after the connection opened) gets 408 and the connection is closed.',
  },
  HTTP_REQUEST_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 3_600_000,
    default: 30_000,
    doc: 'A request (headers and body) not received completely this long after it started gets 408 and the connection is closed. Sending the response is not limited. At least HTTP_HEADERS_TIMEOUT_MS.',
  },
  HTTP_KEEP_ALIVE_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 600_000,
    default: 72_000,
    doc: 'How long an idle keep-alive connection stays open for a next request. Keep it above the idle timeout of a reverse proxy or load balancer in front.',
  },
  HTTP_CONNECTION_TIMEOUT_MS: {
    kind: 'int',
    min: 0,
    max: 3_600_000,
    default: 0,
    doc: 'Close a connection on which nothing was sent or received for this long, responses included; 0 = off. Off by default: headers, bodies and idle keep-alive are bounded by the settings above, and a quiet long-lived response (an event stream) would be cut.',
  },
  HTTP_MAX_CONNECTIONS: {
    kind: 'int',
    min: 0,
    max: 1_000_000,
    default: 1024,
    doc: 'Open connections at most; a connection beyond it is closed at once, before anything is read. 0 = no cap.',
  },

  DATABASE_TYPE: {
    kind: 'enum',
    values: DATABASE_TYPES,
    default: 'sqlite',
    doc: 'Which database adapter serves the API.',
  },
  DATABASE_URL: {
    kind: 'string',
    secret: true,
    doc: 'Where the database is. sqlite: a file path (default ./data/polystore.db) or sqlite:PATH; postgres://…, mysql://…, mariadb://…, mongodb://…; unused for memory.',
  },
  MIGRATE_ON_START: {
    kind: 'bool',
    doc: 'Apply pending migrations when the server starts. Default: on for sqlite and memory, off for server databases.',
  },
  DATABASE_POOL_SIZE: {
    kind: 'int',
    min: 1,
    max: 1000,
    default: 10,
    doc: 'Connections per process (server databases).',
  },
  DATABASE_CONNECT_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 600_000,
    default: 5000,
    doc: 'Give up connecting after this long.',
  },
  DATABASE_STARTUP_RETRY_MS: {
    kind: 'int',
    min: 0,
    max: 3_600_000,
    default: 30_000,
    doc: 'At startup, keep retrying a database server that cannot be reached for up to this long after the first failure (backoff from 250 ms to 5 s), then exit 1; 0 = exit 1 after the first failure. SQLite files are not retried.',
  },
  DATABASE_STATEMENT_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 3_600_000,
    default: 15_000,
    doc: 'Cancel a single statement or query after this long.',
  },
  DATABASE_TLS: {
    kind: 'enum',
    values: TLS_MODES,
    default: 'disable',
    doc: 'TLS to the database: disable, require (encrypt, do not verify), verify (encrypt and verify the server certificate).',
  },
  DATABASE_TLS_CA_FILE: {
    kind: 'string',
    doc: 'PEM file with the CA that signed the database certificate (with DATABASE_TLS=verify).',
  },
  SQLITE_BUSY_TIMEOUT_MS: {
    kind: 'int',
    min: 0,
    max: 600_000,
    default: 5000,
    doc: 'How long SQLite waits for a lock held by another connection.',
  },
  SQLITE_SYNCHRONOUS: {
    kind: 'enum',
    values: ['FULL', 'NORMAL'],
    default: 'FULL',
    doc: 'FULL: an acknowledged write survives power loss. NORMAL (WAL): faster commits, safe against process crashes, but the last commits can be lost on power loss.',
  },

  AUTH_MODE: {
    kind: 'enum',
    values: AUTH_MODES,
    default: 'jwt',
    doc: 'jwt: Authorization: Bearer <JWT> (HS256 with AUTH_JWT_SECRET, or signed by an identity provider). dev: trusts an X-User-Id header (local work only; refused in production).',
  },
  AUTH_JWT_SECRET: {
    kind: 'string',
    secret: true,
    doc: 'HS256 secret (at least 32 characters). In production this or AUTH_JWKS_URL/AUTH_OIDC_ISSUER is required; elsewhere, with neither, a fixed development secret is used, with a warning.',
  },
  AUTH_JWT_ISSUER: { kind: 'string', doc: 'When set, tokens must carry this iss.' },
  AUTH_JWT_AUDIENCE: { kind: 'string', doc: 'When set, tokens must carry this aud.' },
  AUTH_JWKS_URL: {
    kind: 'string',
    doc: "An identity provider's JWKS endpoint: tokens signed with its public keys (selected by kid) are accepted.",
  },
  AUTH_OIDC_ISSUER: {
    kind: 'string',
    doc: 'An OpenID Connect issuer: its keys are found through <issuer>/.well-known/openid-configuration, and tokens must carry iss equal to it.',
  },
  AUTH_JWT_ALGORITHMS: {
    kind: 'string',
    doc: `Comma-separated signature algorithms accepted for JWKS/OIDC keys. Default ${DEFAULT_JWKS_ALGORITHMS.join(',')}. HS256 is verified with AUTH_JWT_SECRET instead; none is never accepted.`,
  },
  AUTH_CLOCK_TOLERANCE_S: {
    kind: 'int',
    min: 0,
    max: 300,
    default: 5,
    doc: 'Seconds of clock skew allowed when checking exp, nbf and iat.',
  },
  AUTH_MAX_TOKEN_LIFETIME_S: {
    kind: 'int',
    min: 0,
    max: 315_360_000,
    default: 2_592_000,
    doc: 'Longest accepted token lifetime: exp at most this many seconds after iat (after now when the token has no iat); 0 = no limit. Default 30 days.',
  },
  AUTH_JWKS_CACHE_MAX_AGE_S: {
    kind: 'int',
    min: 1,
    max: 86_400,
    default: 600,
    doc: 'How long fetched keys count as fresh; older ones are refetched on use, and kept while the provider cannot be reached.',
  },
  AUTH_JWKS_COOLDOWN_S: {
    kind: 'int',
    min: 0,
    max: 3600,
    default: 30,
    doc: 'At most one fetch of the key set per this many seconds, however many tokens with unknown kids arrive.',
  },
  AUTH_JWKS_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 60_000,
    default: 5000,
    doc: 'Give up a discovery or key-set fetch after this long.',
  },
  AUTH_CLAIM_USER_ID: { kind: 'string', default: 'sub', doc: 'The token claim that holds the user id.' },
  AUTH_CLAIM_HANDLE: {
    kind: 'string',
    default: 'preferred_username',
    doc: 'The claim that seeds the handle of a user provisioned on first sight.',
  },
  AUTH_CLAIM_NAME: {
    kind: 'string',
    default: 'name',
    doc: 'The claim that seeds the display name of a user provisioned on first sight.',
  },

  CORS_ORIGINS: {
    kind: 'string',
    doc: 'Comma-separated origins (scheme://host[:port]) whose pages may call the API from a browser, or * for any (only with CORS_CREDENTIALS=false). Unset: CORS is off.',
  },
  CORS_CREDENTIALS: {
    kind: 'bool',
    default: false,
    doc: 'Send Access-Control-Allow-Credentials: true (cookies and client certificates). Bearer tokens do not need it.',
  },
  CORS_MAX_AGE_S: {
    kind: 'int',
    min: 0,
    max: 86_400,
    default: 600,
    doc: 'How long browsers may cache a preflight answer.',
  },

  METRICS_ENABLED: {
    kind: 'bool',
    doc: 'Serve Prometheus metrics at GET /metrics. Default: on, except when NODE_ENV=production.',
  },
  METRICS_TOKEN: {
    kind: 'string',
    secret: true,
    doc: 'When set, /metrics requires Authorization: Bearer <this token>.',
  },

  DEMO_ENABLED: {
    kind: 'bool',
    doc: 'Serve the browser demo (two people chatting live, through the public API) at /demo. Default: on when NODE_ENV=development, off otherwise (production, test).',
  },

  // Work per request: message and page budgets, rate limits.
  MESSAGE_MAX_BYTES: {
    kind: 'int',
    min: 1024,
    max: 1024 * 1024,
    default: 256 * 1024,
    doc: 'Largest message: its content and metadata serialized as JSON; a larger one is a 400 naming content.',
  },
  PAGE_MAX_BYTES: {
    kind: 'int',
    min: 64 * 1024,
    max: 64 * 1024 * 1024,
    default: 4 * 1024 * 1024,
    doc: 'A page of a listing ends early (hasMore: true, with a cursor) once its items would serialize to more; a page always has at least one item.',
  },
  RATE_LIMIT_ENABLED: {
    kind: 'bool',
    default: true,
    doc: 'Rate limits per user and per client address; over either, 429 with Retry-After.',
  },
  RATE_LIMIT_PER_MINUTE: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 600,
    doc: 'Requests per minute of one authenticated user (counted after authentication, on /v1).',
  },
  RATE_LIMIT_ADDRESS_PER_MINUTE: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 1200,
    doc: 'Requests per minute from one client address, authenticated or not (/health and /ready are exempt).',
  },

  // Live conversations: the event log, its feeds and stream tickets.
  EVENTS_RETENTION_S: {
    kind: 'int',
    min: 60,
    max: 366 * 86_400,
    default: 7 * 86_400,
    doc: 'How long conversation events are kept; a resume from before that gets a reset event. Pruned every few minutes.',
  },
  EVENTS_NOTIFY: {
    kind: 'enum',
    values: EVENT_NOTIFIERS,
    default: 'local',
    doc: 'What wakes event streams after a write: local (this process only), postgres (LISTEN/NOTIFY on the database; DATABASE_TYPE=postgres only), redis (pub/sub at EVENTS_REDIS_URL) or nats (core pub/sub at EVENTS_NATS_URL). The log stays the truth: a notifier only wakes readers.',
  },
  EVENTS_REDIS_URL: {
    kind: 'string',
    secret: true,
    doc: 'The Redis server for EVENTS_NOTIFY=redis: redis://[user:password@]host[:port][/db] or rediss:// (TLS). Required then.',
  },
  EVENTS_NATS_URL: {
    kind: 'string',
    secret: true,
    doc: 'The NATS server(s) for EVENTS_NOTIFY=nats: nats://[user:password@]host[:port], comma-separated for a cluster (tls:// for TLS). Required then.',
  },
  EVENTS_NOTIFY_CHANNEL: {
    kind: 'string',
    default: 'polystore_events',
    doc: 'The PostgreSQL channel, Redis channel or NATS subject the instances of one deployment share (letters, digits, _ and -, dot-separated words, at most 63 characters). Deployments sharing a broker or database use different ones.',
  },
  EVENTS_POLL_MS: {
    kind: 'int',
    min: 100,
    max: 60_000,
    default: 2000,
    doc: 'Every open stream also reads the log this often, so a missed wake-up (or a write by another process) only delays an event.',
  },
  EVENTS_DEGRADED_POLL_MS: {
    kind: 'int',
    min: 100,
    max: 60_000,
    default: 1000,
    doc: 'While a postgres, redis or nats notifier cannot reach its broker, every open stream of the instance reads the log this often (instead of waiting for EVENTS_POLL_MS).',
  },
  EVENTS_HEARTBEAT_MS: {
    kind: 'int',
    min: 1000,
    max: 300_000,
    default: 15_000,
    doc: 'Interval of the comment line an idle event stream sends, so proxies and clients keep it open.',
  },
  EVENTS_STREAM_BUFFER_BYTES: {
    kind: 'int',
    min: 16 * 1024,
    max: 64 * 1024 * 1024,
    default: 1024 * 1024,
    doc: 'A stream whose unsent output exceeds this (a client that does not read) gets a final overflow event and is dropped; it resumes with Last-Event-ID.',
  },
  EVENTS_INBOX_SETTLE_MS: {
    kind: 'int',
    min: 1000,
    max: 600_000,
    default: 30_000,
    doc: 'The inbox feed (GET /v1/events) reads this far behind its position, so a change that commits late (or comes from a gateway whose clock is behind) is still delivered.',
  },
  STREAM_TICKET_TTL_S: {
    kind: 'int',
    min: 5,
    max: 600,
    default: 60,
    doc: 'How long a stream ticket (POST /v1/stream-tickets) may be used, once.',
  },
  STREAM_TICKET_SECRET: {
    kind: 'string',
    secret: true,
    doc: 'HMAC key that signs stream tickets (32+ characters). Default: a random key per process, so tickets work only on the instance that issued them.',
  },

  // Streamed messages (POST …/messages/:messageId/append).
  STREAM_FLUSH_INTERVAL_MS: {
    kind: 'int',
    min: 10,
    max: 10_000,
    default: 250,
    doc: 'A streamed message’s text is written to the database at most this often while appends arrive (and always when it finishes); deltas reach live subscribers at once regardless.',
  },
  STREAM_FLUSH_BYTES: {
    kind: 'int',
    min: 256,
    max: 1024 * 1024,
    default: 4096,
    doc: 'A streamed message is written at once when this many bytes (UTF-8) of appended text are not yet in the database, without waiting for STREAM_FLUSH_INTERVAL_MS.',
  },
  STREAM_IDLE_TIMEOUT_MS: {
    kind: 'int',
    min: 100,
    max: 86_400_000,
    default: 60_000,
    doc: 'An in_progress message that took no append for this long becomes incomplete (reason interrupted), with its message.updated event.',
  },
  STREAM_SWEEP_INTERVAL_MS: {
    kind: 'int',
    min: 50,
    max: 3_600_000,
    default: 5000,
    doc: 'How often each instance looks for in_progress messages idle longer than STREAM_IDLE_TIMEOUT_MS (at most 100 per look).',
  },
  STREAM_MAX_ACTIVE: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 1000,
    doc: 'Streamed messages one instance holds in memory at once (appended to recently); an append that would start one more gets 503 stream_capacity.',
  },
} as const satisfies Record<string, Spec>;

export type SettingName = keyof typeof SETTINGS;

/** The value type a setting's spec describes. */
type ValueOf<S> = S extends { kind: 'enum'; values: readonly (infer V)[] }
  ? V
  : S extends { kind: 'int' }
    ? number
    : S extends { kind: 'bool' }
      ? boolean
      : string;

/**
 * Every setting's checked value, typed from SETTINGS itself: a setting with a default always has
 * a value, one without may be undefined.
 */
export type SettingValues = {
  [K in SettingName]: (typeof SETTINGS)[K] extends { default: unknown }
    ? ValueOf<(typeof SETTINGS)[K]>
    : ValueOf<(typeof SETTINGS)[K]> | undefined;
};

export interface AuthConfig {
  mode: SettingValues['AUTH_MODE'];
  /**
   * The HS256 secret: AUTH_JWT_SECRET, or the development secret when neither it nor a JWKS/OIDC
   * source is configured (outside production). Undefined: HS256 tokens are refused.
   */
  jwtSecret: string | undefined;
  /** True when no AUTH_JWT_SECRET was given and the development secret is in use. */
  usingDevSecret: boolean;
  /** AUTH_JWT_ISSUER: the iss HS256 tokens (and JWKS tokens without AUTH_OIDC_ISSUER) must carry. */
  issuer: string | undefined;
  audience: string | undefined;
  /** Public keys from an identity provider; undefined when neither AUTH_JWKS_URL nor AUTH_OIDC_ISSUER is set. */
  remote: RemoteKeysConfig | undefined;
  clockToleranceS: number;
  /** AUTH_MAX_TOKEN_LIFETIME_S; 0 = no limit. */
  maxTokenLifetimeS: number;
  /** Which claims carry the user id, the handle seed and the display-name seed. */
  claims: ClaimNames;
}

export interface ClaimNames {
  userId: string;
  handle: string;
  name: string;
}

export interface RemoteKeysConfig {
  /** AUTH_JWKS_URL; when undefined, the jwks_uri of the OIDC discovery document. */
  jwksUrl: string | undefined;
  /** AUTH_OIDC_ISSUER: where discovery starts. */
  oidcIssuer: string | undefined;
  /** The iss tokens signed with these keys must carry (AUTH_OIDC_ISSUER, else AUTH_JWT_ISSUER). */
  issuer: string | undefined;
  algorithms: JwksAlgorithm[];
  cacheMaxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
}

export interface CorsConfig {
  /** Exact origins, or '*' for any (never with credentials). */
  origins: string[] | '*';
  credentials: boolean;
  maxAgeS: number;
}

export interface MetricsConfig {
  enabled: boolean;
  token: string | undefined;
}

/**
 * What wakes event streams (EVENTS_NOTIFY), with only what the chosen notifier needs. Every kind
 * but `local` reaches other instances through `channel`, and while it cannot, wakes the streams of
 * its own instance every `degradedPollMs`.
 */
export type NotifierConfig =
  | { type: 'local' }
  | {
      type: 'postgres';
      /** The database's own connection settings (DATABASE_URL, DATABASE_TLS, ...). */
      url: string;
      connectTimeoutMs: number;
      tls: SettingValues['DATABASE_TLS'];
      tlsCaFile: string | undefined;
      channel: string;
      degradedPollMs: number;
    }
  | { type: 'redis'; url: string; channel: string; degradedPollMs: number }
  | { type: 'nats'; servers: string[]; channel: string; degradedPollMs: number };

export interface Config {
  env: SettingValues['NODE_ENV'];
  host: string;
  port: number;
  logLevel: SettingValues['LOG_LEVEL'];
  logPretty: boolean | undefined;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  migrateOnStart: boolean;
  database: DatabaseConfig;
  auth: AuthConfig;
  /** Undefined when CORS_ORIGINS is unset: no CORS headers, no preflight route. */
  cors: CorsConfig | undefined;
  metrics: MetricsConfig;
  /** DEMO_ENABLED: serve the browser demo at /demo. */
  demoEnabled: boolean;
  notifier: NotifierConfig;
  /** Every setting as checked, for code that builds another database config (the transfer commands). */
  settings: SettingValues;
}

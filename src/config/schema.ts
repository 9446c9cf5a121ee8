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
    doc: 'development, production or test. Production refuses AUTH_MODE=dev and a missing AUTH_JWT_SECRET.',
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

  AUTH_MODE: {
    kind: 'enum',
    values: AUTH_MODES,
    default: 'jwt',
    doc: 'jwt: Authorization: Bearer <HS256 JWT>. dev: trusts an X-User-Id header (local work only; refused in production).',
  },
  AUTH_JWT_SECRET: {
    kind: 'string',
    secret: true,
    doc: 'HS256 secret (at least 32 characters). Required in production; elsewhere a fixed development secret is used, with a warning.',
  },
  AUTH_JWT_ISSUER: { kind: 'string', doc: 'When set, tokens must carry this iss.' },
  AUTH_JWT_AUDIENCE: { kind: 'string', doc: 'When set, tokens must carry this aud.' },

  // Work per request (issue 10): message and page budgets, rate limits.
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
  jwtSecret: string;
  /** True when no AUTH_JWT_SECRET was given and the development secret is in use. */
  usingDevSecret: boolean;
  issuer: string | undefined;
  audience: string | undefined;
}

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
  /** Every setting as checked, for code that builds another database config (the transfer commands). */
  settings: SettingValues;
}

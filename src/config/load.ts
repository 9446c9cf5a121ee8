import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { backendFor, type DatabaseConfig } from '../../database/registry.js';
import { DEV_JWT_SECRET } from './defaults.js';
import {
  DEFAULT_JWKS_ALGORITHMS,
  JWKS_ALGORITHMS,
  SETTINGS,
  type Config,
  type CorsConfig,
  type JwksAlgorithm,
  type NotifierConfig,
  type RemoteKeysConfig,
  type SettingName,
  type SettingValues,
} from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** Values from command-line flags, by variable name. Highest precedence. */
  flags?: Partial<Record<string, string>>;
  env?: NodeJS.ProcessEnv;
  /** Path of the dotenv file; `false` to skip it. Default `.env` in the working directory. */
  dotenvPath?: string | false;
}

type Raw = Partial<Record<SettingName, string>>;

function merge(sources: ConfigSources): Raw {
  const env = sources.env ?? process.env;
  const dotenvPath = sources.dotenvPath ?? '.env';
  const fromFile = dotenvPath !== false && existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  const raw: Raw = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = sources.flags?.[name] ?? env[name] ?? fromFile[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  return raw;
}

type Spec = (typeof SETTINGS)[SettingName];

/** One setting's text as its spec's type; undefined (with a problem noted) when it is not accepted. */
function parseValue(
  name: SettingName,
  spec: Spec,
  text: string,
  problems: string[],
): string | number | boolean | undefined {
  switch (spec.kind) {
    case 'enum':
      if ((spec.values as readonly string[]).includes(text)) return text;
      problems.push(`${name}=${JSON.stringify(text)} is not accepted; use one of: ${spec.values.join(', ')}`);
      return undefined;
    case 'int': {
      const n = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
      if (Number.isInteger(n) && n >= spec.min && n <= spec.max) return n;
      problems.push(
        `${name}=${JSON.stringify(text)} is not accepted; use a whole number from ${spec.min} to ${spec.max}`,
      );
      return undefined;
    }
    case 'bool': {
      const t = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      problems.push(`${name}=${JSON.stringify(text)} is not accepted; use true or false`);
      return undefined;
    }
    case 'string':
      return text;
  }
}

/**
 * Every setting checked against SETTINGS, with defaults filled in. The values are built from the
 * specs themselves, so each one has the type SettingValues gives it; a rejected value is reported
 * in `problems` (and the whole load then fails).
 */
function parseSettings(raw: Raw, problems: string[]): SettingValues {
  const values: Partial<Record<SettingName, unknown>> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, Spec][]) {
    const text = raw[name];
    values[name] =
      text === undefined ? ('default' in spec ? spec.default : undefined) : parseValue(name, spec, text, problems);
  }
  return values as SettingValues;
}

/**
 * The database config of DATABASE_TYPE from DATABASE_URL, checked against the backend's location
 * rule; undefined (with a problem noted) when it cannot be built.
 */
function databaseConfig(settings: SettingValues, problems: string[]): DatabaseConfig | undefined {
  const backend = backendFor(settings.DATABASE_TYPE);
  if (!backend) return undefined; // DATABASE_TYPE itself was refused already.
  const url = settings.DATABASE_URL;
  const rule = backend.location;
  let location: string;
  switch (rule.kind) {
    case 'none':
      location = '';
      break;
    case 'file':
      location = url === undefined ? rule.default : stripScheme(url, rule.schemes);
      break;
    case 'url': {
      const accepted = [...rule.schemes, ...(rule.alsoAccepts ?? [])];
      if (url === undefined) {
        problems.push(`DATABASE_URL is required when DATABASE_TYPE=${backend.type}`);
        return undefined;
      }
      const scheme = URL.canParse(url) ? new URL(url).protocol.slice(0, -1) : '';
      if (!accepted.includes(scheme)) {
        const shown = accepted.map((s) => `${s}://`).join(' or ');
        problems.push(`DATABASE_URL must be a URL starting with ${shown} when DATABASE_TYPE=${backend.type}`);
        return undefined;
      }
      location = url;
    }
  }
  const problem = backend.checkLocation?.(location, settings);
  if (problem !== undefined) {
    problems.push(`DATABASE_URL ${problem}`);
    return undefined;
  }
  // The registry pairs each descriptor's type with its own options type; TypeScript cannot follow
  // that pairing through a lookup by name.
  return { type: backend.type, ...backend.options(location, settings) } as DatabaseConfig;
}

/** `sqlite:PATH`, `sqlite://PATH` (or another of the rule's schemes) → PATH; a bare path as it is. */
export function stripScheme(location: string, schemes: readonly string[]): string {
  const lower = location.toLowerCase();
  for (const scheme of schemes) {
    if (lower.startsWith(`${scheme}:`)) return location.slice(scheme.length + 1).replace(/^\/\//, '');
  }
  return location;
}

/**
 * Reads and checks the configuration. Throws ConfigError listing every bad or missing value,
 * each naming the variable and what it accepts.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const raw = merge(sources);
  const problems: string[] = [];
  const known = new Set(Object.keys(SETTINGS));
  for (const name of Object.keys(sources.flags ?? {})) {
    if (!known.has(name)) problems.push(`unknown option --${name.toLowerCase().replaceAll('_', '-')}`);
  }
  const values = parseSettings(raw, problems);
  const database = databaseConfig(values, problems);

  const secret = values.AUTH_JWT_SECRET;
  const remote = remoteKeysConfig(values, problems);
  if (values.NODE_ENV === 'production') {
    if (values.AUTH_MODE === 'dev')
      problems.push('AUTH_MODE=dev is refused when NODE_ENV=production; use AUTH_MODE=jwt');
    if (secret === undefined && remote === undefined)
      problems.push(
        'AUTH_JWT_SECRET is required when NODE_ENV=production, unless AUTH_JWKS_URL or AUTH_OIDC_ISSUER names an identity provider',
      );
    if (remote !== undefined && values.AUTH_JWT_AUDIENCE === undefined)
      problems.push(
        'AUTH_JWT_AUDIENCE is required when NODE_ENV=production and an identity provider is configured (otherwise tokens the provider issued for other applications are accepted)',
      );
  }
  if (secret !== undefined && secret.length < 32) problems.push('AUTH_JWT_SECRET must be at least 32 characters');
  for (const name of ['AUTH_CLAIM_USER_ID', 'AUTH_CLAIM_HANDLE', 'AUTH_CLAIM_NAME'] as const) {
    if (!CLAIM_NAME.test(values[name])) problems.push(`${name}=${JSON.stringify(values[name])} is not a claim name`);
  }
  if (values.HTTP_HEADERS_TIMEOUT_MS > values.HTTP_REQUEST_TIMEOUT_MS)
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS=${values.HTTP_HEADERS_TIMEOUT_MS} is longer than HTTP_REQUEST_TIMEOUT_MS=${values.HTTP_REQUEST_TIMEOUT_MS}; the request timeout covers the headers too`,
    );
  const cors = corsConfig(values, problems);
  const notifier = notifierConfig(values, problems);
  const caFile = values.DATABASE_TLS_CA_FILE;
  if (values.DATABASE_TLS === 'verify' && caFile !== undefined && !existsSync(caFile)) {
    problems.push(`DATABASE_TLS_CA_FILE=${JSON.stringify(caFile)} does not exist`);
  }
  if (problems.length > 0 || database === undefined || notifier === undefined) throw new ConfigError(problems);

  return {
    env: values.NODE_ENV,
    host: values.HOST,
    port: values.PORT,
    logLevel: values.LOG_LEVEL,
    logPretty: values.LOG_PRETTY,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    migrateOnStart: values.MIGRATE_ON_START ?? backendFor(database.type)?.migrateOnStartByDefault ?? false,
    database,
    auth: {
      mode: values.AUTH_MODE,
      // The development secret only stands in when no other way to verify tokens is configured.
      jwtSecret: secret ?? (remote === undefined ? DEV_JWT_SECRET : undefined),
      usingDevSecret: secret === undefined && remote === undefined,
      issuer: values.AUTH_JWT_ISSUER,
      audience: values.AUTH_JWT_AUDIENCE,
      remote,
      clockToleranceS: values.AUTH_CLOCK_TOLERANCE_S,
      maxTokenLifetimeS: values.AUTH_MAX_TOKEN_LIFETIME_S,
      claims: { userId: values.AUTH_CLAIM_USER_ID, handle: values.AUTH_CLAIM_HANDLE, name: values.AUTH_CLAIM_NAME },
    },
    cors,
    metrics: { enabled: values.METRICS_ENABLED ?? values.NODE_ENV !== 'production', token: values.METRICS_TOKEN },
    demoEnabled: values.DEMO_ENABLED ?? values.NODE_ENV === 'development',
    notifier,
    settings: values,
  };
}

const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;

/** A comma-separated setting as its non-empty, trimmed items. */
function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** True for http(s) URLs on a loopback host, which need no TLS. */
function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** An absolute http(s) URL (https in production unless on loopback), or a problem naming the variable. */
function checkProviderUrl(name: string, text: string, production: boolean, problems: string[]): boolean {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    problems.push(`${name}=${JSON.stringify(text)} is not an http(s) URL`);
    return false;
  }
  if (production && url.protocol === 'http:' && !isLoopback(url)) {
    problems.push(`${name}=${JSON.stringify(text)} must use https:// when NODE_ENV=production`);
    return false;
  }
  return true;
}

/** The identity provider's key source, or undefined when none is configured. */
function remoteKeysConfig(values: SettingValues, problems: string[]): RemoteKeysConfig | undefined {
  const production = values.NODE_ENV === 'production';
  const jwksUrl = values.AUTH_JWKS_URL;
  const oidcIssuer = values.AUTH_OIDC_ISSUER;
  const algorithmsText = values.AUTH_JWT_ALGORITHMS;
  if (jwksUrl === undefined && oidcIssuer === undefined) {
    if (algorithmsText !== undefined)
      problems.push('AUTH_JWT_ALGORITHMS applies to identity-provider keys; set AUTH_JWKS_URL or AUTH_OIDC_ISSUER too');
    return undefined;
  }
  if (jwksUrl !== undefined) checkProviderUrl('AUTH_JWKS_URL', jwksUrl, production, problems);
  if (oidcIssuer !== undefined) checkProviderUrl('AUTH_OIDC_ISSUER', oidcIssuer, production, problems);
  const jwtIssuer = values.AUTH_JWT_ISSUER;
  if (oidcIssuer !== undefined && jwtIssuer !== undefined && jwtIssuer !== oidcIssuer) {
    problems.push(
      `AUTH_JWT_ISSUER=${JSON.stringify(jwtIssuer)} differs from AUTH_OIDC_ISSUER=${JSON.stringify(oidcIssuer)}; tokens from the provider must carry its issuer (leave AUTH_JWT_ISSUER unset, or set it to the same value)`,
    );
  }
  let algorithms: JwksAlgorithm[] = [...DEFAULT_JWKS_ALGORITHMS];
  if (algorithmsText !== undefined) {
    algorithms = [];
    for (const alg of list(algorithmsText)) {
      if ((JWKS_ALGORITHMS as readonly string[]).includes(alg)) algorithms.push(alg as JwksAlgorithm);
      else if (/^HS/i.test(alg) || alg.toLowerCase() === 'none')
        problems.push(
          `AUTH_JWT_ALGORITHMS may not contain ${alg}: keys from an identity provider are public, so only asymmetric algorithms are accepted (HS256 is verified with AUTH_JWT_SECRET)`,
        );
      else
        problems.push(
          `AUTH_JWT_ALGORITHMS: ${JSON.stringify(alg)} is not accepted; use some of: ${JWKS_ALGORITHMS.join(', ')}`,
        );
    }
    if (algorithms.length === 0 && problems.length === 0) problems.push('AUTH_JWT_ALGORITHMS lists no algorithm');
  }
  return {
    jwksUrl,
    oidcIssuer,
    issuer: oidcIssuer ?? jwtIssuer,
    algorithms,
    cacheMaxAgeMs: values.AUTH_JWKS_CACHE_MAX_AGE_S * 1000,
    cooldownMs: values.AUTH_JWKS_COOLDOWN_S * 1000,
    timeoutMs: values.AUTH_JWKS_TIMEOUT_MS,
  };
}

/**
 * CORS_ORIGINS as exact origins (scheme://host[:port], as browsers send them in Origin), or '*'
 * alone, which is refused with credentials: a browser would otherwise let any site act with the
 * user's cookies.
 */
function corsConfig(values: SettingValues, problems: string[]): CorsConfig | undefined {
  const text = values.CORS_ORIGINS;
  if (text === undefined) return undefined;
  const items = list(text);
  const credentials = values.CORS_CREDENTIALS;
  const maxAgeS = values.CORS_MAX_AGE_S;
  if (items.includes('*')) {
    if (items.length > 1) problems.push('CORS_ORIGINS: * allows every origin; list origins or * alone, not both');
    else if (credentials)
      problems.push(
        "CORS_ORIGINS=* is refused with CORS_CREDENTIALS=true (any site could send requests with the user's credentials); list the origins instead",
      );
    return { origins: '*', credentials, maxAgeS };
  }
  if (items.length === 0) problems.push('CORS_ORIGINS lists no origin');
  const origins: string[] = [];
  for (const item of items) {
    const url = URL.canParse(item) ? new URL(item) : undefined;
    if (
      !url ||
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      url.origin !== item ||
      !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/.test(url.hostname)
    ) {
      problems.push(
        `CORS_ORIGINS: ${JSON.stringify(item)} is not an origin; write scheme://host[:port] in lower case, with no path or trailing slash (e.g. https://chat.example.com)`,
      );
    } else if (!origins.includes(item)) origins.push(item);
  }
  return { origins, credentials, maxAgeS };
}

/**
 * A channel name every notifier can use as it is: a PostgreSQL identifier (quoted, at most 63
 * bytes), a Redis channel, and a NATS subject (dot-separated tokens, no wildcards or spaces).
 */
const CHANNEL = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** A broker URL with one of `schemes`, or a problem naming the variable. */
function checkBrokerUrl(name: string, text: string, schemes: string[], problems: string[]): boolean {
  const scheme = URL.canParse(text) ? new URL(text).protocol.slice(0, -1) : '';
  if (schemes.includes(scheme) && new URL(text).hostname !== '') return true;
  problems.push(
    `${name}=${JSON.stringify(redactUrl(text))} is not accepted; use a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
  );
  return false;
}

/**
 * EVENTS_NOTIFY with what the chosen notifier needs: the broker's URL from its own variable
 * (required), or for `postgres` the database's own settings (so only with DATABASE_TYPE=postgres).
 */
function notifierConfig(values: SettingValues, problems: string[]): NotifierConfig | undefined {
  const channel = values.EVENTS_NOTIFY_CHANNEL;
  if (!CHANNEL.test(channel) || channel.length > 63) {
    problems.push(
      `EVENTS_NOTIFY_CHANNEL=${JSON.stringify(channel)} is not accepted; use letters, digits, _ and -, in dot-separated words, at most 63 characters`,
    );
    return undefined;
  }
  const degradedPollMs = values.EVENTS_DEGRADED_POLL_MS;
  switch (values.EVENTS_NOTIFY) {
    case 'local':
      return { type: 'local' };
    case 'postgres': {
      if (values.DATABASE_TYPE !== 'postgres') {
        problems.push(
          `EVENTS_NOTIFY=postgres needs DATABASE_TYPE=postgres (it uses the database's LISTEN/NOTIFY), not DATABASE_TYPE=${values.DATABASE_TYPE}; use EVENTS_NOTIFY=redis or nats with other databases`,
        );
        return undefined;
      }
      const url = values.DATABASE_URL;
      if (url === undefined) return undefined; // DATABASE_URL's own problem is reported already.
      return {
        type: 'postgres',
        url,
        connectTimeoutMs: values.DATABASE_CONNECT_TIMEOUT_MS,
        tls: values.DATABASE_TLS,
        tlsCaFile: values.DATABASE_TLS_CA_FILE,
        channel,
        degradedPollMs,
      };
    }
    case 'redis': {
      const url = values.EVENTS_REDIS_URL;
      if (url === undefined) {
        problems.push('EVENTS_REDIS_URL is required when EVENTS_NOTIFY=redis (e.g. redis://127.0.0.1:6379)');
        return undefined;
      }
      if (!checkBrokerUrl('EVENTS_REDIS_URL', url, ['redis', 'rediss'], problems)) return undefined;
      return { type: 'redis', url, channel, degradedPollMs };
    }
    case 'nats': {
      const text = values.EVENTS_NATS_URL;
      if (text === undefined) {
        problems.push('EVENTS_NATS_URL is required when EVENTS_NOTIFY=nats (e.g. nats://127.0.0.1:4222)');
        return undefined;
      }
      const servers = list(text);
      if (servers.length === 0) {
        problems.push('EVENTS_NATS_URL lists no server');
        return undefined;
      }
      const ok = servers.map((server) => checkBrokerUrl('EVENTS_NATS_URL', server, ['nats', 'tls'], problems));
      return ok.every(Boolean) ? { type: 'nats', servers, channel, degradedPollMs } : undefined;
    }
  }
}

/** Where a database config points, password hidden, for logs and messages. */
export function describeDatabase(config: DatabaseConfig): string {
  switch (config.type) {
    case 'memory':
      return 'memory';
    case 'sqlite':
      return `sqlite ${config.file}`;
    default:
      return `${config.type} ${redactUrl(config.url)}`;
  }
}

/** Hides the password in a connection URL, for logs and messages. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(key)) u.searchParams.set(key, '***');
  return u.toString();
}

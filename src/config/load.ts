import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { DEFAULT_SQLITE_FILE, DEV_JWT_SECRET } from './defaults.js';
import { SETTINGS, type Config, type DatabaseType, type SettingName } from './schema.js';

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

function parseValue(name: SettingName, text: string, problems: string[]): unknown {
  const spec = SETTINGS[name];
  switch (spec.kind) {
    case 'enum':
      if ((spec.values as readonly string[]).includes(text)) return text;
      problems.push(`${name}=${JSON.stringify(text)} is not accepted; use one of: ${spec.values.join(', ')}`);
      return undefined;
    case 'int': {
      const n = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
      if (Number.isInteger(n) && n >= spec.min && n <= spec.max) return n;
      problems.push(`${name}=${JSON.stringify(text)} is not accepted; use a whole number from ${spec.min} to ${spec.max}`);
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
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    const text = raw[name];
    values[name] = text === undefined ? ('default' in spec ? spec.default : undefined) : parseValue(name, text, problems);
  }

  const env = values.NODE_ENV as Config['env'];
  const dbType = values.DATABASE_TYPE as DatabaseType;
  let dbUrl = values.DATABASE_URL as string | undefined;
  if (dbType === 'sqlite') dbUrl = dbUrl === undefined ? DEFAULT_SQLITE_FILE : dbUrl.replace(/^sqlite:(\/\/)?/, '');
  else if (dbType === 'memory') dbUrl = dbUrl ?? '';
  else if (dbType === undefined) {
    // DATABASE_TYPE itself was rejected above; its URL cannot be judged.
  } else if (dbUrl === undefined) problems.push(`DATABASE_URL is required when DATABASE_TYPE=${dbType}`);
  else {
    const schemes: Record<string, string[]> = {
      postgres: ['postgres:', 'postgresql:'],
      mysql: ['mysql:', 'mariadb:'],
      mariadb: ['mysql:', 'mariadb:'],
      mongodb: ['mongodb:', 'mongodb+srv:'],
    };
    const scheme = URL.canParse(dbUrl) ? new URL(dbUrl).protocol : '';
    const accepted = schemes[dbType] ?? [];
    if (!accepted.includes(scheme)) problems.push(`DATABASE_URL must be a URL starting with ${accepted.map((s) => `${s}//`).join(' or ')} when DATABASE_TYPE=${dbType}`);
  }

  const authMode = values.AUTH_MODE as Config['auth']['mode'];
  const secret = values.AUTH_JWT_SECRET as string | undefined;
  if (env === 'production') {
    if (authMode === 'dev') problems.push('AUTH_MODE=dev is refused when NODE_ENV=production; use AUTH_MODE=jwt');
    if (secret === undefined) problems.push('AUTH_JWT_SECRET is required when NODE_ENV=production');
  }
  if (secret !== undefined && secret.length < 32) problems.push('AUTH_JWT_SECRET must be at least 32 characters');
  if (values.DATABASE_TLS === 'verify' && values.DATABASE_TLS_CA_FILE !== undefined && !existsSync(values.DATABASE_TLS_CA_FILE as string)) {
    problems.push(`DATABASE_TLS_CA_FILE=${JSON.stringify(values.DATABASE_TLS_CA_FILE)} does not exist`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env,
    host: values.HOST as string,
    port: values.PORT as number,
    logLevel: values.LOG_LEVEL as Config['logLevel'],
    logPretty: values.LOG_PRETTY as boolean | undefined,
    bodyLimitBytes: values.BODY_LIMIT_BYTES as number,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS as number,
    migrateOnStart: (values.MIGRATE_ON_START as boolean | undefined) ?? (dbType === 'sqlite' || dbType === 'memory'),
    database: {
      type: dbType,
      url: dbUrl ?? '',
      poolSize: values.DATABASE_POOL_SIZE as number,
      connectTimeoutMs: values.DATABASE_CONNECT_TIMEOUT_MS as number,
      statementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS as number,
      tls: values.DATABASE_TLS as Config['database']['tls'],
      tlsCaFile: values.DATABASE_TLS_CA_FILE as string | undefined,
      sqliteBusyTimeoutMs: values.SQLITE_BUSY_TIMEOUT_MS as number,
    },
    auth: {
      mode: authMode,
      jwtSecret: secret ?? DEV_JWT_SECRET,
      usingDevSecret: secret === undefined,
      issuer: values.AUTH_JWT_ISSUER as string | undefined,
      audience: values.AUTH_JWT_AUDIENCE as string | undefined,
    },
  };
}

/** Hides the password in a connection URL, for logs and messages. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(key)) u.searchParams.set(key, '***');
  return u.toString();
}

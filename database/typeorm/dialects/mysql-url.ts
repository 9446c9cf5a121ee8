import { readFile } from 'node:fs/promises';
import type { ServerOptions } from '../../../src/repositories/backend.js';
import { tlsOptions } from './tls.js';

/**
 * Query parameters of a mysql:// or mariadb:// DATABASE_URL. mysql2 as TypeORM drives it reads
 * none of them, so a parameter the adapter does not act on would be dropped in silence — a
 * `?ssl-mode=REQUIRED` connection running unencrypted. The one honoured is `ssl-mode` (MySQL's
 * own client option; `sslMode` as Connector/J spells it); any other is refused at startup, with
 * the setting to use instead where there is one.
 * @see https://dev.mysql.com/doc/refman/8.4/en/connection-options.html#option_general_ssl-mode
 */

export type SslMode = 'DISABLED' | 'REQUIRED' | 'VERIFY_CA' | 'VERIFY_IDENTITY';
const SSL_MODES: readonly SslMode[] = ['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'];
const SSL_MODE_NAMES = new Set(['ssl-mode', 'sslmode']);

/** Parameters people put in MySQL URLs for other clients, and what does the job here. */
const INSTEAD: Record<string, string> = {
  sslaccept: 'ssl-mode',
  ssl: 'ssl-mode',
  'ssl-ca': 'DATABASE_TLS_CA_FILE',
  sslca: 'DATABASE_TLS_CA_FILE',
  sslcert: 'DATABASE_TLS_CA_FILE (client certificates are not supported)',
  charset: 'nothing: the adapter always uses utf8mb4 with the utf8mb4_bin collation',
  timezone: 'nothing: the adapter always reads and writes UTC',
  connecttimeout: 'DATABASE_CONNECT_TIMEOUT_MS',
  connect_timeout: 'DATABASE_CONNECT_TIMEOUT_MS',
  connectionlimit: 'DATABASE_POOL_SIZE',
  pool_size: 'DATABASE_POOL_SIZE',
};

export interface MysqlUrlParameters {
  sslMode: SslMode | undefined;
}

/**
 * The parameters of `url`, or the problem with them: a sentence naming the parameter, to follow
 * "DATABASE_URL" (or a transfer command's --from/--to).
 */
export function mysqlUrlParameters(
  url: string,
  tls: ServerOptions['tls'],
): { ok: MysqlUrlParameters } | { problem: string } {
  let sslMode: SslMode | undefined;
  for (const [name, value] of new URL(url).searchParams) {
    const key = name.toLowerCase();
    if (SSL_MODE_NAMES.has(key)) {
      const mode = value.toUpperCase();
      if (mode === 'PREFERRED')
        return {
          problem: `parameter ${name}=${value} is not supported: it falls back to an unencrypted connection when the server has no TLS; use REQUIRED, VERIFY_CA, VERIFY_IDENTITY or DISABLED`,
        };
      if (!(SSL_MODES as readonly string[]).includes(mode))
        return { problem: `parameter ${name}=${value} is not accepted; use one of: ${SSL_MODES.join(', ')}` };
      if (tls !== 'disable')
        return {
          problem: `parameter ${name} and DATABASE_TLS=${tls} both set TLS; keep one of them`,
        };
      sslMode = mode as SslMode;
      continue;
    }
    const instead = INSTEAD[key];
    return {
      problem: `parameter "${name}" is not supported${instead ? `; use ${instead}` : ''} (the only parameter mysql:// and mariadb:// URLs take is ssl-mode)`,
    };
  }
  return { ok: { sslMode } };
}

/** mysql2's `ssl` option (verifyIdentity is mysql2's own: without it, it checks the chain but never the host name). */
export interface MysqlSsl {
  rejectUnauthorized: boolean;
  verifyIdentity?: boolean;
  ca?: string;
}

/**
 * mysql2's `ssl` option, from the URL's ssl-mode when it has one, else from DATABASE_TLS. `verify`
 * and VERIFY_IDENTITY check the chain and the host name; VERIFY_CA the chain only.
 */
export async function mysqlTls(config: Pick<ServerOptions, 'url' | 'tls' | 'tlsCaFile'>): Promise<false | MysqlSsl> {
  const parsed = mysqlUrlParameters(config.url, config.tls);
  // The configuration refused such a URL already; a store opened some other way fails here.
  if ('problem' in parsed) throw new Error(`DATABASE_URL ${parsed.problem}`);
  const ca = config.tlsCaFile ? { ca: await readFile(config.tlsCaFile, 'utf8') } : {};
  switch (parsed.ok.sslMode) {
    case undefined: {
      const options = await tlsOptions(config);
      return options && config.tls === 'verify' ? { ...options, verifyIdentity: true } : options;
    }
    case 'DISABLED':
      return false;
    case 'REQUIRED':
      return { rejectUnauthorized: false };
    case 'VERIFY_CA':
      return { rejectUnauthorized: true, ...ca };
    case 'VERIFY_IDENTITY':
      return { rejectUnauthorized: true, verifyIdentity: true, ...ca };
  }
}

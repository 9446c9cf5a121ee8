import { readFile } from 'node:fs/promises';
import type { ServerOptions } from '../../../src/repositories/backend.js';

/**
 * DATABASE_TLS as Node TLS options, shared by node-postgres and mysql2: `disable` → no TLS,
 * `require` → encrypted but the certificate is not checked, `verify` → the certificate must chain
 * to DATABASE_TLS_CA_FILE (or the system CAs) and match the host name.
 */
export async function tlsOptions(
  config: Pick<ServerOptions, 'tls' | 'tlsCaFile'>,
): Promise<false | { rejectUnauthorized: boolean; ca?: string }> {
  switch (config.tls) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify':
      return config.tlsCaFile
        ? { rejectUnauthorized: true, ca: await readFile(config.tlsCaFile, 'utf8') }
        : { rejectUnauthorized: true };
  }
}

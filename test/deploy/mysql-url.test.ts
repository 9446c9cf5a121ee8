import '../support/provided-context.js';
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { mysqlTls } from '../../database/typeorm/dialects/mysql-url.js';
import { openTypeormStore } from '../../database/typeorm/typeorm-store.js';
import { testServerOptions } from '../../database/typeorm/testing.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { ValidationError } from '../../src/domain/errors.js';
import type { Store } from '../../src/repositories/ports.js';
import { databaseFromLocation } from '../../src/transfer/open.js';
import { serverFor, testLogger } from '../support/initializer.js';
import { requiredBackends } from '../support/servers.js';

/**
 * Query parameters of a mysql:// or mariadb:// DATABASE_URL: mysql2 under TypeORM reads none, so
 * the adapter honours ssl-mode and refuses every other parameter, naming it, instead of dropping
 * it (a dropped `?ssl-mode=REQUIRED` connected in plain text).
 */

const env = (url: string, more: Record<string, string> = {}) => ({
  NODE_ENV: 'test',
  DATABASE_TYPE: 'mysql',
  DATABASE_URL: url,
  ...more,
});

function configProblem(url: string, more: Record<string, string> = {}): string {
  try {
    loadConfig({ env: env(url, more), dotenvPath: false });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`expected ${url} to be refused`);
}

describe('DATABASE_URL parameters for MySQL and MariaDB', () => {
  it.each([
    [
      'charset',
      'mysql://u@db/app?charset=latin1',
      /parameter "charset" is not supported; use nothing: the adapter always uses utf8mb4/,
    ],
    [
      'ssl (mysql2 JSON form)',
      'mysql://u@db/app?ssl={"rejectUnauthorized":true}',
      /parameter "ssl" is not supported; use ssl-mode/,
    ],
    ['sslaccept (Prisma)', 'mysql://u@db/app?sslaccept=strict', /parameter "sslaccept" is not supported; use ssl-mode/],
    [
      'connectTimeout',
      'mysql://u@db/app?connectTimeout=1000',
      /parameter "connectTimeout" is not supported; use DATABASE_CONNECT_TIMEOUT_MS/,
    ],
    [
      'an unknown one',
      'mariadb://u@db/app?frobnicate=1',
      /parameter "frobnicate" is not supported \(the only parameter/,
    ],
    [
      'ssl-mode=PREFERRED',
      'mysql://u@db/app?ssl-mode=PREFERRED',
      /ssl-mode=PREFERRED is not supported: it falls back to an unencrypted connection/,
    ],
    [
      'a misspelt ssl-mode value',
      'mysql://u@db/app?ssl-mode=ON',
      /ssl-mode=ON is not accepted; use one of: DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY/,
    ],
  ])('refuses %s at startup, naming DATABASE_URL and the parameter', (_name, url, expected) => {
    const message = configProblem(url);
    expect(message).toMatch(/DATABASE_URL parameter/);
    expect(message).toMatch(expected);
  });

  it('refuses ssl-mode together with DATABASE_TLS set to require or verify', () => {
    expect(configProblem('mysql://u@db/app?ssl-mode=REQUIRED', { DATABASE_TLS: 'verify' })).toMatch(
      /parameter ssl-mode and DATABASE_TLS=verify both set TLS; keep one of them/,
    );
  });

  it('refuses the same in a transfer location, naming the option', () => {
    const settings = loadConfig({ env: env('mysql://u@db/app'), dotenvPath: false }).settings;
    const refused = (() => {
      try {
        databaseFromLocation('mysql://u@db/app?charset=latin1', settings, 'to');
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).issues).toEqual([
      { field: 'to', message: expect.stringContaining('parameter "charset" is not supported') },
    ]);
  });

  it('maps ssl-mode (case-insensitive, also sslMode) and DATABASE_TLS to mysql2 options; verify checks the host name', async () => {
    const tls = (url: string, mode: 'disable' | 'require' | 'verify' = 'disable') =>
      mysqlTls({ url, tls: mode, tlsCaFile: undefined });
    expect(await tls('mysql://u@db/app?ssl-mode=DISABLED')).toBe(false);
    expect(await tls('mysql://u@db/app?ssl-mode=required')).toEqual({ rejectUnauthorized: false });
    expect(await tls('mysql://u@db/app?sslMode=VERIFY_CA')).toEqual({ rejectUnauthorized: true });
    expect(await tls('mysql://u@db/app?ssl-mode=VERIFY_IDENTITY')).toEqual({
      rejectUnauthorized: true,
      verifyIdentity: true,
    });
    expect(await tls('mysql://u@db/app')).toBe(false);
    expect(await tls('mysql://u@db/app', 'require')).toEqual({ rejectUnauthorized: false });
    // mysql2 checks the host name only when asked (verifyIdentity): DATABASE_TLS=verify asks.
    expect(await tls('mysql://u@db/app', 'verify')).toEqual({ rejectUnauthorized: true, verifyIdentity: true });
    const config = loadConfig({ env: env('mysql://u@db/app?ssl-mode=VERIFY_CA'), dotenvPath: false });
    expect(config.database).toMatchObject({ type: 'mysql', url: 'mysql://u@db/app?ssl-mode=VERIFY_CA' });
  });
});

describe.each(['mariadb', 'mysql'] as const)('%s: ssl-mode in DATABASE_URL on a real server', (type) => {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('is honoured: DISABLED connects in plain text, REQUIRED only with TLS', async (ctx) => {
    const info = serverFor(type);
    if ('skip' in info) {
      if (requiredBackends().has(type)) throw new Error(`TEST_REQUIRE names ${type}, but it cannot run: ${info.skip}`);
      return ctx.skip(info.skip);
    }
    const withMode = (mode: string) => {
      const url = new URL(info.url);
      url.searchParams.set('ssl-mode', mode);
      return { type, ...testServerOptions(url.toString()), connectTimeoutMs: 3000 };
    };
    const admin = await mysql.createConnection(info.url);
    const [rows] = await admin.query('SELECT @@have_ssl AS tls');
    await admin.end();
    const serverHasTls = (rows as { tls: string | null }[])[0]?.tls === 'YES';
    const open = (mode: string) =>
      openTypeormStore(withMode(mode), testLogger).then(
        (store) => {
          opened.push(store);
          return store;
        },
        (error: unknown) => error as Error,
      );
    const plain = await open('DISABLED');
    expect(plain).not.toBeInstanceOf(Error);
    await (plain as Store).ping();
    const required = await open('REQUIRED');
    if (serverHasTls) {
      expect(required).not.toBeInstanceOf(Error);
      // Its certificate is not signed by a CA this process trusts (a test server's own): refused.
      expect(await open('VERIFY_IDENTITY')).toBeInstanceOf(Error);
    } else {
      // Before ssl-mode was honoured, this connected in plain text.
      expect(required).toBeInstanceOf(Error);
      expect(
        JSON.stringify(required, Object.getOwnPropertyNames(required)) + String((required as Error).cause),
      ).toMatch(/secure connection/i);
    }
  });
});

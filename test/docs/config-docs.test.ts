import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/schema.js';

/** Every setting is documented where the brief says it must be, and nothing undocumented is read. */
describe('configuration documentation', () => {
  const names = Object.keys(SETTINGS);
  const envExample = readFileSync('.env.example', 'utf8');
  const setup = readFileSync('SETUP.md', 'utf8');

  it.each(names)('%s is in .env.example and SETUP.md', (name) => {
    expect(envExample).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
    expect(setup).toContain(`\`${name}\``);
  });

  it('.env.example names no variable the schema does not know', () => {
    const listed = [...envExample.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(listed.filter((n) => !names.includes(n!))).toEqual([]);
  });
});

describe('configuration loading', () => {
  const load = (env: Record<string, string>, flags?: Record<string, string>) =>
    loadConfig({ env, flags, dotenvPath: false });

  it('gives defaults that serve SQLite on a fresh clone', () => {
    const config = load({});
    expect(config.database).toEqual({
      type: 'sqlite',
      file: './data/polystore.db',
      busyTimeoutMs: 5000,
      synchronous: 'FULL',
    });
    expect(config.migrateOnStart).toBe(true);
    expect(config.port).toBe(3000);
    expect(config.auth).toMatchObject({ mode: 'jwt', usingDevSecret: true });
  });

  it('takes flags over the environment', () => {
    expect(load({ PORT: '4000' }, { PORT: '5000' }).port).toBe(5000);
    expect(load({ PORT: '4000' }).port).toBe(4000);
  });

  it('names the variable and the accepted values for a bad value', () => {
    const error = (() => {
      try {
        load({ DATABASE_TYPE: 'oracle', PORT: 'eighty' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT="eighty" is not accepted; use a whole number from 0 to 65535',
      'DATABASE_TYPE="oracle" is not accepted; use one of: memory, sqlite, postgres, mysql, mariadb, mongodb',
    ]);
  });

  it('refuses production without a secret, and dev auth in production', () => {
    expect(() => load({ NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET is required when NODE_ENV=production/);
    expect(() => load({ NODE_ENV: 'production', AUTH_MODE: 'dev', AUTH_JWT_SECRET: 'x'.repeat(32) })).toThrow(
      /AUTH_MODE=dev is refused/,
    );
    expect(load({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) }).auth.usingDevSecret).toBe(false);
  });

  it('requires a URL of the right scheme for server databases', () => {
    expect(() => load({ DATABASE_TYPE: 'postgres' })).toThrow(/DATABASE_URL is required when DATABASE_TYPE=postgres/);
    expect(() => load({ DATABASE_TYPE: 'postgres', DATABASE_URL: 'mysql://x@y/z' })).toThrow(
      /must be a URL starting with postgres:\/\/ or postgresql:\/\//,
    );
    expect(load({ DATABASE_TYPE: 'mariadb', DATABASE_URL: 'mysql://root@127.0.0.1:3306/db' }).migrateOnStart).toBe(
      false,
    );
    expect(load({ DATABASE_TYPE: 'sqlite', DATABASE_URL: 'sqlite:./x.db' }).database).toEqual({
      type: 'sqlite',
      file: './x.db',
      busyTimeoutMs: 5000,
      synchronous: 'FULL',
    });
  });

  it('rejects unknown flags', () => {
    expect(() => load({}, { PROT: '1' })).toThrow(/unknown option --prot/);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { decodePayload, encodePayloads } from '../../src/notifiers/broker.js';
import { spawnServer } from '../support/process.js';

const load = (env: Record<string, string>) => loadConfig({ env, dotenvPath: false });

/** The problems loadConfig reports for `env`. */
function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('EVENTS_NOTIFY configuration', () => {
  it('builds each notifier with only what it needs', () => {
    expect(load({}).notifier).toEqual({ type: 'local' });
    expect(
      load({ EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: 'redis://:pw@cache:6380/2', EVENTS_DEGRADED_POLL_MS: '500' })
        .notifier,
    ).toEqual({ type: 'redis', url: 'redis://:pw@cache:6380/2', channel: 'polystore_events', degradedPollMs: 500 });
    expect(
      load({
        EVENTS_NOTIFY: 'nats',
        EVENTS_NATS_URL: 'nats://a:4222, tls://b:4222',
        EVENTS_NOTIFY_CHANNEL: 'chat.prod',
      }).notifier,
    ).toEqual({ type: 'nats', servers: ['nats://a:4222', 'tls://b:4222'], channel: 'chat.prod', degradedPollMs: 1000 });
    expect(
      load({
        EVENTS_NOTIFY: 'postgres',
        DATABASE_TYPE: 'postgres',
        DATABASE_URL: 'postgres://u@db:5432/chat',
        DATABASE_TLS: 'require',
        DATABASE_CONNECT_TIMEOUT_MS: '2500',
      }).notifier,
    ).toEqual({
      type: 'postgres',
      url: 'postgres://u@db:5432/chat',
      connectTimeoutMs: 2500,
      tls: 'require',
      tlsCaFile: undefined,
      channel: 'polystore_events',
      degradedPollMs: 1000,
    });
  });

  it.each([
    [{ EVENTS_NOTIFY: 'redis' }, 'EVENTS_REDIS_URL is required when EVENTS_NOTIFY=redis'],
    [{ EVENTS_NOTIFY: 'nats' }, 'EVENTS_NATS_URL is required when EVENTS_NOTIFY=nats'],
    [{ EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: 'http://cache:6379' }, 'EVENTS_REDIS_URL="http://cache:6379/"'],
    [{ EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: 'redis://:secret@' }, 'EVENTS_REDIS_URL='],
    [{ EVENTS_NOTIFY: 'nats', EVENTS_NATS_URL: 'nats://a:4222,redis://b' }, 'EVENTS_NATS_URL="redis://b"'],
    [{ EVENTS_NOTIFY: 'postgres' }, 'EVENTS_NOTIFY=postgres needs DATABASE_TYPE=postgres'],
    [
      { EVENTS_NOTIFY: 'postgres', DATABASE_TYPE: 'mariadb', DATABASE_URL: 'mysql://root@db/chat' },
      'not DATABASE_TYPE=mariadb',
    ],
    [{ EVENTS_NOTIFY: 'kafka' }, 'EVENTS_NOTIFY="kafka" is not accepted; use one of: local, postgres, redis, nats'],
    [{ EVENTS_NOTIFY_CHANNEL: 'a b' }, 'EVENTS_NOTIFY_CHANNEL="a b" is not accepted'],
    [{ EVENTS_NOTIFY_CHANNEL: 'chat.*' }, 'EVENTS_NOTIFY_CHANNEL="chat.*" is not accepted'],
    [{ EVENTS_NOTIFY_CHANNEL: 'x'.repeat(64) }, 'at most 63 characters'],
    [{ EVENTS_DEGRADED_POLL_MS: '50' }, 'EVENTS_DEGRADED_POLL_MS="50" is not accepted'],
  ])('refuses %j, naming the variable', (env, message) => {
    const found = problems(env);
    expect(found.join('\n')).toContain(message);
  });

  it('never shows a broker password in a problem', () => {
    const found = problems({ EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: 'http://u:hunter2@cache' });
    expect(found.join('\n')).toContain('EVENTS_REDIS_URL');
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('`polystore serve` exits 1 naming the missing broker URL', async () => {
    const server = spawnServer({ EVENTS_NOTIFY: 'nats' });
    try {
      const exit = await server.exited;
      expect(exit.code).toBe(1);
      expect(exit.stdout + exit.stderr).toContain('EVENTS_NATS_URL is required when EVENTS_NOTIFY=nats');
    } finally {
      server.kill();
    }
  }, 30_000);
});

describe('notifier payloads', () => {
  it('carry the origin and the ids as JSON, split below PostgreSQL’s 8000-byte limit', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `0190aaaa-0000-7000-8000-${String(i).padStart(12, '0')}`);
    const payloads = encodePayloads('origin-1', ids);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
    const decoded = payloads.map((p) => decodePayload(p)!);
    expect(decoded.every((d) => d.origin === 'origin-1')).toBe(true);
    expect(decoded.flatMap((d) => d.ids)).toEqual(ids);
    expect(decodePayload(encodePayloads('o', ['with space', 'quote"', 'ü'])[0]!)).toEqual({
      origin: 'o',
      ids: ['with space', 'quote"', 'ü'],
    });
  });

  it.each(['', 'not json', '{}', '[]', '["origin"]', '["origin", 7]', 'null'])('ignores %j', (payload) => {
    expect(decodePayload(payload)).toBeUndefined();
  });
});

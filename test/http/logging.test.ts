import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import { buildApp } from '../../src/app.js';
import { redactUrl } from '../../src/config/load.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import { createLogger } from '../../src/logger.js';
import { testConfig } from './support.js';

/** An app over a memory store whose log lines (info and up) are collected as parsed JSON. */
function loggingApp() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = testConfig({ LOG_LEVEL: 'info' });
  const app = buildApp({
    config,
    store: openMemoryStore(),
    logger: createLogger({ ...config, logLevel: 'info' }, { stream: sink }),
  });
  return { lines, config, app };
}

/** What the logs say, and what they must never say. */
describe('logging', () => {
  it('logs every request with its id and never the Authorization header', async () => {
    const { lines, config, app } = loggingApp();
    try {
      const token = await mintToken(config.auth, { sub: 'logger-user' });
      const res = await app.inject({
        method: 'GET',
        url: '/v1/users/me',
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-123', cookie: 'session=secret' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id']).toBe('trace-123');
      const text = JSON.stringify(lines);
      expect(text).not.toContain(token);
      expect(text).not.toContain('session=secret');
      expect(lines.find((l) => l.msg === 'incoming request')).toMatchObject({
        reqId: 'trace-123',
        req: { method: 'GET', url: '/v1/users/me' },
      });
      // Should anything log the headers (an error log with its request, say), they are censored.
      app.log.warn({ headers: { authorization: `Bearer ${token}`, cookie: 'session=secret' } }, 'headers');
      expect(lines.at(-1)).toMatchObject({
        msg: 'headers',
        headers: { authorization: '[redacted]', cookie: '[redacted]' },
      });
      expect(JSON.stringify(lines)).not.toContain(token);
      expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({
        reqId: 'trace-123',
        res: { statusCode: 200 },
      });
    } finally {
      await app.close();
    }
  });

  it('never logs a stream ticket from the query string', async () => {
    const { lines, app } = loggingApp();
    try {
      const secret = 'tkt-secret-value-0123456789';
      const url = `/v1/conversations/00000000-0000-7000-8000-000000000000/events?after=3&ticket=${secret}&limit=5`;
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(lines)).not.toContain(secret);
      expect(lines.find((l) => l.msg === 'incoming request')).toMatchObject({
        req: { url: '/v1/conversations/00000000-0000-7000-8000-000000000000/events?after=3&ticket=[redacted]&limit=5' },
      });
    } finally {
      await app.close();
    }
  });

  it('hides passwords and secrets in database URLs', () => {
    expect(redactUrl('postgres://app:s3cret@db.internal:5432/chat')).toBe('postgres://app:***@db.internal:5432/chat');
    expect(redactUrl('mongodb://u:p%40ss@h:27017/db?authSource=admin&tlsCertificateKeyFilePassword=x')).toBe(
      'mongodb://u:***@h:27017/db?authSource=admin&tlsCertificateKeyFilePassword=***',
    );
    expect(redactUrl('./data/polystore.db')).toBe('./data/polystore.db');
  });
});

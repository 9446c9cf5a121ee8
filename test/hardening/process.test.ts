import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/auth/jwt.js';
import { boundUrl } from '../../src/server.js';
import { testConfig } from '../http/support.js';
import { listeningUrl, openRaw, parseResponse, sleep, spawnServer, within } from './support.js';

/**
 * The real process (`tsx src/cli/main.ts serve`): graceful shutdown with a keep-alive client and
 * a request in flight, startup failures as one line, the startup retry, the listening line, and
 * the probes kept out of the log.
 */

const tmp = mkdtempSync(join(tmpdir(), 'polystore-hardening-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A port on 127.0.0.1 nothing listens on (reserved, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Asserts a one-line startup failure: exit 1, no stack trace, no "unexpected error". */
function expectOneLine(result: { code: number | null; stderr: string }) {
  expect(result.code).toBe(1);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^polystore: /);
  expect(result.stderr).not.toContain('unexpected error');
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('graceful shutdown', () => {
  it('answers in-flight work with Connection: close, closes keep-alive sockets and exits 0 long before SHUTDOWN_TIMEOUT_MS', async () => {
    const server = spawnServer({ SHUTDOWN_TIMEOUT_MS: '20000' });
    try {
      const url = new URL(await listeningUrl(server));
      const port = Number(url.port);
      const token = await mintToken(testConfig().auth, { sub: 'shutdown-user' });

      // The probes are answered, and kept out of the log at info.
      for (let i = 0; i < 3; i++) {
        expect((await fetch(`${url.origin}/health`)).status).toBe(200);
        expect((await fetch(`${url.origin}/ready`)).status).toBe(200);
      }

      // A keep-alive client that stays connected after a request.
      const idle = openRaw(port);
      idle.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await within(
        (async () => {
          while (!parseResponse(idle.received())) await sleep(20);
        })(),
        5000,
        'the idle client',
      );
      expect(parseResponse(idle.received())!.headers.connection).toBe('keep-alive');

      // A keep-alive client with a request in flight: its body is still being sent at SIGTERM.
      const busy = openRaw(port);
      const body = JSON.stringify({ title: 'sent during shutdown' });
      busy.write(`GET /v1/users/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      await within(
        (async () => {
          while (!parseResponse(busy.received())) await sleep(20);
        })(),
        5000,
        'the first response of the busy client',
      );
      const first = busy.received().length;
      busy.write(
        `POST /v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      );
      await sleep(300);

      const signalled = Date.now();
      server.child.kill('SIGTERM');
      await within(idle.closed, 3000, 'the idle keep-alive connection to be closed');
      await sleep(300);
      expect(busy.isClosed()).toBe(false);
      busy.write(body.slice(5));
      await within(busy.closed, 5000, 'the in-flight response');
      const res = parseResponse(busy.received().slice(first));
      expect(res?.status).toBe(201);
      expect(res!.headers.connection).toBe('close');
      expect((JSON.parse(res!.body) as { title: string }).title).toBe('sent during shutdown');

      const result = await within(server.exited, 10_000, 'the process to exit');
      expect(result.code).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(5000);
      const messages = server.logs().map((l) => l.msg);
      expect(messages).toContain('shutting down');
      expect(messages).toContain('closed');
      expect(result.stdout + result.stderr).not.toContain('killed by timeout');

      // The listening line names the bound address; Fastify's own lines say where it is reachable.
      const listening = server.logs().find((l) => String(l.msg).startsWith('polystore listening at'));
      expect(listening?.url).toBe(`http://127.0.0.1:${port}`);
      expect(messages).toContain(`reachable at http://127.0.0.1:${port}`);
      // No request line for the probes; the /v1 requests are logged.
      const requestUrls = server
        .logs()
        .map((l) => (l.req as { url?: string } | undefined)?.url)
        .filter(Boolean);
      expect(requestUrls).not.toContain('/health');
      expect(requestUrls).not.toContain('/ready');
      expect(requestUrls).toContain('/v1/conversations');
    } finally {
      server.kill();
    }
  }, 60_000);

  it('boundUrl names the address the server is bound to', () => {
    expect(boundUrl({ address: '0.0.0.0', family: 'IPv4', port: 3000 })).toBe('http://0.0.0.0:3000');
    expect(boundUrl({ address: '::', family: 'IPv6', port: 3000 })).toBe('http://[::]:3000');
    expect(boundUrl({ address: '127.0.0.1', family: 'IPv4', port: 8080 })).toBe('http://127.0.0.1:8080');
  });
});

describe('startup failures', () => {
  it('a SQLite path whose folder is a file: one line naming DATABASE_URL, exit 1', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'not a folder');
    const result = await spawnServer({ DATABASE_TYPE: 'sqlite', DATABASE_URL: join(file, 'polystore.db') }).exited;
    const line = expectOneLine(result);
    expect(line).toContain('DATABASE_URL');
    expect(line).toContain(`${file} is a file, not a folder`);
  }, 30_000);

  it('a SQLite path that cannot be written: one line naming DATABASE_URL, exit 1', async () => {
    // Permission bits do not stop root; /proc refuses new files to everybody.
    const path = process.getuid?.() === 0 ? '/proc/polystore-hardening.db' : join(tmp, 'ro', 'polystore.db');
    if (process.getuid?.() !== 0) {
      const { mkdirSync, chmodSync } = await import('node:fs');
      mkdirSync(join(tmp, 'ro'));
      chmodSync(join(tmp, 'ro'), 0o500);
    }
    // A file is not retried, whatever DATABASE_STARTUP_RETRY_MS says.
    const server = spawnServer({ DATABASE_TYPE: 'sqlite', DATABASE_URL: path, DATABASE_STARTUP_RETRY_MS: '60000' });
    const result = await within(server.exited, 20_000, 'the process to exit');
    const line = expectOneLine(result);
    expect(line).toContain(`sqlite ${path} database (DATABASE_URL)`);
    expect(server.logs().filter((l) => String(l.msg).endsWith('retrying'))).toEqual([]);
  }, 30_000);

  it('a database that is down: one line at once with DATABASE_STARTUP_RETRY_MS=0', async () => {
    const port = await closedPort();
    const result = await spawnServer({
      DATABASE_TYPE: 'postgres',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/polystore`,
      DATABASE_STARTUP_RETRY_MS: '0',
    }).exited;
    const line = expectOneLine(result);
    expect(line).toContain(`postgres postgres://postgres@127.0.0.1:${port}/polystore database (DATABASE_URL)`);
    expect(line).not.toContain('gave up');
  }, 30_000);

  it('a database that stays down is retried with backoff for DATABASE_STARTUP_RETRY_MS, then exit 1', async () => {
    const port = await closedPort();
    const server = spawnServer({
      DATABASE_TYPE: 'postgres',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/polystore`,
      DATABASE_STARTUP_RETRY_MS: '2500',
    });
    const result = await within(server.exited, 20_000, 'the process to give up');
    const line = expectOneLine(result);
    expect(line).toMatch(/DATABASE_URL.*gave up after \d+ attempts in \d+ ms/);
    const retries = server.logs().filter((l) => String(l.msg).endsWith('database; retrying'));
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(retries.map((l) => l.retryInMs).slice(0, 3)).toEqual([250, 500, 1000]);
    expect(result.afterMs).toBeGreaterThan(1750);
  }, 30_000);

  const postgresUrl = process.env.TEST_POSTGRES_URL;
  it.skipIf(!postgresUrl)(
    'a database that comes up while retrying is used (PostgreSQL behind a proxy that starts late)',
    async () => {
      const target = new URL(postgresUrl!);
      const database = `polystore_hardening_${process.pid}_${Date.now()}`;
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      const port = await closedPort();
      let proxy: Server | undefined;
      const server = spawnServer({
        DATABASE_TYPE: 'postgres',
        DATABASE_URL: Object.assign(new URL(postgresUrl!), { port: String(port), pathname: `/${database}` }).toString(),
        DATABASE_STARTUP_RETRY_MS: '20000',
        MIGRATE_ON_START: 'true',
      });
      try {
        await within(
          (async () => {
            while (!server.logs().some((l) => String(l.msg).endsWith('database; retrying'))) await sleep(50);
          })(),
          20_000,
          'a retry',
        );
        proxy = createServer((client) => {
          const upstream = tcpConnect({ host: target.hostname, port: Number(target.port || 5432) });
          client.pipe(upstream).pipe(client);
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
        });
        await new Promise<void>((resolve) => proxy!.listen(port, '127.0.0.1', resolve));
        const url = await listeningUrl(server);
        expect((await (await fetch(`${url}/ready`)).json()) as unknown).toEqual({
          status: 'ready',
          database: 'postgres',
          notifier: { type: 'local', state: 'connected', since: expect.any(String) },
        });
        server.child.kill('SIGTERM');
        expect((await within(server.exited, 15_000, 'the process to exit')).code).toBe(0);
      } finally {
        server.kill();
        if (proxy) await new Promise<void>((resolve) => proxy!.close(() => resolve()));
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
        await admin.end();
      }
    },
    60_000,
  );
});

import { spawnPolystore } from '../support/process.js';
import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../../src/http/auth/jwt.js';
import { TEST_SECRET, testConfig } from './support.js';

/**
 * The real process: `tsx src/cli/main.ts <command>` with a memory database, as an operator runs
 * it. Slower than inject, so only what inject cannot show lives here.
 */

// The process's default limits apply here (PROCESS_ENV turns rate limits off for other suites).
function start(args: string[], env: Record<string, string> = {}) {
  const p = spawnPolystore(args, { RATE_LIMIT_ENABLED: 'true', ...env });
  return { child: p.child, done: p.exited, out: p.stdout };
}

const run = (args: string[], env: Record<string, string> = {}) => start(args, env).done;

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the polystore process', () => {
  it('serve starts, answers over HTTP, and exits 0 on SIGTERM after closing', async () => {
    const server = start(['serve']);
    try {
      const url = await waitFor(
        () => {
          for (const line of server.out().split('\n')) {
            if (!line.startsWith('{')) continue;
            const entry = JSON.parse(line) as { msg?: string; url?: string };
            if (entry.msg?.startsWith('polystore listening at') && entry.url) return entry.url;
          }
          return undefined;
        },
        30_000,
        'the listening log line',
      );
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const health = await fetch(`${url}/health`, { headers: { 'x-request-id': 'proc-test-1' } });
      expect(health.status).toBe(200);
      expect(health.headers.get('x-request-id')).toBe('proc-test-1');
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${url}/ready`)).json()).toEqual({
        status: 'ready',
        database: 'memory',
        notifier: { type: 'local', state: 'connected', since: expect.any(String) },
      });
      const unauthorized = await fetch(`${url}/v1/users/me`);
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('www-authenticate')).toBe('Bearer realm="polystore"');
      const token = await mintToken(testConfig().auth, { sub: 'proc-user' });
      const me = await fetch(`${url}/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { id: string }).id).toBe('proc-user');

      server.child.kill('SIGTERM');
      const result = await server.done;
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('"msg":"shutting down"');
      expect(result.stdout).toContain('"msg":"closed"');
      // Credentials never reach the log.
      expect(result.stdout).not.toContain(token);
      expect(result.stdout).not.toContain(TEST_SECRET);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  }, 60_000);

  it('serve with a bad setting prints the problem and exits 1 without a stack', async () => {
    const result = await run(['serve', '--port', 'seventy']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT="seventy" is not accepted');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('token prints only a token the server accepts', async () => {
    const result = await run([
      'token',
      '--sub',
      'alice',
      '--name',
      'Alice A',
      '--username',
      'alice.a',
      '--expires-in',
      '2h',
    ]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const identity = await verifyToken(testConfig().auth, lines[0]!);
    expect(identity).toEqual({ sub: 'alice', name: 'Alice A', preferredUsername: 'alice.a' });
  }, 30_000);

  it('usage errors exit 2; migrate --status reports the memory schema', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badFlag = await run(['token', '--sub', 'a', '--colour', 'red']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('unknown option --colour');
    expect((await run(['token'])).code).toBe(2);

    const status = await run(['migrate', '--status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('pending:  (none)');
    expect(status.stdout).toContain('unknown:  (none)');
  }, 60_000);
});

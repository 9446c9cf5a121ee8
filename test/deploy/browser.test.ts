import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/http/auth/jwt.js';
import { launchChromium } from '../support/chromium.js';
import { TEST_SECRET, testConfig } from '../http/support.js';
import { startServer, type ServerProcess } from './support.js';

/**
 * A real browser calling the real server from another origin: a page served on its own port of
 * 127.0.0.1 fetches /v1/users/me with a bearer token (a preflighted request) and reads the JSON
 * and the ETag; a page on an origin not in CORS_ORIGINS is blocked by the browser.
 *
 * Needs Debian's chromium package (test/support/chromium.ts); Playwright's own browser download
 * is never used.
 */

/** The page: fetches the API as soon as it loads and leaves the outcome in window.__result. */
function page(apiUrl: string, token: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>polystore client</title></head>
<body><p id="status">loading</p>
<script>
  (async () => {
    try {
      const res = await fetch(${JSON.stringify(`${apiUrl}/v1/users/me`)}, {
        headers: { Authorization: ${JSON.stringify(`Bearer ${token}`)} },
      });
      const body = await res.json();
      window.__result = { ok: true, status: res.status, etag: res.headers.get('ETag'),
        requestId: res.headers.get('X-Request-Id'), body };
    } catch (error) {
      window.__result = { ok: false, error: String(error) };
    }
    document.getElementById('status').textContent = 'done';
  })();
</script></body></html>`;
}

/** A tiny static server on 127.0.0.1 answering every GET with one HTML page. */
async function pageServer(html: () => string): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface PageResult {
  ok: boolean;
  status?: number;
  etag?: string | null;
  requestId?: string | null;
  body?: { id: string; displayName: string; version: number };
  error?: string;
}

describe('a browser on another origin (headless Chromium, the real server process)', () => {
  let api: ServerProcess | undefined;
  let allowed: Awaited<ReturnType<typeof pageServer>>;
  let blocked: Awaited<ReturnType<typeof pageServer>>;
  let token = '';

  beforeAll(async () => {
    token = await mintToken(testConfig().auth, { sub: 'browser-user', name: 'Browser User' });
    allowed = await pageServer(() => page(api?.url ?? '', token));
    blocked = await pageServer(() => page(api?.url ?? '', token));
    api = await startServer({
      AUTH_JWT_SECRET: TEST_SECRET,
      CORS_ORIGINS: `${allowed.origin},https://chat.example.com`,
    });
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    for (const s of [allowed?.server, blocked?.server]) {
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('fetches /v1/users/me with a bearer token, reads the JSON and the ETag; another origin is blocked', async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.context.newPage();
      const load = async (origin: string): Promise<PageResult> => {
        await tab.goto(`${origin}/`, { timeout: 15_000 });
        await tab.waitForFunction(
          () => (globalThis as unknown as { __result?: unknown }).__result !== undefined,
          null,
          {
            timeout: 15_000,
          },
        );
        return tab.evaluate(() => (globalThis as unknown as { __result: PageResult }).__result);
      };

      const result = await load(allowed.origin);
      expect(result).toMatchObject({
        ok: true,
        status: 200,
        etag: '"1"',
        body: { id: 'browser-user', displayName: 'Browser User', version: 1 },
      });
      expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);

      const refused = await load(blocked.origin);
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatch(/TypeError/);
    } finally {
      await browser.close();
    }
  }, 90_000);
});

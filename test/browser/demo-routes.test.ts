import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/domain/events.js';
import { DEMO_CSP } from '../../src/http/routes/demo.js';
import { expectError } from '../http/support.js';
import { appWith } from '../deploy/support.js';

/**
 * The demo's routes without a browser: served only when DEMO_ENABLED says so (by default only in
 * development), with its Content Security Policy, and a page that needs nothing the policy
 * forbids — no inline script, handler or style — and calls nothing but the public API.
 */

const PATHS = ['/demo', '/demo/', '/demo/demo.js', '/demo/demo.css'];

async function get(env: Record<string, string>, url: string) {
  const { app, close } = await appWith(env);
  try {
    return await app.inject({ method: 'GET', url });
  } finally {
    await close();
  }
}

describe('GET /demo', () => {
  it.each([
    ['DEMO_ENABLED=false', { DEMO_ENABLED: 'false', NODE_ENV: 'development' }],
    ['production by default', { NODE_ENV: 'production' }],
    ['test by default', { NODE_ENV: 'test' }],
  ])('is a 404 in the API error shape with %s', async (_name, env) => {
    for (const path of PATHS) {
      const res = await get(env, path);
      expect(res.headers['content-security-policy']).toBeUndefined();
      expect(expectError(res, 404, 'not_found').message).toBe(`no route GET ${path}`);
    }
  });

  it('is served by default in development, and with DEMO_ENABLED=true anywhere', async () => {
    const envs: Record<string, string>[] = [
      { NODE_ENV: 'development' },
      { NODE_ENV: 'production', DEMO_ENABLED: 'true' },
    ];
    for (const env of envs) {
      const res = await get(env, '/demo');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<title>polystore · live chat demo</title>');
    }
  });

  it('sends the page and its two files with their types and a strict Content Security Policy', async () => {
    const expected = {
      '/demo': 'text/html; charset=utf-8',
      '/demo/': 'text/html; charset=utf-8',
      '/demo/demo.js': 'text/javascript; charset=utf-8',
      '/demo/demo.css': 'text/css; charset=utf-8',
    };
    for (const [path, type] of Object.entries(expected)) {
      const res = await get({ DEMO_ENABLED: 'true' }, path);
      expect(res.statusCode).toBe(200);
      expect(res.headers).toMatchObject({
        'content-type': type,
        'content-security-policy': DEMO_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      });
    }
    expect(DEMO_CSP).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    // The files are served exactly as they are in the source tree.
    const js = await get({ DEMO_ENABLED: 'true' }, '/demo/demo.js');
    expect(js.body).toBe(await readFile('src/demo/demo.js', 'utf8'));
  });

  it('needs nothing its policy forbids: one module script, one style sheet, no inline script, handler or style', async () => {
    const html = (await get({ DEMO_ENABLED: 'true' }, '/demo')).body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => [m[1]!.trim(), m[2]!.trim()])).toEqual([['type="module" src="/demo/demo.js"', '']]);
    expect([...html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*>/g)].map((m) => m[0])).toEqual([
      '<link rel="stylesheet" href="/demo/demo.css">',
    ]);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('the script calls only the public API, and never writes markup from data', async () => {
    const js = await readFile('src/demo/demo.js', 'utf8');
    const code = js.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const paths = [...code.matchAll(/[`'](\/[^`'$]*)/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) expect(path).toMatch(/^\/v1\/[a-z-]+/);
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    // The token comes from the fragment, never from the query string.
    expect(js).toContain('location.hash');
    expect(js).not.toMatch(/location\.search/);
  });

  it('is not part of the OpenAPI document', async () => {
    const res = await get({ DEMO_ENABLED: 'true' }, '/openapi.json');
    const paths = Object.keys((res.json() as { paths: Record<string, unknown> }).paths);
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p) => p.startsWith('/demo'))).toEqual([]);
  });

  it('listens for exactly the event types the feed sends (its list is a copy, the page has no build step)', async () => {
    const script = await readFile(new URL('../../src/demo/demo.js', import.meta.url), 'utf8');
    const list = /const EVENT_TYPES = \[([^\]]*)\]/.exec(script)?.[1];
    expect(list, 'demo.js declares EVENT_TYPES').toBeDefined();
    const types = [...(list ?? '').matchAll(/'([a-z._]+)'/g)].map((m) => m[1]);
    expect(types).toEqual([...EVENT_TYPES]);
  });
});

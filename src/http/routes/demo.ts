import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The browser demo at /demo (DEMO_ENABLED): two people chatting live, with nothing but the public
 * API. Three files from src/demo, served as they are (no bundler): the page, one ES module and a
 * style sheet, read once when the app starts. The page is static, so a strict Content Security
 * Policy holds: only this origin's script, style and API, no inline script, no framing. The
 * caller's token travels in the URL fragment, which browsers never send, so it stays out of
 * request logs; the page itself sends it only in Authorization.
 */

const DIR = new URL('../../demo/', import.meta.url);

const FILES = [
  { path: '/demo/demo.js', file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  { path: '/demo/demo.css', file: 'demo.css', type: 'text/css; charset=utf-8' },
] as const;

export const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'content-security-policy': DEMO_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Always revalidate: the files change with the build, and are small.
  'cache-control': 'no-cache',
};

export const demoRoutes: FastifyPluginAsync = async (app) => {
  const page = await readFile(new URL('index.html', DIR), 'utf8');
  const assets = await Promise.all(
    FILES.map(async (f) => ({ ...f, body: await readFile(new URL(f.file, DIR), 'utf8') })),
  );

  for (const path of ['/demo', '/demo/']) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.headers(HEADERS).type('text/html; charset=utf-8').send(page),
    );
  }
  for (const asset of assets) {
    app.get(asset.path, { schema: { hide: true } }, async (_request, reply) =>
      reply.headers(HEADERS).type(asset.type).send(asset.body),
    );
  }
};

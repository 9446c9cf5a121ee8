import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Api } from './support.js';

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** A raw HTTP client reading a Server-Sent Events stream over a real socket (inject cannot stream). */
export async function openStream(
  api: Api,
  path: string,
  headers: Record<string, string>,
  opts: { paused?: boolean } = {},
) {
  if (!api.app.server.listening) await api.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = api.app.server.address() as AddressInfo;
  const events: SseEvent[] = [];
  let raw = '';
  let text = '';
  let ended = false;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } });
    req.on('response', resolve).on('error', reject).end();
  });
  const closed = new Promise<void>((resolve) => {
    res.on('close', () => {
      ended = true;
      resolve();
    });
    res.on('error', () => resolve());
  });
  if (opts.paused) res.socket.pause();
  else {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      raw += chunk;
      text += chunk;
      let cut = raw.indexOf('\n\n');
      while (cut >= 0) {
        const block = raw.slice(0, cut);
        raw = raw.slice(cut + 2);
        const e: SseEvent = {};
        for (const line of block.split('\n')) {
          const m = /^(id|event|data): ?(.*)$/.exec(line);
          if (m) e[m[1] as keyof SseEvent] = m[2];
        }
        if (e.event || e.id) events.push(e);
        cut = raw.indexOf('\n\n');
      }
    });
  }
  const waitFor = async (predicate: (list: SseEvent[]) => boolean, ms = 10_000) => {
    const until = Date.now() + ms;
    while (!predicate(events)) {
      if (Date.now() > until) throw new Error(`timed out; got ${JSON.stringify(events.map((e) => e.event))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    res,
    events,
    closed,
    waitFor,
    get ended() {
      return ended;
    },
    get text() {
      return text;
    },
    close: () => res.destroy(),
  };
}

export const bearer = async (api: Api, sub: string) => ({ authorization: `Bearer ${await api.token(sub)}` });

import { type AddressInfo, connect, type Socket } from 'node:net';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import { buildApp, type App } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { testConfig, type Env } from '../http/support.js';

/**
 * Raw HTTP/1.1 over node:net against a server listening on 127.0.0.1, for what inject cannot
 * show: timeouts, parse errors, connection limits, shutdown. Every wait here is bounded.
 */

export interface Listening {
  app: App;
  config: Config;
  port: number;
  close: () => Promise<void>;
}

/** An app over a memory store, listening on a free port of 127.0.0.1. `setup` may add routes first. */
export async function listen(env: Env = {}, setup?: (app: App) => void): Promise<Listening> {
  const config = testConfig(env);
  const app = buildApp({ config, store: openMemoryStore() });
  setup?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, config, port, close: () => app.close() };
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The first HTTP response in `text`, or undefined when it is not complete yet. */
export function parseResponse(text: string): ParsedResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4, end + 4 + length);
  if (Buffer.byteLength(body) < length) return undefined;
  return { status, headers, body };
}

/** Every complete response in `text`, in order. */
export function parseResponses(text: string): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let rest = text;
  for (;;) {
    const r = parseResponse(rest);
    if (!r) return out;
    out.push(r);
    const end = rest.indexOf('\r\n\r\n') + 4 + Buffer.byteLength(r.body);
    rest = rest.slice(end);
  }
}

export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received: () => string;
  /** Resolves when the server (or anyone) closed the connection, with the time it took since connecting. */
  closed: Promise<{ afterMs: number; error: string | undefined }>;
  /** Whether the connection has closed. */
  isClosed: () => boolean;
  write: (data: string) => void;
}

export function openRaw(port: number): RawConnection {
  const started = Date.now();
  const socket = connect({ host: '127.0.0.1', port });
  let data = '';
  let done = false;
  let error: string | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    data += chunk;
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  const closed = new Promise<{ afterMs: number; error: string | undefined }>((resolve) =>
    socket.on('close', () => {
      done = true;
      resolve({ afterMs: Date.now() - started, error });
    }),
  );
  return {
    socket,
    received: () => data,
    closed,
    isClosed: () => done,
    write: (chunk) => {
      if (!socket.destroyed) socket.write(chunk);
    },
  };
}

/** Resolves with `promise`, or rejects after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes `chunk` every `everyMs` until the connection closes or `maxMs` passes (bounded: it stops
 * by itself). Returns a function that stops it early.
 */
export function trickle(conn: RawConnection, chunk: string, everyMs: number, maxMs: number): () => void {
  const until = Date.now() + maxMs;
  const timer = setInterval(() => {
    if (conn.isClosed() || Date.now() > until) clearInterval(timer);
    else conn.write(chunk);
  }, everyMs);
  return () => clearInterval(timer);
}

/** The error body asserted key by key: exactly `{ error: { code, message, details } }`. */
export function errorOf(body: string): { code: string; message: string; details: Record<string, unknown> | null } {
  const parsed = JSON.parse(body) as {
    error: { code: string; message: string; details: Record<string, unknown> | null };
  };
  if (Object.keys(parsed).join() !== 'error') throw new Error(`not the error shape: ${body}`);
  if (Object.keys(parsed.error).sort().join() !== 'code,details,message')
    throw new Error(`not the error shape: ${body}`);
  return parsed.error;
}

// ---------- The real process: see test/support/process.ts ----------

export { type Exit, listeningUrl, PROCESS_ENV, type ServerProcess, spawnServer } from '../support/process.js';

import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import { buildApp, type App } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { TEST_SECRET, testConfig, type Env } from '../http/support.js';

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

// ---------- The real process ----------

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

export const PROCESS_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  NODE_ENV: 'test',
  DATABASE_TYPE: 'memory',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  LOG_PRETTY: 'false',
  AUTH_JWT_SECRET: TEST_SECRET,
  RATE_LIMIT_ENABLED: 'false',
};

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  afterMs: number;
}

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
  /** The JSON log lines so far. */
  logs: () => Record<string, unknown>[];
  /** SIGKILL, if it is still running (for finally blocks). */
  kill: () => void;
}

/** `tsx src/cli/main.ts serve` with the memory database (unless `env` says otherwise). */
export function spawnServer(env: Record<string, string> = {}): ServerProcess {
  const started = Date.now();
  const child = spawn(TSX, ['src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: { ...PROCESS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, afterMs: Date.now() - started })),
  );
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    logs,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Waits (at most 30 s) for the "polystore listening at" line and returns its url. */
export async function listeningUrl(server: ServerProcess): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = server.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('polystore listening at'));
    if (line && typeof line.url === 'string') return line.url;
    if (server.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the server did not start:\n${server.stdout().slice(-2000)}\n${server.stderr().slice(-2000)}`);
    await sleep(50);
  }
}

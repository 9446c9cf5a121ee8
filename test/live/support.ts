import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/repositories/factory.js';
import { TEST_SECRET } from '../http/support.js';
import { serverFor, testLogger } from '../support/initializer.js';
import { requiredBackends } from '../support/servers.js';
import '../support/provided-context.js';

/**
 * What the cross-instance tests share: gateway instances (buildApp, listening on loopback) over
 * one database, a Server-Sent Events reader over a real socket, scratch PostgreSQL databases,
 * and brokers of the test's own (redis-server, nats-server on a free port) that it may kill.
 */

/** The shared brokers of this machine (or TEST_REDIS_URL / TEST_NATS_URL); tests use a channel of their own on them. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

let counter = 0;
/** Unique per process and call, lower case: database names, channels. */
export const uniqueName = (prefix: string) =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when something accepts TCP connections on the port (at most `ms`). */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await sleep(50);
  }
}

/** Polls `check` until it returns a value other than undefined (at most `ms`). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Databases

/** The PostgreSQL server of the run (TEST_POSTGRES_URL, or what global setup found), or why there is none. */
export function postgresServer(): { url: string } | { skip: string } {
  const info = serverFor('postgres');
  if ('url' in info) return { url: info.url };
  if (requiredBackends().has('postgres'))
    throw new Error(`TEST_REQUIRE names postgres, but it cannot run: ${info.skip}`);
  return { skip: info.skip };
}

export interface Place {
  /** DATABASE_TYPE and DATABASE_URL of the shared database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** A database of the test's own on the PostgreSQL server: LISTEN/NOTIFY channels are per database. */
export async function scratchPostgres(serverUrl: string): Promise<Place> {
  const name = uniqueName('ps_live');
  const admin = new pg.Client({ connectionString: serverUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_TYPE: 'postgres', DATABASE_URL: url.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      c.on('error', () => undefined);
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A SQLite file in a temporary folder, for several instances at once. */
export async function scratchSqlite(): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), 'polystore-live-'));
  return {
    env: { DATABASE_TYPE: 'sqlite', DATABASE_URL: join(dir, 'live.db') },
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs `work` with an admin connection to the server (not to the scratch database). */
export async function withAdmin<T>(serverUrl: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** EVENTS_NOTIFY and what the notifier needs: the shared brokers, a channel of the test's own. */
export function notifierEnv(notifier: 'local' | 'postgres' | 'redis' | 'nats'): Record<string, string> {
  const channel = { EVENTS_NOTIFY_CHANNEL: uniqueName('ps_test') };
  switch (notifier) {
    case 'local':
      return { EVENTS_NOTIFY: 'local' };
    case 'postgres':
      return { EVENTS_NOTIFY: 'postgres', ...channel };
    case 'redis':
      return { EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: REDIS_URL, ...channel };
    case 'nats':
      return { EVENTS_NOTIFY: 'nats', EVENTS_NATS_URL: NATS_URL, ...channel };
  }
}

export async function placeFor(backend: 'sqlite' | 'postgres'): Promise<Place | { skip: string }> {
  if (backend === 'sqlite') return scratchSqlite();
  const server = postgresServer();
  return 'skip' in server ? server : scratchPostgres(server.url);
}

// ---------------------------------------------------------------------------------------------
// Gateway instances

export interface Instance {
  name: string;
  app: App;
  config: Config;
  /** http://127.0.0.1:port */
  url: string;
  /** Every log line (info and up), parsed. */
  logs: Record<string, unknown>[];
  token(sub: string): Promise<string>;
  /** A JSON request as `sub` through inject. */
  call(sub: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<Reply>;
  ready(): Promise<{ status: string; database: string; notifier: { type: string; state: string; since: string } }>;
  close(): Promise<void>;
}

/** Parsed JSON, as loosely typed as JSON.parse gives it: tests assert its values. */
type Json = ReturnType<typeof JSON.parse>;

export interface Reply {
  status: number;
  json: () => Json;
}

/**
 * A gateway instance as `polystore serve` builds one (config from the environment, its own store
 * on the shared database, migrated by whoever comes first), listening on a loopback port.
 */
export async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const config = loadConfig({
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      AUTH_JWT_SECRET: TEST_SECRET,
      RATE_LIMIT_ENABLED: 'false',
      METRICS_ENABLED: 'false',
      ...env,
    },
    dotenvPath: false,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean))
        logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const store = await openStore(config.database, testLogger);
  await store.migrator.up();
  const app = buildApp({ config, store, logger: createLogger(config, { stream: sink }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const token = (sub: string) => mintToken(config.auth, { sub });
  const call: Instance['call'] = async (sub, method, path, body) => {
    const res = await app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${await token(sub)}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: () => res.json() };
  };
  return {
    name,
    app,
    config,
    url: `http://127.0.0.1:${port}`,
    logs,
    token,
    call,
    ready: async () => {
      const res = await app.inject({ url: '/ready' });
      expect(res.statusCode).toBe(200);
      return res.json();
    },
    close: () => app.close(),
  };
}

/** The warnings an instance logged about its notifier. */
export const degradedWarnings = (instance: Instance) =>
  instance.logs.filter((l) => l.level === 40 && String(l.msg).startsWith('event notifier degraded'));

/** Waits until the instance's /ready shows the notifier in `state`. */
export function notifierState(instance: Instance, state: 'connected' | 'degraded', ms = 20_000) {
  return eventually(
    `${instance.name}'s notifier to be ${state}`,
    async () => {
      const ready = await instance.ready();
      return ready.notifier.state === state ? ready.notifier : undefined;
    },
    ms,
  );
}

/** A conversation owned by `owner` with `members`, all provisioned first; returns its id. */
export async function conversation(instance: Instance, owner: string, members: string[]): Promise<string> {
  for (const sub of [owner, ...members]) expect((await instance.call(sub, 'GET', '/v1/users/me')).status).toBe(200);
  const res = await instance.call(owner, 'POST', '/v1/conversations', { participantIds: members, title: 'live' });
  expect(res.status).toBe(201);
  return res.json().id as string;
}

export async function post(instance: Instance, sub: string, conversationId: string, text: string) {
  const res = await instance.call(sub, 'POST', `/v1/conversations/${conversationId}/messages`, {
    role: 'user',
    content: [{ type: 'text', text }],
  });
  expect(res.status).toBe(201);
  return res.json() as { id: string; createdAt: string };
}

/** The events of a conversation after `after`, as its JSON page serves them (the exact payloads). */
export async function eventsAfter(instance: Instance, sub: string, conversationId: string, after: number) {
  const res = await instance.call(sub, 'GET', `/v1/conversations/${conversationId}/events?after=${after}`);
  expect(res.status).toBe(200);
  return res.json().events as { seq: number; type: string }[];
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events over a real socket

export interface SseEvent {
  id: string;
  event: string;
  data: Json;
  /** performance.now() when the event's last byte arrived. */
  at: number;
}

export interface SseStream {
  events: SseEvent[];
  /** Waits until an event with this seq (id) arrived, and returns it. */
  waitForSeq(seq: number, ms?: number): Promise<SseEvent>;
  close(): void;
}

export async function openSse(instance: Instance, sub: string, conversationId: string, after = 0): Promise<SseStream> {
  const url = new URL(`${instance.url}/v1/conversations/${conversationId}/events?after=${after}`);
  const token = await instance.token(sub);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
    req.on('response', resolve).on('error', reject).end();
  });
  expect(res.statusCode).toBe(200);
  const events: SseEvent[] = [];
  let buffer = '';
  res.setEncoding('utf8');
  res.on('error', () => undefined);
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const m = /^(id|event|data): ?(.*)$/.exec(line);
        if (m) fields[m[1]!] = m[2]!;
      }
      if (fields.id !== undefined && fields.data !== undefined)
        events.push({
          id: fields.id,
          event: fields.event ?? 'message',
          data: JSON.parse(fields.data),
          at: performance.now(),
        });
      cut = buffer.indexOf('\n\n');
    }
  });
  return {
    events,
    waitForSeq: (seq, ms = 10_000) =>
      eventually(
        `event ${seq} on ${instance.name}'s stream (got ${JSON.stringify(events.map((e) => e.id))})`,
        async () => events.find((e) => e.id === String(seq)),
        ms,
      ),
    close: () => res.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// Brokers of the test's own

export interface OwnBroker {
  url: string;
  port: number;
  /** Starts it (again) on its port. */
  start(): Promise<void>;
  /** SIGKILL, and waits for the process to be gone. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
}

function ownBroker(scheme: string, command: string, args: (port: number) => string[], port: number): OwnBroker {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    async start() {
      const c = spawn(command, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
      child = c;
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      c.once('error', (error) => {
        err += String(error);
      });
      try {
        await waitForPort(port);
      } catch (error) {
        c.kill('SIGKILL');
        throw new Error(`${command} did not start on ${port}: ${String(error)} ${err.slice(-500)}`);
      }
    },
    async kill() {
      const c = child;
      child = undefined;
      if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited;
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
  };
}

/** A redis-server of the test's own (no persistence), not started yet. */
export async function ownRedis(): Promise<OwnBroker> {
  const port = await freePort();
  return ownBroker(
    'redis',
    'redis-server',
    (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
    port,
  );
}

/** A nats-server of the test's own (core NATS only), not started yet. */
export async function ownNats(): Promise<OwnBroker> {
  const port = await freePort();
  return ownBroker('nats', 'nats-server', (p) => ['-a', '127.0.0.1', '-p', String(p)], port);
}

import { afterEach, describe, expect, it } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../../src/notifiers/postgres.js';
import {
  conversation,
  degradedWarnings,
  eventsAfter,
  type Instance,
  notifierState,
  openSse,
  type OwnBroker,
  ownNats,
  ownRedis,
  post,
  postgresServer,
  scratchPostgres,
  scratchSqlite,
  startInstance,
  uniqueName,
  withAdmin,
} from './support.js';

/**
 * A broker that goes away — at start, or in the middle — degrades the notifier to polling: one
 * warning per change of state, /ready still 200 with `degraded`, events still delivered (every
 * EVENTS_DEGRADED_POLL_MS, 200 ms here), and once the broker is back the notifier is `connected`
 * again and wake-ups work. Streams' own poll (EVENTS_POLL_MS) is 60 s, so an event within seconds
 * came from the degraded poll or from a wake-up. The brokers are the test's own (redis-server,
 * nats-server on a free port); PostgreSQL's is the listener's connection to a scratch database of
 * the test's own, cut by refusing connections to that database and terminating the listeners.
 */

const ENV = { EVENTS_POLL_MS: '60000', EVENTS_DEGRADED_POLL_MS: '200' };
const FAST_MS = 5000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** The subscriber on B sees the next post made on A within `ms`; returns the event. */
async function delivered(a: Instance, b: Instance, id: string, text: string, ms = FAST_MS) {
  const known = await eventsAfter(a, 'owner', id, 0);
  const stream = await openSse(b, 'member', id, known.length);
  try {
    const started = performance.now();
    await post(a, 'owner', id, text);
    const event = await stream.waitForSeq(known.length + 1, ms);
    expect(event.event).toBe('message.created');
    expect(event.data.data.message.content).toEqual([{ type: 'text', text }]);
    return performance.now() - started;
  } finally {
    stream.close();
  }
}

/** Holds one subscriber on B open from before the outage to after it, to check that nothing is lost. */
async function longSubscriber(b: Instance, id: string) {
  const known = await eventsAfter(b, 'member', id, 0);
  const stream = await openSse(b, 'member', id, 0);
  await stream.waitForSeq(known.length);
  cleanups.push(async () => stream.close());
  return stream;
}

describe.each([
  { name: 'redis', broker: ownRedis, env: (url: string) => ({ EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: url }) },
  { name: 'nats', broker: ownNats, env: (url: string) => ({ EVENTS_NOTIFY: 'nats', EVENTS_NATS_URL: url }) },
])('$name notifier outages (a broker of the test’s own)', ({ name, broker: makeBroker, env }) => {
  it('starts without its broker, connects when it comes, degrades when it is killed, recovers when it is back', async () => {
    const broker: OwnBroker = await makeBroker();
    cleanups.push(() => broker.kill());
    const place = await scratchSqlite();
    cleanups.push(() => place.drop());
    const settings = { ...place.env, ...ENV, ...env(broker.url), EVENTS_NOTIFY_CHANNEL: uniqueName('ps_out') };

    // The broker is not running yet: the instances start and serve anyway.
    const a = await startInstance('A', settings);
    cleanups.push(() => a.close());
    const b = await startInstance('B', settings);
    cleanups.push(() => b.close());
    for (const instance of [a, b]) {
      expect((await instance.ready()).notifier).toMatchObject({ type: name, state: 'degraded' });
      expect(degradedWarnings(instance)).toHaveLength(1);
    }
    expect(degradedWarnings(b)[0]).toMatchObject({ notifier: name, where: `${broker.url}` });
    const id = await conversation(a, 'owner', ['member']);
    const kept = await longSubscriber(b, id);
    expect(await delivered(a, b, id, 'before the broker')).toBeLessThan(FAST_MS);

    await broker.start();
    const connected = await notifierState(b, 'connected');
    await notifierState(a, 'connected');
    expect(Date.parse(connected.since)).toBeGreaterThan(Number(degradedWarnings(b)[0]!.time));
    expect(b.logs.some((l) => l.msg === 'event notifier connected again')).toBe(true);
    expect(await delivered(a, b, id, 'through the broker')).toBeLessThan(FAST_MS);

    // Killed mid-run: one more warning each, however many reconnections fail meanwhile.
    await broker.kill();
    await notifierState(b, 'degraded');
    await notifierState(a, 'degraded');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // several failed reconnections
    for (const instance of [a, b]) expect(degradedWarnings(instance)).toHaveLength(2);
    expect(await delivered(a, b, id, 'while the broker is down')).toBeLessThan(FAST_MS);

    await broker.start();
    await notifierState(b, 'connected');
    await notifierState(a, 'connected');
    expect(await delivered(a, b, id, 'after the broker came back')).toBeLessThan(FAST_MS);
    for (const instance of [a, b]) expect(degradedWarnings(instance)).toHaveLength(2);

    // The subscriber that stayed open all along got every event once, in order.
    const all = await eventsAfter(b, 'member', id, 0);
    await kept.waitForSeq(all.length);
    expect(kept.events.map((e) => e.data)).toEqual(all);
  }, 90_000);
});

describe.each([
  { name: 'redis', broker: ownRedis, env: (url: string) => ({ EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: url }) },
  { name: 'nats', broker: ownNats, env: (url: string) => ({ EVENTS_NOTIFY: 'nats', EVENTS_NATS_URL: url }) },
])('$name notifier and a frozen broker', ({ broker: makeBroker, env }) => {
  it('notices a broker that stops answering (SIGSTOP) by its ping, and recovers when it runs again', async () => {
    const broker = await makeBroker();
    await broker.start();
    cleanups.push(() => broker.kill());
    cleanups.push(async () => broker.thaw());
    const place = await scratchSqlite();
    cleanups.push(() => place.drop());
    const settings = { ...place.env, ...ENV, ...env(broker.url), EVENTS_NOTIFY_CHANNEL: uniqueName('ps_frozen') };
    const a = await startInstance('A', settings);
    cleanups.push(() => a.close());
    const b = await startInstance('B', settings);
    cleanups.push(() => b.close());
    await notifierState(b, 'connected');
    const id = await conversation(a, 'owner', ['member']);

    broker.freeze();
    const frozenAt = Date.now();
    // The connections stay open; only the ping (every 5 s, 5 s to answer) can tell.
    await notifierState(b, 'degraded', 20_000);
    expect(Date.now() - frozenAt).toBeGreaterThan(3000);
    expect(degradedWarnings(b)).toHaveLength(1);
    expect(await delivered(a, b, id, 'while the broker is frozen')).toBeLessThan(FAST_MS);

    broker.thaw();
    await notifierState(b, 'connected', 30_000);
    await notifierState(a, 'connected', 30_000);
    expect(await delivered(a, b, id, 'after the thaw')).toBeLessThan(FAST_MS);
  }, 90_000);
});

describe('postgres notifier outage (the listener’s connection to a scratch database)', () => {
  it('degrades while the listener cannot connect, delivers by polling, recovers when it can', async (ctx) => {
    const server = postgresServer();
    if ('skip' in server) return ctx.skip(server.skip);
    const place = await scratchPostgres(server.url);
    cleanups.push(() => place.drop());
    const database = new URL(place.env.DATABASE_URL!).pathname.slice(1);
    const settings = { ...place.env, ...ENV, EVENTS_NOTIFY: 'postgres', EVENTS_NOTIFY_CHANNEL: 'ps_outage' };
    const a = await startInstance('A', settings);
    cleanups.push(() => a.close());
    const b = await startInstance('B', settings);
    cleanups.push(() => b.close());
    for (const instance of [a, b]) expect((await instance.ready()).notifier).toMatchObject({ state: 'connected' });
    const id = await conversation(a, 'owner', ['member']);
    const kept = await longSubscriber(b, id);
    expect(await delivered(a, b, id, 'listening')).toBeLessThan(FAST_MS);

    // New connections to the scratch database are refused (the stores keep their open pooled
    // ones), and the listeners' backends are terminated.
    const allow = (on: boolean) =>
      withAdmin(server.url, (c) => c.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS ${on}`));
    await allow(false);
    cleanups.push(() => allow(true).then(() => undefined));
    const terminated = await withAdmin(server.url, (c) =>
      c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [
        database,
        LISTENER_APPLICATION_NAME,
      ]),
    );
    expect(terminated.rowCount).toBe(2);
    await notifierState(b, 'degraded');
    await notifierState(a, 'degraded');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const instance of [a, b]) expect(degradedWarnings(instance)).toHaveLength(1);
    expect(degradedWarnings(b)[0]).toMatchObject({ notifier: 'postgres' });
    expect(await delivered(a, b, id, 'while nobody listens')).toBeLessThan(FAST_MS);

    await allow(true);
    await notifierState(b, 'connected');
    await notifierState(a, 'connected');
    expect(await delivered(a, b, id, 'listening again')).toBeLessThan(FAST_MS);
    const all = await eventsAfter(b, 'member', id, 0);
    await kept.waitForSeq(all.length);
    expect(kept.events.map((e) => e.data)).toEqual(all);
  }, 90_000);
});

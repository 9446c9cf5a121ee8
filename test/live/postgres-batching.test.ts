import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { decodePayload } from '../../src/notifiers/broker.js';
import { createNotifier, type LiveNotifier } from '../../src/notifiers/index.js';
import { eventually, postgresServer, scratchPostgres, type Place } from './support.js';

/**
 * The postgres notifier coalesces: the conversations written within one tick go out in one
 * statement, as few NOTIFY payloads as fit (each under PostgreSQL's 8000-byte limit). Observed
 * by a plain LISTEN connection of the test's own on a scratch database.
 */
describe('postgres notifier batching', () => {
  let place: Place | undefined;
  let notifier: LiveNotifier | undefined;
  let listener: pg.Client | undefined;
  afterEach(async () => {
    await notifier?.close();
    await listener?.end().catch(() => undefined);
    await place?.drop();
  });

  it('sends the ids of one tick together, skipping none and repeating none', async (ctx) => {
    const server = postgresServer();
    if ('skip' in server) return ctx.skip(server.skip);
    place = await scratchPostgres(server.url);
    const config = loadConfig({ env: { ...place.env, EVENTS_NOTIFY: 'postgres' }, dotenvPath: false });
    const quiet = { info() {}, warn() {} };
    notifier = createNotifier(config.notifier, quiet);
    await notifier.start();
    expect(notifier.status().state).toBe('connected');

    const received: string[] = [];
    listener = new pg.Client({ connectionString: place.env.DATABASE_URL });
    listener.on('notification', (n) => received.push(n.payload ?? ''));
    await listener.connect();
    await listener.query('LISTEN "polystore_events"');

    const ids = Array.from({ length: 300 }, (_, i) => `0190aaaa-0000-7000-8000-${String(i).padStart(12, '0')}`);
    for (const id of ids) notifier.notify(id);
    for (const id of ids.slice(0, 10)) notifier.notify(id); // the same ids again, in the same tick
    const all = await eventually('every id to arrive', async () => {
      const got = received.flatMap((p) => decodePayload(p)?.ids ?? []);
      return got.length >= ids.length ? got : undefined;
    });
    expect(all).toEqual(ids);
    // 300 ids of 39 bytes: two payloads, not 310.
    expect(received).toHaveLength(2);
    for (const payload of received) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
  });
});

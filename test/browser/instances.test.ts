import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseType } from '../../database/registry.js';
import { type Chromium, launchChromium } from '../support/chromium.js';
import { FailoverProxy } from './failover-proxy.js';
import {
  ALICE,
  apiMessages,
  BOB,
  DemoPage,
  type Gateway,
  type SharedPlace,
  saveSideBySide,
  sharedPlace,
  startGateway,
  stopAll,
} from './support.js';

/**
 * The demo page with two gateway instances on one database, in headless Chromium: Alice's page
 * on instance A, Bob's on B, chatting live; then both pages behind a failover proxy, instance A
 * killed with SIGKILL while they stream from it, and the pages resuming on B from the last seq
 * they saw, ending with exactly the messages the API has: none missing, none twice.
 *
 * One variant is one line: the backend both instances share and the settings they run with.
 */
interface Variant {
  backend: DatabaseType;
  env: Record<string, string>;
}

/** A poll this long never fires during a test: what arrives was carried by the notifier. */
const NO_POLL = { EVENTS_POLL_MS: '60000' };

const VARIANTS: Variant[] = [
  // Two processes on one SQLite file: they see each other's events by polling the log.
  { backend: 'sqlite', env: { EVENTS_POLL_MS: '200' } },
  // The same file, woken across the processes by NATS.
  { backend: 'sqlite', env: { EVENTS_NOTIFY: 'nats', EVENTS_NATS_URL: 'nats://127.0.0.1:4222', ...NO_POLL } },
  // PostgreSQL's own LISTEN/NOTIFY, and a broker (Redis) in front of PostgreSQL.
  { backend: 'postgres', env: { EVENTS_NOTIFY: 'postgres', ...NO_POLL } },
  { backend: 'postgres', env: { EVENTS_NOTIFY: 'redis', EVENTS_REDIS_URL: 'redis://127.0.0.1:6379', ...NO_POLL } },
];

/** The live feed must bring a message typed by one person to the other within this long. */
const LIVE_MS = 1000;
/** The sidebar follows the inbox stream; across instances a wake-up may come only with a poll of the feed. */
const SIDEBAR_MS = 8000;
/** A page whose stream broke retries with a backoff that grows to 5 s. */
const RESUME_MS = 15_000;

const named = VARIANTS.map((v) => ({
  ...v,
  name: [v.backend, ...Object.entries(v.env).map(([k, value]) => `${k}=${value}`)].join(' '),
}));

describe.each(named)('the demo page on two gateway instances: $name', ({ backend, env, name }) => {
  let place: SharedPlace | undefined;
  let skip: string | undefined;
  let a: Gateway | undefined;
  let b: Gateway | undefined;
  let browser: Chromium | undefined;
  let proxy: FailoverProxy | undefined;

  beforeAll(async () => {
    const found = await sharedPlace(backend);
    if ('skip' in found) {
      skip = found.skip;
      return;
    }
    place = found;
    const started = await Promise.allSettled([
      startGateway('A', { ...found.env, ...env }),
      startGateway('B', { ...found.env, ...env }),
      launchChromium({ viewport: { width: 640, height: 720 } }),
    ]);
    a = started[0].status === 'fulfilled' ? started[0].value : undefined;
    b = started[1].status === 'fulfilled' ? started[1].value : undefined;
    browser = started[2].status === 'fulfilled' ? started[2].value : undefined;
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await stopAll([a, b]);
    await place?.drop();
  });

  it('a message typed at a page on one instance appears at a page on the other within a second', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const context = browser!.context;
    const bob = await DemoPage.open(context, b!.url, BOB);
    const alice = await DemoPage.open(context, a!.url, ALICE);
    try {
      const conversation = await alice.startConversation('Across instances', [BOB]);
      await bob.waitSidebar(conversation, 0, SIDEBAR_MS);
      await bob.openConversation(conversation);

      // One exchange first, untimed: the first request of each kind in a fresh process is slower.
      await alice.send('warming up');
      await bob.waitMessages({ text: 'warming up' }, 5000);
      await bob.send('warm too');
      await alice.waitMessages({ text: 'warm too' }, 5000);

      const latencies: number[] = [];
      for (let round = 1; round <= 3; round++) {
        for (const [from, to] of [
          [alice, bob],
          [bob, alice],
        ] as const) {
          const text = `round ${round} from ${from.person.name}`;
          // Timed in the browser, whose pages share one clock: submitted by one, first shown by the other.
          const submitted = await from.send(text);
          await to.waitMessages({ text }, 5000);
          const elapsed = (await to.shownAt(text)) - submitted;
          latencies.push(elapsed);
          expect(elapsed, `"${text}" took ${elapsed} ms to reach the other instance`).toBeLessThan(LIVE_MS);
        }
      }
      console.log(`[browser tests] ${backend}: sent on one instance → shown on the other: ${latencies.join(', ')} ms`);
      await bob.waitAuthor('round 3 from Bob', 'Bob');
      await alice.waitAuthor('round 3 from Alice', 'Alice');
      const latest = (await bob.messages()).at(-1)!;
      expect(latest).toMatchObject({ text: 'round 3 from Bob', authorId: 'bob', author: 'Bob' });
      expect((await alice.messages()).at(-2)).toMatchObject({ text: 'round 3 from Alice', author: 'Alice' });

      await alice.edit('round 1 from Alice', 'round 1 from Alice, edited on A');
      await bob.waitMessages({ text: 'round 1 from Alice, edited on A' }, 5000);
      await bob.delete('round 2 from Bob');
      await alice.waitMessages({ text: 'message deleted', deleted: true }, 5000);
      await bob.waitSidebar(conversation, 8, SIDEBAR_MS);

      // Both pages show exactly what either instance answers.
      const stored = await apiMessages(a!.url, ALICE, conversation);
      expect(await apiMessages(b!.url, BOB, conversation)).toEqual(stored);
      expect(stored.map((m) => m.deletedAt !== null)).toEqual([false, false, false, false, false, true, false, false]);
      for (const page of [alice, bob]) {
        expect((await page.messages()).map((m) => [m.id, m.version, m.deleted])).toEqual(
          stored.map((m) => [m.id, m.version, m.deletedAt !== null]),
        );
      }
      expect(alice.errors).toEqual([]);
      expect(bob.errors).toEqual([]);
    } finally {
      await alice.page.close();
      await bob.page.close();
    }
  }, 90_000);

  // Last in this describe: it kills instance A.
  it('kill -9 of the instance both pages stream from: they resume on the other, no message missing or twice', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const context = browser!.context;
    proxy = new FailoverProxy([a!.url, b!.url]);
    const origin = await proxy.start();
    const bob = await DemoPage.open(context, origin, BOB);
    const alice = await DemoPage.open(context, origin, ALICE);

    const conversation = await alice.startConversation('Failover', [BOB]);
    await bob.waitSidebar(conversation, 0, SIDEBAR_MS);
    await bob.openConversation(conversation);
    const streamsOf = (gateway: Gateway) =>
      proxy!.streamsTo(gateway.url).filter((r) => r.path.startsWith(`/v1/conversations/${conversation}/events?`));
    expect(streamsOf(a!)).toHaveLength(2);
    expect(streamsOf(b!)).toHaveLength(0);

    const texts: string[] = [];
    const post = async (text: string) => {
      await alice.send(text);
      texts.push(text);
    };
    for (let i = 1; i <= 3; i++) await post(`before the kill ${i}`);
    await bob.waitMessages({ text: 'before the kill 3' }, 5000);
    expect(await bob.status()).toEqual({ state: 'live', connections: 1 });

    // Streams are refused for a moment, so that messages are written while no page has a stream:
    // the resume must bring them from the log, on the other instance.
    proxy.refuseStreams = true;
    const exit = await a!.kill9();
    // tsx, which ran it, reports a child killed by SIGKILL as 128 + 9; the process is gone.
    expect(exit.code).toBe(137);
    expect(() => process.kill(a!.pid, 0)).toThrow(/ESRCH/);
    await bob.page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    const postsBefore = proxy.routed.length;
    for (let i = 1; i <= 3; i++) await post(`while A is dead ${i}`);
    expect((await bob.messages()).map((m) => m.text)).toEqual(texts.slice(0, 3));

    proxy.refuseStreams = false;
    for (let i = 1; i <= 3; i++) await post(`after the kill ${i}`);
    await bob.waitMessages({ text: 'after the kill 3' }, RESUME_MS);
    await Promise.all([bob.waitLive(RESUME_MS), alice.waitLive(RESUME_MS)]);
    // Every post after the kill went to B, and both pages stream from B now.
    const posts = proxy.routed.slice(postsBefore).filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
    expect(posts.map((r) => [r.target, r.status])).toEqual(Array(6).fill([b!.url, 201]));
    expect(streamsOf(b!).length).toBeGreaterThanOrEqual(2);
    expect((await bob.status()).connections).toBeGreaterThanOrEqual(2);

    const stored = await apiMessages(b!.url, BOB, conversation);
    expect(stored.map((m) => m.content[0]?.text)).toEqual(texts);
    for (const page of [alice, bob]) {
      const shown = await page.messages();
      const ids = shown.map((m) => m.id);
      expect(new Set(ids).size, `${page.person.name}'s page shows a message twice`).toBe(ids.length);
      expect(ids, `${page.person.name}'s page`).toEqual(stored.map((m) => m.id));
      // The streams (A's, then B's after the resume) delivered the log from the head the page
      // opened at (seq 1, conversation.created) to its end: nothing repeated, no seq skipped.
      const feed = await page.feed();
      expect(feed, `${page.person.name}'s feed`).toMatchObject({ repeated: 0, skipped: 0, lastSeq: texts.length + 1 });
      // No reset either (only a pruned or unknown position causes one, neither happens here):
      // every message came through the feed, each with its own seq, in order.
      expect(feed.resets, `${page.person.name}'s resets`).toBe(0);
      expect(feed.received).toBe(texts.length);
      expect(shown.map((m) => m.seq)).toEqual(texts.map((_, i) => i + 2));
    }

    await saveSideBySide(context, [alice, bob], `demo-failover-${name.replace(/[^A-Za-z0-9]+/g, '-')}`);
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 120_000);
});

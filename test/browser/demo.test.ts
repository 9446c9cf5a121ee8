import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../support/chromium.js';
import { ALICE, apiMessages, BOB, DemoPage, type Gateway, saveSideBySide, startGateway } from './support.js';

/**
 * The demo page in headless Chromium against one real gateway process on SQLite: Alice and Bob,
 * each in a page of their own, chat through the page's forms and buttons only. What one does
 * shows up at the other live: messages within a second, with their author; edits and deletions;
 * new conversations and activity in the sidebar.
 */

/** The live feed must bring a message typed by one person to the other within this long. */
const LIVE_MS = 1000;
/** The sidebar follows the inbox stream; allow for a poll of the feed (EVENTS_POLL_MS) and a slow machine. */
const SIDEBAR_MS = 8000;

describe('the demo page, two people on one gateway (SQLite, headless Chromium)', () => {
  let dir = '';
  let gateway: Gateway | undefined;
  let browser: Chromium | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polystore-demo-'));
    const [started, launched] = await Promise.allSettled([
      startGateway('sqlite', { DATABASE_TYPE: 'sqlite', DATABASE_URL: join(dir, 'demo.db') }),
      launchChromium({ viewport: { width: 640, height: 720 } }),
    ]);
    // Whatever started is kept, so that afterAll stops it even when the other failed.
    gateway = started.status === 'fulfilled' ? started.value : undefined;
    browser = launched.status === 'fulfilled' ? launched.value : undefined;
    for (const s of [started, launched]) if (s.status === 'rejected') throw s.reason;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a message typed by one appears at the other within a second; edits, deletions and the sidebar follow', async () => {
    const context = browser!.context;
    const origin = gateway!.url;
    // Bob signs in first: he is then a user Alice can invite.
    const bob = await DemoPage.open(context, origin, BOB);
    const alice = await DemoPage.open(context, origin, ALICE);

    const lisbon = await alice.startConversation('Trip to Lisbon', [BOB]);
    // Bob did nothing: his sidebar shows the new conversation by itself.
    await bob.waitSidebar(lisbon, 0, SIDEBAR_MS);
    expect(await bob.sidebar()).toEqual([{ id: lisbon, title: 'Trip to Lisbon', messageCount: 0 }]);
    await bob.openConversation(lisbon);

    const hello = 'Olá Bob! 👋 <b>not bold</b>';
    // Timed in the browser, whose pages share one clock: from Alice's page submitting the message
    // to Bob's page first showing it.
    const submitted = await alice.send(hello);
    await bob.waitMessages({ text: hello }, 5000);
    const elapsed = (await bob.shownAt(hello)) - submitted;
    console.log(`[browser tests] sent by Alice → shown to Bob: ${elapsed} ms`);
    expect(elapsed, `the message took ${elapsed} ms to reach the other page`).toBeLessThan(LIVE_MS);
    expect(elapsed).toBeGreaterThan(0);
    await bob.waitAuthor(hello, 'Alice');
    const [received] = await bob.messages();
    expect(received).toMatchObject({
      text: hello,
      authorId: 'alice',
      author: 'Alice',
      deleted: false,
      edited: false,
      version: 1,
    });
    // Markup in a message is text, and only its author gets the Edit and Delete buttons.
    expect(await bob.page.locator('#messages b').count()).toBe(0);
    expect(await bob.message(hello).locator('.actions').isHidden()).toBe(true);
    expect(await alice.message(hello).locator('.actions').isVisible()).toBe(true);

    // The other way round, and the sidebar of the open conversation follows its activity.
    await bob.send('Tudo bem, Alice!');
    await alice.waitMessages({ text: 'Tudo bem, Alice!' }, LIVE_MS * 2);
    await alice.waitAuthor('Tudo bem, Alice!', 'Bob');
    await bob.waitSidebar(lisbon, 2, 5000);
    expect((await alice.messages()).map((m) => [m.author, m.text])).toEqual([
      ['Alice', hello],
      ['Bob', 'Tudo bem, Alice!'],
    ]);

    // An edit propagates, with its new version.
    await alice.edit(hello, 'Olá Bob! (edited)');
    await bob.waitMessages({ text: 'Olá Bob! (edited)' }, 5000);
    expect((await bob.messages())[0]).toMatchObject({ id: received!.id, edited: true, version: 2 });

    // So does a deletion: the tombstone keeps its place.
    const deletedId = await alice.delete('Olá Bob! (edited)');
    await bob.waitMessages({ text: 'message deleted', deleted: true }, 5000);
    expect((await bob.messages()).map((m) => [m.id, m.text, m.deleted])).toEqual([
      [deletedId, 'message deleted', true],
      [(await alice.messages())[1]!.id, 'Tudo bem, Alice!', false],
    ]);

    // Activity in a conversation Bob does not have open: it comes first in his sidebar, with its count.
    const dinner = await alice.startConversation('Dinner', [BOB]);
    await alice.send('Sushi tonight?');
    await bob.waitSidebar(dinner, 1, SIDEBAR_MS);
    expect((await bob.sidebar()).map((c) => [c.title, c.messageCount])).toEqual([
      ['Dinner', 1],
      ['Trip to Lisbon', 2],
    ]);

    // Bob's page shows exactly the conversation the API has, having read its log once, in order:
    // created (1), Alice's message (2), Bob's (3), the edit (4), the deletion (5).
    const stored = await apiMessages(origin, BOB, lisbon);
    expect((await bob.messages()).map((m) => [m.id, m.version])).toEqual(stored.map((m) => [m.id, m.version]));
    const feed = await bob.feed();
    expect(feed).toMatchObject({ repeated: 0, skipped: 0, lastSeq: 5 });
    // Without a reset (which makes the page re-read the messages instead), each event is in the DOM.
    if (feed.resets === 0) expect((await bob.messages()).map((m) => m.seq)).toEqual([5, 3]);
    else console.warn(`[browser tests] Bob's page got a reset: ${JSON.stringify(feed)}`);

    await alice.openConversation(lisbon);
    await saveSideBySide(context, [alice, bob], 'demo-alice-and-bob');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 90_000);
});

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../support/chromium.js';
import {
  ALICE,
  BOB,
  DemoPage,
  type Gateway,
  type Person,
  type SharedPlace,
  saveSideBySide,
  sharedPlace,
  startGateway,
  stopAll,
  tokenFor,
} from './support.js';

/**
 * A streamed message in the demo page, headless Chromium: the test is the producer (Alice, an
 * assistant's generator) and streams a reply over real HTTP — post `in_progress`, append in
 * steps, finish — while Bob's page shows it. Bob's page must show the text growing (only ever a
 * prefix of what was appended, never shrinking), then exactly the final text with the streaming
 * marker gone; a page opened mid-stream must reach exactly the whole text while the message is
 * still in progress (the deltas alone, no final event to settle it); and a stream left idle
 * must show as incomplete, naming its reason.
 *
 * On one gateway, and on two sharing one SQLite file woken by NATS (the producer on one, Bob's
 * page on the other: deltas cross instances by the broker).
 */

interface Variant {
  name: string;
  instances: 1 | 2;
  env: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: 'one gateway (SQLite)', instances: 1, env: {} },
  {
    name: 'two gateways on one SQLite file, NATS',
    instances: 2,
    env: { EVENTS_NOTIFY: 'nats', EVENTS_NATS_URL: 'nats://127.0.0.1:4222', EVENTS_POLL_MS: '60000' },
  },
];

/** Each append must show in the other page within this long (deltas are sent at once). */
const STEP_MS = 5000;
/** The short idle timeout of the gateway the interrupted-stream case runs on. */
const IDLE_MS = 1500;

const codePoints = (s: string) => [...s].length;

/** The producer: the HTTP API as `person`, the way a generator streams. */
class Producer {
  private constructor(
    private readonly origin: string,
    private readonly token: string,
  ) {}

  static async as(origin: string, person: Person): Promise<Producer> {
    return new Producer(origin, await tokenFor(person));
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Starts a conversation with `people` (each provisioned first, by a request of their own). */
  async conversationWith(title: string, people: Person[]): Promise<string> {
    for (const person of people) {
      const me = await fetch(`${this.origin}/v1/users/me`, {
        headers: { authorization: `Bearer ${await tokenFor(person)}` },
      });
      expect(me.status).toBe(200);
    }
    const res = await this.call('POST', '/v1/conversations', { title, participantIds: people.map((p) => p.id) });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    return res.json.id as string;
  }

  /** Posts an empty assistant message in_progress; returns its id. */
  async startStream(conversationId: string): Promise<string> {
    const res = await this.call('POST', `/v1/conversations/${conversationId}/messages`, {
      role: 'assistant',
      status: 'in_progress',
      content: [{ type: 'text', text: '' }],
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.status).toBe('in_progress');
    return res.json.id as string;
  }

  /** Appends `text` at `offset`; checks the answer names where the text ends now. */
  async append(conversationId: string, messageId: string, offset: number, text: string): Promise<number> {
    const res = await this.call('POST', `/v1/conversations/${conversationId}/messages/${messageId}/append`, {
      offset,
      text,
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.offset).toBe(offset + codePoints(text));
    return res.json.offset as number;
  }

  async finish(conversationId: string, messageId: string): Promise<Record<string, unknown>> {
    const res = await this.call('POST', `/v1/conversations/${conversationId}/messages/${messageId}/finish`, {
      status: 'completed',
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.json;
  }
}

/** The little of the DOM the in-page functions below use (the tests compile without the DOM's types). */
interface PageNode {
  getAttribute(name: string): string | null;
  querySelector(selector: string): (PageNode & { textContent: string | null; hidden: boolean }) | null;
  classList: { contains(name: string): boolean };
}
interface PageGlobals {
  document: { querySelector(selector: string): PageNode | null };
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
  streamSeen?: string[];
}

/** One message as the page shows it, with what it says about its stream. */
interface StreamShown {
  text: string;
  status: string | null;
  statusReason: string | null;
  label: string | null;
  labelHidden: boolean;
  streaming: boolean;
  incomplete: boolean;
  busy: string | null;
  version: number;
}

async function shownMessage(page: DemoPage, messageId: string): Promise<StreamShown | null> {
  return page.page.evaluate((id) => {
    const doc = (globalThis as unknown as PageGlobals).document;
    const item = doc.querySelector(`#messages li[data-message-id="${id}"]`);
    if (!item) return null;
    const text = item.querySelector('.text');
    const label = item.querySelector('.stream-state');
    return {
      text: text?.textContent ?? '',
      status: item.getAttribute('data-status'),
      statusReason: item.getAttribute('data-status-reason'),
      label: label?.textContent ?? null,
      labelHidden: label?.hidden ?? true,
      streaming: item.classList.contains('streaming'),
      incomplete: item.classList.contains('incomplete'),
      busy: text?.getAttribute('aria-busy') ?? null,
      version: Number(item.getAttribute('data-version')),
    };
  }, messageId);
}

/** Waits until the page shows the message with exactly this text and status. */
async function waitShown(page: DemoPage, messageId: string, text: string, status: string, timeoutMs: number) {
  try {
    await page.page.waitForFunction(
      ({ id, text, status }) => {
        const doc = (globalThis as unknown as PageGlobals).document;
        const item = doc.querySelector(`#messages li[data-message-id="${id}"]`);
        return item?.getAttribute('data-status') === status && item.querySelector('.text')?.textContent === text;
      },
      { id: messageId, text, status },
      { polling: 20, timeout: timeoutMs },
    );
  } catch (error) {
    const shown = await shownMessage(page, messageId);
    throw new Error(`waiting for ${JSON.stringify({ text, status })}, the page shows ${JSON.stringify(shown)}`, {
      cause: error,
    });
  }
}

/**
 * Records every text the message shows, from now on, as the page changes it (a MutationObserver
 * in the page): the test checks each of them, not only the ones it happened to look at.
 */
async function recordTexts(page: DemoPage, messageId: string): Promise<void> {
  await page.page.evaluate((id) => {
    const g = globalThis as unknown as PageGlobals;
    g.streamSeen = [];
    const list = g.document.querySelector('#messages');
    const record = () => {
      const text = g.document.querySelector(`#messages li[data-message-id="${id}"]`)?.querySelector('.text');
      const value = text?.textContent ?? null;
      if (value !== null && g.streamSeen!.at(-1) !== value) g.streamSeen!.push(value);
    };
    new g.MutationObserver(record).observe(list, { childList: true, subtree: true, characterData: true });
    record();
  }, messageId);
}

const recorded = (page: DemoPage) => page.page.evaluate(() => (globalThis as unknown as PageGlobals).streamSeen ?? []);

async function deltaCounters(page: DemoPage) {
  const data = (name: string) => page.page.locator('body').getAttribute(`data-${name}`).then(Number);
  return {
    received: await data('deltas-received'),
    applied: await data('deltas-applied'),
    repeated: await data('deltas-repeated'),
    held: await data('deltas-held'),
    rereads: await data('rereads'),
  };
}

/** A reply in pieces as a generator produces them, with text outside the BMP and markup that must stay text. */
const PIECES = ['Sure', ' — here', ' is the plan', ' for Lisbon 🇵🇹', ': day one, ', 'Alfama <b>', 'and the tram', '.'];

describe.each(VARIANTS)('a streamed message in the demo page: $name', ({ instances, env, name }) => {
  let place: SharedPlace | undefined;
  let producerGateway: Gateway | undefined;
  let pageGateway: Gateway | undefined;
  let browser: Chromium | undefined;

  beforeAll(async () => {
    const found = await sharedPlace('sqlite');
    if ('skip' in found) throw new Error(found.skip);
    place = found;
    const started = await Promise.allSettled([
      startGateway('A', { ...found.env, ...env }),
      instances === 2 ? startGateway('B', { ...found.env, ...env }) : Promise.resolve(undefined),
      launchChromium({ viewport: { width: 640, height: 720 } }),
    ]);
    producerGateway = started[0].status === 'fulfilled' ? started[0].value : undefined;
    const second = started[1].status === 'fulfilled' ? started[1].value : undefined;
    pageGateway = second ?? producerGateway;
    browser = started[2].status === 'fulfilled' ? started[2].value : undefined;
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stopAll([producerGateway, pageGateway === producerGateway ? undefined : pageGateway]);
    await place?.drop();
  });

  it('the other page shows the reply growing as it is appended, then exactly the final text', async () => {
    const context = browser!.context;
    const bob = await DemoPage.open(context, pageGateway!.url, BOB);
    const alice = await Producer.as(producerGateway!.url, ALICE);
    const conversation = await alice.conversationWith('A streamed reply', [BOB]);
    await bob.waitSidebar(conversation, 0, 8000);
    await bob.openConversation(conversation);

    const id = await alice.startStream(conversation);
    await waitShown(bob, id, '', 'in_progress', STEP_MS);
    await recordTexts(bob, id);
    let sent = '';
    for (const [i, piece] of PIECES.entries()) {
      await alice.append(conversation, id, codePoints(sent), piece);
      sent += piece;
      await waitShown(bob, id, sent, 'in_progress', STEP_MS);
      expect(await shownMessage(bob, id)).toMatchObject({
        text: sent,
        streaming: true,
        incomplete: false,
        label: 'streaming…',
        labelHidden: false,
        busy: 'true',
      });
      // Past one STREAM_FLUSH_INTERVAL_MS (250 ms): the text is written, and the write's delta
      // repeats it from the previous write's end — the page must skip what it holds.
      if (i === 3) await sleep(600);
      if (i === 4) await saveSideBySide(context, [bob], `demo-streaming-${name.replace(/[^A-Za-z0-9]+/g, '-')}`);
    }
    // A retry of an append already taken (a producer's timeout) changes nothing on the page.
    const retried = await alice.call('POST', `/v1/conversations/${conversation}/messages/${id}/append`, {
      offset: 0,
      text: PIECES[0],
    });
    expect(retried.json).toMatchObject({ offset: codePoints(sent), appended: 0 });
    await sleep(400);
    expect((await shownMessage(bob, id))?.text).toBe(sent);

    const final = await alice.finish(conversation, id);
    await waitShown(bob, id, sent, 'completed', STEP_MS);
    expect(await shownMessage(bob, id)).toEqual({
      text: sent,
      status: 'completed',
      statusReason: '',
      label: '',
      labelHidden: true,
      streaming: false,
      incomplete: false,
      busy: 'false',
      version: final.version,
    });
    expect(await bob.page.locator('#messages b').count()).toBe(0);

    // Every text the page showed on the way was a prefix of the reply, each longer than the one
    // before, ending with the whole reply: one step per piece at least.
    const seen = await recorded(bob);
    expect(seen.at(-1)).toBe(sent);
    for (const [i, text] of seen.entries()) {
      expect(sent.startsWith(text), `shown text ${JSON.stringify(text)} is not a prefix of the reply`).toBe(true);
      if (i > 0) expect(text.length).toBeGreaterThan(seen[i - 1]!.length);
    }
    expect(seen.length).toBeGreaterThanOrEqual(PIECES.length);
    const counters = await deltaCounters(bob);
    // One delta per append, plus the writes' own; the page added each code point once and skipped repeats.
    expect(counters.received).toBeGreaterThanOrEqual(PIECES.length);
    expect(counters.applied).toBe(codePoints(sent));
    expect(counters.repeated).toBeGreaterThanOrEqual(1);
    expect(bob.errors).toEqual([]);
    await bob.page.close();
  }, 90_000);

  it('a page opened mid-stream reaches exactly the whole text while it is still streaming, no gap, nothing twice', async () => {
    const context = browser!.context;
    const alice = await Producer.as(producerGateway!.url, ALICE);
    const conversation = await alice.conversationWith('Joined mid-stream', [BOB]);
    const id = await alice.startStream(conversation);
    let sent = '';
    const add = async (piece: string) => {
      await alice.append(conversation, id, codePoints(sent), piece);
      sent += piece;
    };
    // Some of it written before Bob looks (two flush intervals apart), some only in memory.
    for (const piece of ['Written ', 'before ', 'Bob ', 'looked; ']) {
      await add(piece);
      await sleep(300);
    }
    await add('not written yet; ');

    // Bob opens the conversation while the producer keeps appending every 30 ms.
    const bob = await DemoPage.open(context, pageGateway!.url, BOB);
    let producing = true;
    const producer = (async () => {
      for (let n = 1; producing && n <= 200; n++) {
        await add(`${n} `);
        await sleep(30);
      }
    })();
    try {
      await bob.waitSidebar(conversation, 1, 8000);
      await bob.openConversation(conversation);
      await sleep(500);
    } finally {
      producing = false;
      await producer;
    }
    await add('the end');

    // Deltas and the re-read after subscribing alone bring the whole text: the message is not finished.
    await waitShown(bob, id, sent, 'in_progress', STEP_MS);
    await sleep(600); // a write's delta that repeats text must not add it again
    expect((await shownMessage(bob, id))?.text).toBe(sent);
    const counters = await deltaCounters(bob);
    expect(counters.rereads).toBeGreaterThanOrEqual(1);

    await alice.finish(conversation, id);
    await waitShown(bob, id, sent, 'completed', STEP_MS);
    expect(await shownMessage(bob, id)).toMatchObject({ text: sent, streaming: false, labelHidden: true });
    expect(bob.errors).toEqual([]);
    await bob.page.close();
  }, 90_000);
});

describe('a streamed message left idle in the demo page (one gateway, SQLite)', () => {
  let place: SharedPlace | undefined;
  let gateway: Gateway | undefined;
  let browser: Chromium | undefined;

  beforeAll(async () => {
    const found = await sharedPlace('sqlite');
    if ('skip' in found) throw new Error(found.skip);
    place = found;
    const started = await Promise.allSettled([
      startGateway('idle', {
        ...found.env,
        STREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
        STREAM_SWEEP_INTERVAL_MS: '200',
      }),
      launchChromium({ viewport: { width: 640, height: 720 } }),
    ]);
    gateway = started[0].status === 'fulfilled' ? started[0].value : undefined;
    browser = started[1].status === 'fulfilled' ? started[1].value : undefined;
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await place?.drop();
  });

  it('shows as incomplete, interrupted, with the text it had', async () => {
    const context = browser!.context;
    const bob = await DemoPage.open(context, gateway!.url, BOB);
    const alice = await Producer.as(gateway!.url, ALICE);
    const conversation = await alice.conversationWith('A producer that went away', [BOB]);
    await bob.waitSidebar(conversation, 0, 8000);
    await bob.openConversation(conversation);
    const id = await alice.startStream(conversation);
    await alice.append(conversation, id, 0, 'Half a th');
    await alice.append(conversation, id, 9, 'ought');
    await waitShown(bob, id, 'Half a thought', 'in_progress', STEP_MS);
    expect((await shownMessage(bob, id))?.streaming).toBe(true);

    // No append for STREAM_IDLE_TIMEOUT_MS: the sweep ends it, and its message.updated reaches the page.
    await waitShown(bob, id, 'Half a thought', 'incomplete', IDLE_MS + 10_000);
    expect(await shownMessage(bob, id)).toMatchObject({
      text: 'Half a thought',
      statusReason: 'interrupted',
      label: 'incomplete: interrupted',
      labelHidden: false,
      streaming: false,
      incomplete: true,
      busy: 'false',
    });
    const refused = await alice.call('POST', `/v1/conversations/${conversation}/messages/${id}/append`, {
      offset: 14,
      text: '!',
    });
    expect(refused.status).toBe(409);
    await saveSideBySide(context, [bob], 'demo-streaming-interrupted');
    expect(bob.errors).toEqual([]);
  }, 60_000);
});

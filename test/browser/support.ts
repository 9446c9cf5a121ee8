import '../support/provided-context.js';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { backendFor, type DatabaseConfig, type DatabaseType } from '../../database/registry.js';
import { mintToken } from '../../src/http/auth/jwt.js';
import type { Scratch } from '../../src/repositories/backend.js';
import { testConfig } from '../http/support.js';
import { serverFor } from '../support/initializer.js';
import { type Exit, listeningUrl, type ServerProcess, spawnServer } from '../support/process.js';
import { requiredBackends } from '../support/servers.js';

/**
 * What the browser tests share: gateway processes serving the demo, a database place several
 * of them share, the two people and their tokens, a driver for the demo page that reads only what
 * the page shows (its DOM and data attributes), and the screenshot artifact.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Screenshots land here (gitignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** Every instance of a test signs and checks stream tickets with this, so a ticket works on any of them. */
export const STREAM_TICKET_SECRET = 'browser-tests-stream-ticket-secret-0123456789';

export interface Person {
  id: string;
  name: string;
}
export const ALICE: Person = { id: 'alice', name: 'Alice' };
export const BOB: Person = { id: 'bob', name: 'Bob' };

/** A token the test gateways accept (they run with the test secret, see test/support/process.ts). */
export const tokenFor = (person: Person) =>
  mintToken(testConfig().auth, { sub: person.id, name: person.name, expiresIn: '1h' });

// --- gateways ---

export interface Gateway {
  name: string;
  url: string;
  process: ServerProcess;
  /** The pid of the server process itself (tsx runs it as a child of its own wrapper process). */
  pid: number;
  /** SIGTERM, then SIGKILL after 15 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL to the server process (our own child's child) and the exit its wrapper reports. */
  kill9(): Promise<Exit>;
}

/**
 * The pid in the server's "listening" log line, checked to be a child of the process we spawned
 * (the tsx wrapper): signals meant for the server are sent to it, never to anything else.
 */
function serverPid(server: ServerProcess): number {
  const line = server.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('polystore listening at'));
  const pid = line?.pid;
  if (typeof pid !== 'number') throw new Error('the listening log line carries no pid');
  // /proc/<pid>/stat: "pid (command) state ppid …"
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (ppid !== server.child.pid) throw new Error(`process ${pid} is not a child of our gateway ${server.child.pid}`);
  return pid;
}

/** `polystore serve` with the demo on, as a real process on a free loopback port. */
export async function startGateway(name: string, env: Record<string, string>): Promise<Gateway> {
  const server = spawnServer({ DEMO_ENABLED: 'true', STREAM_TICKET_SECRET, ...env });
  let url: string;
  let pid: number;
  try {
    url = await listeningUrl(server);
    pid = serverPid(server);
  } catch (error) {
    server.kill();
    await server.exited;
    throw error;
  }
  const alive = () => server.child.exitCode === null && server.child.signalCode === null;
  /** The wrapper exits once the server has; killing only the wrapper would leave the server running. */
  const killBoth = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    server.kill();
  };
  return {
    name,
    url,
    process: server,
    pid,
    stop: async () => {
      if (alive()) server.child.kill('SIGTERM');
      const timer = setTimeout(killBoth, 15_000);
      await server.exited;
      clearTimeout(timer);
    },
    kill9: async () => {
      process.kill(pid, 'SIGKILL');
      const timer = setTimeout(killBoth, 10_000);
      const exit = await server.exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

/** Stops every gateway that started, whatever happened to the others. */
export async function stopAll(gateways: (Gateway | undefined)[]): Promise<void> {
  await Promise.allSettled(gateways.map((g) => g?.stop()));
}

// --- a database several processes share ---

export interface SharedPlace {
  /** DATABASE_TYPE, DATABASE_URL and MIGRATE_ON_START for every gateway on it. */
  env: Record<string, string>;
  /** What it runs against, for titles and messages. */
  source: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database place of `type` from its test kit (an SQLite file, a PostgreSQL schema,
 * …) for processes to share; `skip` when its server cannot be had here, which TEST_REQUIRE turns
 * into a failure.
 */
export async function sharedPlace(type: DatabaseType): Promise<SharedPlace | { skip: string }> {
  const backend = backendFor(type);
  if (!backend || backend.location.kind === 'none') throw new Error(`${type} cannot be shared by processes`);
  const testing = backend.testing;
  const info = testing.needs === 'server' ? serverFor(testing.server) : undefined;
  if (info && 'skip' in info) {
    if (requiredBackends().has(type)) throw new Error(`TEST_REQUIRE names ${type}, but it cannot run: ${info.skip}`);
    return { skip: info.skip };
  }
  const kit = await testing.kit();
  const scratch = (await kit.connect(info?.url)) as Scratch<DatabaseConfig>;
  const { config, drop } = await scratch.create();
  const url = config.type === 'sqlite' ? config.file : 'url' in config ? config.url : '';
  return {
    env: { DATABASE_TYPE: type, DATABASE_URL: url, MIGRATE_ON_START: 'true' },
    source: info?.source ?? 'a file',
    drop: async () => {
      try {
        await drop();
      } finally {
        await scratch.close();
      }
    },
  };
}

// --- the API, as the test reads it ---

export interface ApiMessage {
  id: string;
  authorId: string;
  content: { type: string; text?: string }[];
  deletedAt: string | null;
  editedAt: string | null;
  version: number;
}

/** Every message of a conversation, oldest first, read from `origin` as `person`. */
export async function apiMessages(origin: string, person: Person, conversationId: string): Promise<ApiMessage[]> {
  const token = await tokenFor(person);
  const all: ApiMessage[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const query = new URLSearchParams({ direction: 'newer', limit: '200', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${origin}/v1/conversations/${conversationId}/messages?${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`listing messages answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { data: ApiMessage[]; nextCursor: string | null; hasMore: boolean };
    all.push(...page.data);
    if (!page.hasMore) return all;
    cursor = page.nextCursor;
  }
  throw new Error('more than 100 pages of messages');
}

// --- the demo page ---

/** One message as the page shows it. */
export interface Shown {
  id: string;
  seq: number | null;
  authorId: string;
  author: string;
  text: string;
  deleted: boolean;
  edited: boolean;
  version: number;
}

/** The little of the DOM the page functions below use (the tests compile without the DOM's types). */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): { textContent: string | null } | null;
}

/** How long the page may take for things that do not depend on the live feed (loading, clicks). */
const UI_MS = 10_000;

/**
 * The demo page of one person, driven like a user would (typing, clicking) and read through its
 * DOM. Uncaught errors in the page are collected: a test ends by checking there were none.
 */
export class DemoPage {
  readonly errors: string[] = [];

  private constructor(
    readonly page: Page,
    readonly person: Person,
  ) {
    page.on('pageerror', (error) => this.errors.push(error.message));
  }

  /** Opens `<origin>/demo#token=…` and waits until the page says who is signed in. */
  static async open(context: BrowserContext, origin: string, person: Person): Promise<DemoPage> {
    const page = await context.newPage();
    const demo = new DemoPage(page, person);
    await page.goto(`${origin}/demo#token=${await tokenFor(person)}`, { timeout: UI_MS });
    await page.locator(`#me[data-user-id="${person.id}"]`).waitFor({ timeout: UI_MS });
    return demo;
  }

  /** Starts a conversation with the given people through the sidebar form; returns its id once it is open. */
  async startConversation(title: string, invite: Person[]): Promise<string> {
    const form = this.page.locator('#new-conversation');
    await form.locator('input[name="title"]').fill(title);
    await form.locator('input[name="participants"]').fill(invite.map((p) => p.id).join(', '));
    await form.locator('button[type="submit"]').click();
    await this.page.locator('#conversation-title', { hasText: title }).waitFor({ timeout: UI_MS });
    await this.waitLive();
    return (await this.page.locator('#conversation').getAttribute('data-conversation-id')) ?? '';
  }

  /** The sidebar entry of a conversation. */
  sidebarItem(conversationId: string) {
    return this.page.locator(`#conversations li[data-conversation-id="${conversationId}"]`);
  }

  /** The sidebar as shown: conversation ids in order, with their titles and message counts. */
  sidebar(): Promise<{ id: string; title: string; messageCount: number }[]> {
    return this.page.locator('#conversations li').evaluateAll((items: PageElement[]) =>
      items.map((item) => ({
        id: item.getAttribute('data-conversation-id') ?? '',
        title: item.querySelector('.title')?.textContent ?? '',
        messageCount: Number(item.getAttribute('data-message-count')),
      })),
    );
  }

  /** Waits until the sidebar lists the conversation with `messageCount` messages (by its own refreshes). */
  async waitSidebar(conversationId: string, messageCount: number, timeoutMs: number): Promise<void> {
    await this.page
      .locator(`#conversations li[data-conversation-id="${conversationId}"][data-message-count="${messageCount}"]`)
      .waitFor({ timeout: timeoutMs });
  }

  async openConversation(conversationId: string): Promise<void> {
    await this.sidebarItem(conversationId).locator('button').click();
    await this.page.locator(`#conversation[data-conversation-id="${conversationId}"]`).waitFor({ timeout: UI_MS });
    await this.waitLive();
  }

  /** The live stream of the open conversation is connected. */
  async waitLive(timeoutMs = UI_MS): Promise<void> {
    await this.page.locator('#status[data-state="live"]').waitFor({ timeout: timeoutMs });
  }

  /** How often the page's stream connected, and its state now. */
  async status(): Promise<{ state: string; connections: number }> {
    const status = this.page.locator('#status');
    return {
      state: (await status.getAttribute('data-state')) ?? '',
      connections: Number(await status.getAttribute('data-connections')),
    };
  }

  /**
   * What the page's streams delivered for the open conversation: events (repeats included), the
   * repeats it dropped, jumps past a missing seq, resets, and the last seq it applied.
   */
  async feed(): Promise<{ received: number; repeated: number; skipped: number; resets: number; lastSeq: number }> {
    const data = (name: string) => this.page.locator('body').getAttribute(`data-${name}`).then(Number);
    return {
      received: await data('events-received'),
      repeated: await data('events-repeated'),
      skipped: await data('events-skipped'),
      resets: await data('resets'),
      lastSeq: await data('last-seq'),
    };
  }

  /**
   * Types a message and sends it; resolves once the page shows it as posted (the API answered),
   * with the time (epoch ms, the browser's clock) the page submitted it.
   */
  async send(text: string): Promise<number> {
    const composer = this.page.locator('#composer input[name="text"]');
    await composer.fill(text);
    await composer.press('Enter');
    await this.message(text).waitFor({ timeout: UI_MS });
    return Number(await this.page.locator('#composer').getAttribute('data-submitted-at'));
  }

  /** When the page first showed the message with this text (epoch ms, the browser's clock). */
  async shownAt(text: string): Promise<number> {
    return Number(await this.message(text).getAttribute('data-shown-at'));
  }

  /** The message element whose text is exactly `text`. */
  message(text: string) {
    const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    return this.page.locator('#messages li.message').filter({ has: this.page.locator('.text', { hasText: exactly }) });
  }

  /** Waits until the message with this text names its author (the page fetches a name once per person). */
  async waitAuthor(text: string, name: string, timeoutMs = UI_MS): Promise<void> {
    await this.message(text)
      .locator('.author', { hasText: new RegExp(`^${name}$`) })
      .waitFor({ timeout: timeoutMs });
  }

  /**
   * Resolves once the page shows a message with exactly this text (and deletion state), polling
   * every 20 ms in the page, so that the time it took can be measured closely; rejects after
   * `timeoutMs`.
   */
  async waitMessages(predicate: { text: string; deleted?: boolean }, timeoutMs: number): Promise<void> {
    await this.page.waitForFunction(
      (p) => {
        const page = globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<PageElement> } };
        return Array.from(page.document.querySelectorAll('#messages li.message')).some(
          (item) =>
            item.querySelector('.text')?.textContent === p.text &&
            (p.deleted === undefined || (item.getAttribute('data-deleted') === 'true') === p.deleted),
        );
      },
      predicate,
      { polling: 20, timeout: timeoutMs },
    );
  }

  /** The messages as shown, top to bottom. */
  messages(): Promise<Shown[]> {
    return this.page.locator('#messages li.message').evaluateAll((items: PageElement[]) =>
      items.map((item) => {
        const seq = item.getAttribute('data-seq');
        return {
          id: item.getAttribute('data-message-id') ?? '',
          seq: seq === null ? null : Number(seq),
          authorId: item.getAttribute('data-author-id') ?? '',
          author: item.querySelector('.author')?.textContent ?? '',
          text: item.querySelector('.text')?.textContent ?? '',
          deleted: item.getAttribute('data-deleted') === 'true',
          edited: item.getAttribute('data-edited') === 'true',
          version: Number(item.getAttribute('data-version')),
        };
      }),
    );
  }

  /** Edits one's own message through its Edit button. */
  async edit(text: string, newText: string): Promise<void> {
    const item = this.message(text);
    await item.locator('button.edit').click();
    const input = item.locator('.edit-form input[name="text"]');
    await input.fill(newText);
    await input.press('Enter');
    await this.message(newText).waitFor({ timeout: UI_MS });
  }

  /** Deletes one's own message through its Delete button; resolves once the page shows the tombstone. */
  async delete(text: string): Promise<string> {
    const item = this.message(text);
    const id = (await item.getAttribute('data-message-id')) ?? '';
    await item.locator('button.delete').click();
    await this.page.locator(`#messages li[data-message-id="${id}"][data-deleted="true"]`).waitFor({ timeout: UI_MS });
    return id;
  }
}

/**
 * Screenshots of the pages put side by side into one image (composed by the browser itself, in a
 * page of its own), saved under test-artifacts/; returns its path.
 */
export async function saveSideBySide(context: BrowserContext, pages: DemoPage[], name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const shots = await Promise.all(pages.map((p) => p.page.screenshot()));
  const sheet = await context.newPage();
  try {
    const size = pages[0]!.page.viewportSize() ?? { width: 640, height: 720 };
    await sheet.setViewportSize({ width: size.width * pages.length + 8 * (pages.length - 1), height: size.height });
    const images = shots
      .map((shot) => `<img src="data:image/png;base64,${shot.toString('base64')}" width="${size.width}">`)
      .join('');
    await sheet.setContent(`<body style="margin:0;display:flex;gap:8px;background:#888">${images}</body>`);
    const path = join(ARTIFACTS, `${name}.png`);
    await sheet.screenshot({ path });
    console.log(`[browser tests] screenshot: ${path}`);
    return path;
  } finally {
    await sheet.close();
  }
}

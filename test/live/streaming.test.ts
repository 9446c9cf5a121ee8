import { request as httpRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  conversation,
  eventually,
  type Instance,
  notifierEnv,
  type Place,
  placeFor,
  scratchSqlite,
  startInstance,
} from './support.js';

/**
 * Streamed messages across two gateway instances on one database: deltas of appends taken by A
 * reach an SSE subscriber of B through the notifier (they are never written to the database),
 * and an instance that lost its place to the other never corrupts the message.
 */

interface Delta {
  type: string;
  messageId: string;
  offset: number;
  text: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** The `message.delta` frames of a conversation's SSE stream (they carry no id). */
async function deltaStream(instance: Instance, sub: string, conversationId: string) {
  const url = new URL(`${instance.url}/v1/conversations/${conversationId}/events`);
  const token = await instance.token(sub);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
    req.on('response', resolve).on('error', reject).end();
  });
  expect(res.statusCode).toBe(200);
  const deltas: Delta[] = [];
  let buffer = '';
  res.setEncoding('utf8');
  res.on('error', () => undefined);
  res.on('data', (chunk: string) => {
    buffer += chunk;
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!block.includes('event: message.delta')) continue;
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data) deltas.push(JSON.parse(data) as Delta);
    }
  });
  return { deltas, close: () => res.destroy() };
}

/**
 * The client's rule (README, "Streamed messages"): apply a delta that starts at or before the end
 * of the text held, skipping the part already there (which must agree); keep one that starts
 * beyond it until the gap fills. Returns the text and how many deltas still wait.
 */
function assemble(initial: string, deltas: Delta[]): { text: string; waiting: number } {
  let cps = [...initial];
  const waiting = [...deltas];
  for (
    let i = waiting.findIndex((d) => d.offset <= cps.length);
    i >= 0;
    i = waiting.findIndex((d) => d.offset <= cps.length)
  ) {
    const [d] = waiting.splice(i, 1);
    const piece = [...d!.text];
    const overlap = Math.min(piece.length, cps.length - d!.offset);
    expect(piece.slice(0, overlap).join('')).toBe(cps.slice(d!.offset, d!.offset + overlap).join(''));
    cps = [...cps, ...piece.slice(overlap)];
  }
  return { text: cps.join(''), waiting: waiting.length };
}

const streamedText = (m: { content: { type: string; text?: string }[] }) => {
  const last = m.content.at(-1);
  return last?.type === 'text' ? (last.text ?? '') : '';
};

type Variant = { notifier: 'postgres' | 'redis' | 'nats'; backend: 'sqlite' | 'postgres' };
const VARIANTS: Variant[] = [
  { notifier: 'postgres', backend: 'postgres' },
  { notifier: 'redis', backend: 'sqlite' },
  { notifier: 'nats', backend: 'sqlite' },
];

async function pair(place: Place, a: Record<string, string>, b: Record<string, string>) {
  const first = await startInstance('A', { ...place.env, ...a });
  cleanups.push(() => first.close());
  const second = await startInstance('B', { ...place.env, ...b });
  cleanups.push(() => second.close());
  return [first, second] as const;
}

describe.each(VARIANTS)('streamed messages across two instances: EVENTS_NOTIFY=$notifier on $backend', (v) => {
  it('appends taken by A reach a subscriber of B (who subscribed, then read) with no gap and no overlap', async (ctx) => {
    const place = await placeFor(v.backend);
    if ('skip' in place) return ctx.skip(place.skip);
    cleanups.push(() => place.drop());
    const env = { ...notifierEnv(v.notifier), STREAM_FLUSH_INTERVAL_MS: '30', STREAM_FLUSH_BYTES: '256' };
    const [a, b] = await pair(place, env, env);
    for (const instance of [a, b])
      expect((await instance.ready()).notifier).toMatchObject({ type: v.notifier, state: 'connected' });
    const id = await conversation(a, 'bot', ['reader']);
    const posted = await a.call('bot', 'POST', `/v1/conversations/${id}/messages`, {
      role: 'assistant',
      content: [{ type: 'text', text: '' }],
      status: 'in_progress',
    });
    expect(posted.status).toBe(201);
    const messageId = posted.json().id as string;
    const path = `/v1/conversations/${id}/messages/${messageId}`;
    const pieces = Array.from({ length: 60 }, (_, i) => `wört${i}✨ `);
    const final = pieces.join('');
    let offset = 0;
    const append = async (i: number) => {
      const res = await a.call('bot', 'POST', `${path}/append`, { offset, text: pieces[i] });
      expect(res.status).toBe(200);
      offset = res.json().offset;
    };
    for (let i = 0; i < 20; i++) await append(i);
    const onB = await deltaStream(b, 'reader', id);
    const read = streamedText((await b.call('reader', 'GET', path)).json());
    expect(final.startsWith(read)).toBe(true);
    for (let i = 20; i < pieces.length; i++) {
      await append(i);
      if (i % 10 === 0) await sleep(40);
    }
    const length = [...final].length;
    // Deltas beyond the text held wait for the delta the next write sends; the whole text is there
    // once the last append's delta and that write's arrived.
    await eventually('the whole text on B', async () =>
      assemble(
        read,
        onB.deltas.filter((d) => d.messageId === messageId),
      ).text === final
        ? true
        : undefined,
    );
    expect(onB.deltas.some((d) => d.offset + [...d.text].length === length)).toBe(true);
    expect(assemble(read, onB.deltas)).toEqual({ text: final, waiting: 0 });
    const done = await a.call('bot', 'POST', `${path}/finish`, { status: 'completed' });
    expect(done.json()).toMatchObject({ status: 'completed', content: [{ type: 'text', text: final }] });
    onB.close();
  }, 60_000);
});

describe('streamed messages: an instance that lost its place', () => {
  it('refuses the next append with the stored offset, and the message keeps only what was written', async () => {
    const place = await scratchSqlite();
    cleanups.push(() => place.drop());
    // Both write within 100 ms; only wake-ups cross (local notifier): the database is what they share.
    const env = { ...notifierEnv('local'), STREAM_FLUSH_INTERVAL_MS: '100' };
    const [a, b] = await pair(place, env, env);
    const id = await conversation(a, 'bot', []);
    const posted = await a.call('bot', 'POST', `/v1/conversations/${id}/messages`, {
      role: 'assistant',
      content: [{ type: 'text', text: '' }],
      status: 'in_progress',
    });
    const path = `/v1/conversations/${id}/messages/${posted.json().id}`;
    const stored = async () => streamedText((await a.call('bot', 'GET', path)).json());
    expect((await a.call('bot', 'POST', `${path}/append`, { offset: 0, text: 'aaa' })).json().offset).toBe(3);
    await eventually('A to write aaa', async () => ((await stored()) === 'aaa' ? true : undefined));
    // The producer's next append reaches B (no sticky routing): B takes over from the database.
    expect((await b.call('bot', 'POST', `${path}/append`, { offset: 3, text: 'bbb' })).json().offset).toBe(6);
    await eventually('B to write aaabbb', async () => ((await stored()) === 'aaabbb' ? true : undefined));
    // A still believes the text ends at 3: it takes this append, but its write finds B's version.
    expect((await a.call('bot', 'POST', `${path}/append`, { offset: 3, text: 'ccc' })).status).toBe(200);
    await sleep(400);
    const refused = await a.call('bot', 'POST', `${path}/append`, { offset: 6, text: 'ddd' });
    expect(refused.status).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'offset_gap', details: { expectedOffset: 6 } });
    expect(await stored()).toBe('aaabbb');
    // Resent from the stored offset, the stream goes on (on A, which reloaded it).
    expect((await a.call('bot', 'POST', `${path}/append`, { offset: 6, text: 'ddd' })).json().offset).toBe(9);
    const done = await a.call('bot', 'POST', `${path}/finish`, { status: 'completed' });
    expect(done.json().content).toEqual([{ type: 'text', text: 'aaabbbddd' }]);
  }, 30_000);
});

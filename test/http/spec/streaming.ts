import { describe, expect } from 'vitest';
import { bearer, openStream, type SseEvent } from '../sse-client.js';
import { conversationOf, expectError, type ApiTest, type Client } from '../support.js';

interface Delta {
  type: string;
  conversationId: string;
  messageId: string;
  offset: number;
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Posts an in_progress assistant message as `c` and returns it. */
async function startStream(c: Client, conversationId: string, extra: Record<string, unknown> = {}) {
  const res = await c.post(`/v1/conversations/${conversationId}/messages`, {
    role: 'assistant',
    content: [{ type: 'text', text: '' }],
    status: 'in_progress',
    ...extra,
  });
  expect(res.statusCode).toBe(201);
  const m = res.json() as { id: string; version: number; status: string; statusReason: string | null };
  expect([m.status, m.statusReason]).toEqual(['in_progress', null]);
  return { ...m, url: `/v1/conversations/${conversationId}/messages/${m.id}` };
}

/** The text of a message's last text part, as the database holds it now. */
async function storedText(c: Client, url: string): Promise<string> {
  const m = (await c.get(url)).json() as { content: { type: string; text?: string }[] };
  const last = m.content.at(-1);
  return last?.type === 'text' ? (last.text ?? '') : '';
}

/**
 * What a client does with deltas (README, "Streamed messages"): it holds the text up to some
 * offset and applies each delta that starts at or before its end, skipping what it has (checking
 * that the overlap agrees); one that starts beyond it waits for the gap to fill.
 */
class Assembler {
  private cps: string[];
  private readonly waiting: Delta[] = [];
  conflicts = 0;

  constructor(initial: string) {
    this.cps = [...initial];
  }

  apply(delta: Delta): void {
    this.waiting.push(delta);
    for (let progress = true; progress; ) {
      progress = false;
      for (const [i, d] of this.waiting.entries()) {
        if (d.offset > this.cps.length) continue;
        const piece = [...d.text];
        const overlap = Math.min(piece.length, this.cps.length - d.offset);
        if (piece.slice(0, overlap).join('') !== this.cps.slice(d.offset, d.offset + overlap).join(''))
          this.conflicts++;
        this.cps.push(...piece.slice(overlap));
        this.waiting.splice(i, 1);
        progress = true;
        break;
      }
    }
  }

  get text(): string {
    return this.cps.join('');
  }

  get gaps(): number {
    return this.waiting.length;
  }
}

const deltasOf = (events: SseEvent[], messageId: string): Delta[] =>
  events
    .filter((e) => e.event === 'message.delta')
    .map((e) => JSON.parse(e.data!) as Delta)
    .filter((d) => d.messageId === messageId);

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

export function streamingSpec(test: ApiTest): void {
  describe('streamed messages', () => {
    test('appends are idempotent by offset (code points), gaps and differing overlaps are refused', async (api) => {
      const c = await conversationOf(api, 'bot');
      const bot = api.as('bot');
      const m = await startStream(bot, c.id);
      const append = (offset: number, t: string) => bot.post(`${m.url}/append`, { offset, text: t });

      let res = await append(0, 'Hel');
      expect([res.statusCode, res.json()]).toEqual([200, { messageId: m.id, offset: 3, appended: 3 }]);
      // A retry after a timeout: accepted again, nothing repeated.
      res = await append(0, 'Hel');
      expect(res.json()).toEqual({ messageId: m.id, offset: 3, appended: 0 });
      res = await append(1, 'el');
      expect(res.json()).toEqual({ messageId: m.id, offset: 3, appended: 0 });
      const gap = expectError(await append(5, 'x'), 409, 'offset_gap');
      expect(gap.details).toEqual({ expectedOffset: 3 });
      const conflict = expectError(await append(1, 'ex'), 409, 'offset_conflict');
      expect(conflict.details).toMatchObject({ expectedOffset: 3 });
      // Overlapping the end: only what lies beyond it is added. 🌍 is one code point (two UTF-16 units).
      res = await append(2, 'llo 🌍');
      expect(res.json()).toEqual({ messageId: m.id, offset: 7, appended: 4 });
      res = await append(7, '!');
      expect(res.json()).toEqual({ messageId: m.id, offset: 8, appended: 1 });
      res = await append(6, '🌍!');
      expect(res.json()).toEqual({ messageId: m.id, offset: 8, appended: 0 });
      expectError(await append(7, '?'), 409, 'offset_conflict');
      // An empty append keeps the stream alive and changes nothing.
      expect((await append(8, '')).json()).toEqual({ messageId: m.id, offset: 8, appended: 0 });

      const done = await bot.post(`${m.url}/finish`, { status: 'completed' });
      expect(done.statusCode).toBe(200);
      expect(done.json()).toMatchObject({
        id: m.id,
        status: 'completed',
        statusReason: null,
        content: [{ type: 'text', text: 'Hello 🌍!' }],
        editedAt: null,
      });
      expect((await bot.get(m.url)).json()).toEqual(done.json());
    });

    test(
      'the text reaches the database at the byte threshold and at the end, not per append',
      async (api) => {
        const c = await conversationOf(api, 'bot');
        const bot = api.as('bot');
        const m = await startStream(bot, c.id, { content: [{ type: 'text', text: 'Intro: ' }] });
        const before = (await bot.get(m.url)).json();
        let offset = 7;
        for (const piece of ['a', 'b', 'c']) {
          expect((await bot.post(`${m.url}/append`, { offset, text: piece })).statusCode).toBe(200);
          offset += 1;
        }
        // The interval is long here: nothing written yet, the stored message is as posted.
        expect((await bot.get(m.url)).json()).toEqual(before);
        const big = 'x'.repeat(300);
        expect((await bot.post(`${m.url}/append`, { offset, text: big })).json()).toMatchObject({ offset: 310 });
        // 303 unwritten bytes ≥ STREAM_FLUSH_BYTES=256: a write starts at once, not at the interval.
        await until(async () => (await storedText(bot, m.url)) === `Intro: abc${big}`, 3000);
        const written = (await bot.get(m.url)).json();
        expect(written.content).toEqual([{ type: 'text', text: `Intro: abc${big}` }]);
        expect(written.status).toBe('in_progress');
        expect(written.version).toBeGreaterThan(before.version);
        expect((await bot.post(`${m.url}/append`, { offset: 310, text: 'y' })).statusCode).toBe(200);
        expect(await storedText(bot, m.url)).toBe(`Intro: abc${big}`);
        const done = (await bot.post(`${m.url}/finish`, { status: 'completed' })).json();
        expect(done.content).toEqual([{ type: 'text', text: `Intro: abc${big}y` }]);
      },
      { env: { STREAM_FLUSH_INTERVAL_MS: '10000', STREAM_FLUSH_BYTES: '256' } },
    );

    test(
      'the text reaches the database within the flush interval',
      async (api) => {
        const c = await conversationOf(api, 'bot');
        const bot = api.as('bot');
        const m = await startStream(bot, c.id);
        await bot.post(`${m.url}/append`, { offset: 0, text: 'soon' });
        await until(async () => (await storedText(bot, m.url)) === 'soon', 3000);
      },
      { env: { STREAM_FLUSH_INTERVAL_MS: '50' } },
    );

    test('a text part is added when the message does not end with one; earlier parts stay', async (api) => {
      const c = await conversationOf(api, 'bot');
      const bot = api.as('bot');
      const call = { type: 'tool_call', callId: 'c1', name: 'lookup', arguments: { q: 'x' } };
      const m = await startStream(bot, c.id, { content: [call] });
      expect((await bot.post(`${m.url}/append`, { offset: 0, text: 'found it' })).json()).toMatchObject({ offset: 8 });
      const done = (await bot.post(`${m.url}/finish`, { status: 'completed' })).json();
      expect(done.content).toEqual([call, { type: 'text', text: 'found it' }]);
    });

    test('finish: drift correction, incomplete with a reason, repeats, and nothing appends afterwards', async (api) => {
      const c = await conversationOf(api, 'bot', ['reader']);
      const bot = api.as('bot');
      const m = await startStream(bot, c.id);
      await bot.post(`${m.url}/append`, { offset: 0, text: 'Helo wrld' });
      const corrected = [{ type: 'text', text: 'Hello world' }];
      const done = await bot.post(`${m.url}/finish`, { status: 'completed', content: corrected });
      expect(done.statusCode).toBe(200);
      expect(done.json()).toMatchObject({ status: 'completed', statusReason: null, content: corrected });
      expect(done.headers.etag).toBe(`"${done.json().version}"`);
      // The finish is logged: readers of the event feed get the final message.
      const feed = (await api.as('reader').get(`/v1/conversations/${c.id}/events`)).json();
      const last = feed.events.at(-1);
      expect(last).toMatchObject({ type: 'message.updated', actorId: 'bot', data: { message: done.json() } });
      // The same finish again (a retry) answers the message; another one is refused.
      expect((await bot.post(`${m.url}/finish`, { status: 'completed' })).json()).toEqual(done.json());
      const other = expectError(
        await bot.post(`${m.url}/finish`, { status: 'incomplete' }),
        409,
        'message_not_in_progress',
      );
      expect(other.details).toEqual({ status: 'completed' });
      expectError(await bot.post(`${m.url}/append`, { offset: 11, text: '!' }), 409, 'message_not_in_progress');
      expect((await bot.get(m.url)).json()).toEqual(done.json());

      const cut = await startStream(bot, c.id);
      await bot.post(`${cut.url}/append`, { offset: 0, text: 'partial' });
      const ended = (await bot.post(`${cut.url}/finish`, { status: 'incomplete', statusReason: 'max_tokens' })).json();
      expect(ended).toMatchObject({
        status: 'incomplete',
        statusReason: 'max_tokens',
        content: [{ type: 'text', text: 'partial' }],
      });
      // Posting a message that ended early, whole.
      const posted = await bot.post(`/v1/conversations/${c.id}/messages`, {
        role: 'assistant',
        content: [{ type: 'text', text: 'cut' }],
        status: 'incomplete',
        statusReason: 'error',
      });
      expect(posted.json()).toMatchObject({ status: 'incomplete', statusReason: 'error' });
    });

    test(
      'a joiner mid-stream (subscribe, then read) ends with exactly the final text: no gap, no overlap',
      async (api) => {
        const c = await conversationOf(api, 'bot', ['late']);
        const bot = api.as('bot');
        const m = await startStream(bot, c.id);
        const pieces = Array.from({ length: 80 }, (_, i) => `tök${i}🌍 `);
        const final = pieces.join('');
        let offset = 0;
        const appendNext = async (i: number) => {
          const res = await bot.post(`${m.url}/append`, { offset, text: pieces[i] });
          expect(res.statusCode).toBe(200);
          offset = res.json().offset;
        };
        for (let i = 0; i < 30; i++) await appendNext(i);
        // Subscribe first (the stream is open once its response arrived), then read the message.
        const stream = await openStream(api, `/v1/conversations/${c.id}/events`, await bearer(api, 'late'));
        const read = await storedText(api.as('late'), m.url);
        expect(final.startsWith(read)).toBe(true);
        for (let i = 30; i < pieces.length; i++) {
          await appendNext(i);
          if (i % 7 === 0) await sleep(15); // let some writes land mid-stream
        }
        // Every delta of the appends is out before the finish: take them before the final event.
        await stream.waitFor((events) =>
          deltasOf(events, m.id).some((d) => d.offset + [...d.text].length >= [...final].length),
        );
        const assembler = new Assembler(read);
        for (const d of deltasOf(stream.events, m.id)) {
          expect(d).toMatchObject({ type: 'message.delta', conversationId: c.id });
          assembler.apply(d);
        }
        expect(assembler.conflicts).toBe(0);
        expect(assembler.gaps).toBe(0);
        expect(assembler.text).toBe(final);
        await bot.post(`${m.url}/finish`, { status: 'completed' });
        await stream.waitFor((events) => events.some((e) => e.event === 'message.updated'));
        const updated = JSON.parse(stream.events.find((e) => e.event === 'message.updated')!.data!);
        expect(updated.data.message).toMatchObject({ status: 'completed', content: [{ type: 'text', text: final }] });
        // Deltas carry no id: they never move the client's Last-Event-ID.
        expect(stream.events.filter((e) => e.event === 'message.delta').every((e) => e.id === undefined)).toBe(true);
        stream.close();
      },
      { env: { STREAM_FLUSH_INTERVAL_MS: '20', STREAM_FLUSH_BYTES: '256' }, timeout: 30_000 },
    );

    test(
      'an in_progress message idle longer than the timeout becomes incomplete (interrupted) with its event',
      async (api) => {
        const c = await conversationOf(api, 'bot', ['reader']);
        const bot = api.as('bot');
        const idle = await startStream(bot, c.id);
        await bot.post(`${idle.url}/append`, { offset: 0, text: 'so far' });
        const active = await startStream(bot, c.id);
        let offset = 0;
        const started = Date.now();
        // `active` takes an append every 100 ms for longer than the timeout (and until the sweep
        // ended `idle`); `idle` takes none.
        const idleStatus = async () => (await bot.get(idle.url)).json().status as string;
        while (Date.now() - started < 2500 || (await idleStatus()) === 'in_progress') {
          if (Date.now() - started > 15_000) throw new Error('the sweep did not end the idle message');
          offset = (await bot.post(`${active.url}/append`, { offset, text: '.' })).json().offset;
          await sleep(100);
        }
        expect((await bot.get(active.url)).json().status).toBe('in_progress');
        // The author may still finish the active one with everything it took.
        const done = (await bot.post(`${active.url}/finish`, { status: 'completed' })).json();
        expect(done.content).toEqual([{ type: 'text', text: '.'.repeat(offset) }]);
        const ended = (await bot.get(idle.url)).json();
        expect(ended).toMatchObject({
          status: 'incomplete',
          statusReason: 'interrupted',
          content: [{ type: 'text', text: 'so far' }],
        });
        const feed = (await api.as('reader').get(`/v1/conversations/${c.id}/events`)).json();
        const sweep = feed.events.filter(
          (e: { type: string; data: { message: { id: string } } }) =>
            e.type === 'message.updated' && e.data.message.id === idle.id,
        );
        expect(sweep).toHaveLength(1);
        expect(sweep[0].data.message).toEqual(ended);
        expectError(await bot.post(`${idle.url}/append`, { offset: 6, text: '!' }), 409, 'message_not_in_progress');
      },
      {
        env: { STREAM_IDLE_TIMEOUT_MS: '1500', STREAM_SWEEP_INTERVAL_MS: '50', STREAM_FLUSH_INTERVAL_MS: '50' },
        timeout: 40_000,
      },
    );

    test('only the author appends or finishes: other participants 403, everyone else 404, nothing changes', async (api) => {
      const c = await conversationOf(api, 'bot', ['member']);
      const bot = api.as('bot');
      const m = await startStream(bot, c.id);
      await bot.post(`${m.url}/append`, { offset: 0, text: 'mine' });
      const member = api.as('member');
      const outsider = api.as('outsider');
      await outsider.get('/v1/users/me');
      expectError(await member.post(`${m.url}/append`, { offset: 4, text: 'x' }), 403, 'forbidden');
      expectError(await member.post(`${m.url}/finish`, { status: 'completed' }), 403, 'forbidden');
      expectError(await outsider.post(`${m.url}/append`, { offset: 4, text: 'x' }), 404, 'not_found');
      expectError(await outsider.post(`${m.url}/finish`, { status: 'completed' }), 404, 'not_found');
      expectError(await outsider.get(m.url), 404, 'not_found');
      // Participants read it.
      expect((await member.get(m.url)).json().status).toBe('in_progress');
      expect((await bot.post(`${m.url}/append`, { offset: 4, text: '!' })).json()).toMatchObject({ offset: 5 });
      const unknown = `/v1/conversations/${c.id}/messages/01900000-0000-7000-8000-000000000000`;
      expectError(await bot.post(`${unknown}/append`, { offset: 0, text: 'x' }), 404, 'not_found');
      expect((await bot.post(`${m.url}/finish`, { status: 'completed' })).json().content).toEqual([
        { type: 'text', text: 'mine!' },
      ]);
    });

    test('an author removed from the conversation mid-stream is refused (404) within about a second, and nothing more is stored', async (api) => {
      const c = await conversationOf(api, 'owner', ['bot']);
      const bot = api.as('bot');
      const m = await startStream(bot, c.id);
      expect((await bot.post(`${m.url}/append`, { offset: 0, text: 'before' })).statusCode).toBe(200);
      expect((await api.as('owner').delete(`/v1/conversations/${c.id}/participants/bot`)).statusCode).toBe(204);
      // The membership is re-checked beside the appends (at most every second): keep appending
      // until one is refused; appends accepted until then are the stream's text.
      let offset = 6;
      let refused: Awaited<ReturnType<Client['post']>> | undefined;
      const end = Date.now() + 5000;
      while (!refused && Date.now() < end) {
        const res = await bot.post(`${m.url}/append`, { offset, text: '.' });
        if (res.statusCode === 200) offset++;
        else refused = res;
        await sleep(50);
      }
      expect(refused, 'an append was refused within 5 s').toBeDefined();
      expectError(refused!, 404, 'not_found');
      // Refused for good, and what is stored is what was accepted (the owner still reads it).
      expectError(await bot.post(`${m.url}/append`, { offset, text: '.' }), 404, 'not_found');
      expectError(await bot.post(`${m.url}/finish`, { status: 'completed' }), 404, 'not_found');
      await until(async () => (await storedText(api.as('owner'), m.url)).length === offset);
      expect(await storedText(api.as('owner'), m.url)).toBe(`before${'.'.repeat(offset - 6)}`);
    });

    test('edits: an in_progress message cannot be patched; deleting it ends its stream', async (api) => {
      const c = await conversationOf(api, 'bot', ['reader']);
      const bot = api.as('bot');
      const m = await startStream(bot, c.id, { metadata: { model: 'm1' } });
      await bot.post(`${m.url}/append`, { offset: 0, text: 'abc' });
      expectError(await bot.patch(m.url, { content: [{ type: 'text', text: 'edited' }] }), 409, 'message_in_progress');
      expectError(await bot.patch(m.url, { metadata: { model: 'm2' } }), 409, 'message_in_progress');
      expect((await bot.post(`${m.url}/append`, { offset: 3, text: 'd' })).json()).toMatchObject({ offset: 4 });
      // Finished, it is an ordinary message again.
      await bot.post(`${m.url}/finish`, { status: 'completed' });
      const edited = await bot.patch(m.url, { metadata: { model: 'm2' } });
      expect(edited.json()).toMatchObject({ metadata: { model: 'm2' }, content: [{ type: 'text', text: 'abcd' }] });

      const other = await startStream(bot, c.id);
      await bot.post(`${other.url}/append`, { offset: 0, text: 'doomed' });
      expect((await bot.delete(other.url)).statusCode).toBe(204);
      const tombstone = (await bot.get(other.url)).json();
      expect(tombstone).toMatchObject({ content: [], status: 'incomplete', statusReason: 'deleted' });
      expect(tombstone.deletedAt).not.toBeNull();
      expectError(await bot.post(`${other.url}/append`, { offset: 6, text: 'x' }), 404, 'not_found');
      const types = (await api.as('reader').get(`/v1/conversations/${c.id}/events`))
        .json()
        .events.filter((e: { data: { message?: { id: string } } }) => e.data.message?.id === other.id)
        .map((e: { type: string }) => e.type);
      expect(types).toEqual(['message.created', 'message.updated', 'message.deleted']);
    });

    test('bad input is a 400 naming the field and changes nothing', async (api) => {
      const c = await conversationOf(api, 'bot');
      const bot = api.as('bot');
      const m = await startStream(bot, c.id);
      await bot.post(`${m.url}/append`, { offset: 0, text: 'ok' });
      const append = `${m.url}/append`;
      expectError(await bot.post(append, { offset: -1, text: 'x' }), 400, 'validation_failed', 'offset');
      expectError(await bot.post(append, { offset: 1.5, text: 'x' }), 400, 'validation_failed', 'offset');
      expectError(await bot.post(append, { offset: '2', text: 'x' }), 400, 'validation_failed', 'offset');
      expectError(await bot.post(append, { text: 'x' }), 400, 'validation_failed', 'offset');
      expectError(await bot.post(append, { offset: 2 }), 400, 'validation_failed', 'text');
      expectError(await bot.post(append, { offset: 2, text: 5 }), 400, 'validation_failed', 'text');
      expectError(await bot.post(append, { offset: 2, text: 'nul \u0000' }), 400, 'validation_failed');
      expectError(await bot.post(append, { offset: 2, text: 'x'.repeat(16_385) }), 400, 'validation_failed', 'text');
      expectError(await bot.post(append, { offset: 2, text: 'x', extra: 1 }), 400, 'validation_failed');
      const finish = `${m.url}/finish`;
      expectError(await bot.post(finish, { status: 'in_progress' }), 400, 'validation_failed', 'status');
      expectError(await bot.post(finish, {}), 400, 'validation_failed', 'status');
      expectError(
        await bot.post(finish, { status: 'completed', statusReason: 'error' }),
        400,
        'validation_failed',
        'statusReason',
      );
      expectError(
        await bot.post(finish, { status: 'incomplete', statusReason: 'Not A Token' }),
        400,
        'validation_failed',
        'statusReason',
      );
      expectError(await bot.post(finish, { status: 'completed', content: [] }), 400, 'validation_failed', 'content');
      const post = `/v1/conversations/${c.id}/messages`;
      const body = { role: 'assistant', content: [{ type: 'text', text: '' }] };
      expectError(await bot.post(post, { ...body, status: 'streaming' }), 400, 'validation_failed', 'status');
      expectError(
        await bot.post(post, { ...body, status: 'completed', statusReason: 'error' }),
        400,
        'validation_failed',
        'statusReason',
      );
      expectError(
        await bot.post('/v1/conversations/not-a-uuid/messages/x/append', { offset: 0, text: 'x' }),
        400,
        'validation_failed',
      );
      // Nothing of the above changed the stream.
      expect((await bot.post(append, { offset: 2, text: '!' })).json()).toEqual({
        messageId: m.id,
        offset: 3,
        appended: 1,
      });
      const messages = (await bot.get(post)).json().data;
      expect(messages).toHaveLength(1);
    });

    test(
      'bounds: the message size limit covers streamed text, and an instance holds at most STREAM_MAX_ACTIVE streams',
      async (api) => {
        const c = await conversationOf(api, 'bot');
        const bot = api.as('bot');
        const m = await startStream(bot, c.id);
        expect((await bot.post(`${m.url}/append`, { offset: 0, text: 'x'.repeat(900) })).statusCode).toBe(200);
        const tooBig = expectError(
          await bot.post(`${m.url}/append`, { offset: 900, text: 'y'.repeat(200) }),
          400,
          'validation_failed',
          'text',
        );
        expect(tooBig.message).toMatch(/MESSAGE_MAX_BYTES/);
        expect((await bot.post(`${m.url}/append`, { offset: 900, text: 'z' })).json()).toMatchObject({ offset: 901 });
        const second = await startStream(bot, c.id);
        const full = expectError(
          await bot.post(`${second.url}/append`, { offset: 0, text: 'x' }),
          503,
          'stream_capacity',
        );
        expect(full.details).toEqual({ limit: 1 });
        await bot.post(`${m.url}/finish`, { status: 'completed' });
        expect((await bot.post(`${second.url}/append`, { offset: 0, text: 'x' })).statusCode).toBe(200);
      },
      { env: { MESSAGE_MAX_BYTES: '1024', STREAM_MAX_ACTIVE: '1' } },
    );

    test('an in_progress post with a clientMessageId is idempotent like any post', async (api) => {
      const c = await conversationOf(api, 'bot');
      const bot = api.as('bot');
      const first = await startStream(bot, c.id, { clientMessageId: 'gen-1' });
      await bot.post(`${first.url}/append`, { offset: 0, text: 'abc' });
      const again = await bot.post(`/v1/conversations/${c.id}/messages`, {
        role: 'assistant',
        content: [{ type: 'text', text: '' }],
        status: 'in_progress',
        clientMessageId: 'gen-1',
      });
      expect(again.statusCode).toBe(200);
      expect(again.json().id).toBe(first.id);
      // The producer learns where to continue from the stored message or from the next append's answer.
      expect((await bot.post(`${first.url}/append`, { offset: 0, text: 'abcdef' })).json()).toMatchObject({
        offset: 6,
        appended: 3,
      });
    });
  });
}

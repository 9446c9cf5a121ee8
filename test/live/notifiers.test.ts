import { afterAll, describe, expect, it } from 'vitest';
import {
  conversation,
  eventsAfter,
  type Instance,
  notifierEnv,
  openSse,
  type Place,
  placeFor,
  post,
  scratchSqlite,
  startInstance,
} from './support.js';

/**
 * Two gateway instances on one database, each with its own store and notifier: a write on one
 * reaches an SSE subscriber on the other. Streams poll only every 60 s here (EVENTS_POLL_MS), so an
 * event that arrives within seconds came through the notifier's wake-up, not through the poll; the
 * `local` case shows that without a broker it does not.
 */

const SLOW_POLL = { EVENTS_POLL_MS: '60000', EVENTS_DEGRADED_POLL_MS: '60000' };
/** Well below the 60 s poll: only a wake-up delivers this fast. */
const WAKE_MS = 5000;

type Variant = { notifier: 'postgres' | 'redis' | 'nats'; backend: 'sqlite' | 'postgres' };
const VARIANTS: Variant[] = [
  { notifier: 'postgres', backend: 'postgres' },
  { notifier: 'redis', backend: 'sqlite' },
  { notifier: 'redis', backend: 'postgres' },
  { notifier: 'nats', backend: 'sqlite' },
  { notifier: 'nats', backend: 'postgres' },
];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Two instances A and B over one place with the same notifier settings. */
async function pair(place: Place, env: Record<string, string>): Promise<[Instance, Instance]> {
  const a = await startInstance('A', { ...place.env, ...SLOW_POLL, ...env });
  cleanups.push(() => a.close());
  const b = await startInstance('B', { ...place.env, ...SLOW_POLL, ...env });
  cleanups.push(() => b.close());
  return [a, b];
}

describe.each(VARIANTS)('EVENTS_NOTIFY=$notifier across two instances on $backend', ({ notifier, backend }) => {
  it('a post on one instance reaches an SSE subscriber of the other at once, exactly as the log holds it', async (ctx) => {
    const place = await placeFor(backend);
    if ('skip' in place) return ctx.skip(place.skip);
    cleanups.push(() => place.drop());
    const [a, b] = await pair(place, notifierEnv(notifier));
    for (const instance of [a, b])
      expect((await instance.ready()).notifier).toMatchObject({ type: notifier, state: 'connected' });

    const id = await conversation(a, 'owner', ['member']);
    const known = await eventsAfter(a, 'owner', id, 0);
    const onB = await openSse(b, 'member', id);
    const onA = await openSse(a, 'owner', id);
    await onB.waitForSeq(known.length);
    await onA.waitForSeq(known.length);

    // A → B: a message posted on A.
    const started = performance.now();
    const message = await post(a, 'owner', id, `hello from A via ${notifier}`);
    const received = await onB.waitForSeq(known.length + 1, WAKE_MS);
    const [logged] = await eventsAfter(a, 'owner', id, known.length);
    expect(received.event).toBe('message.created');
    expect(received.data).toEqual(logged);
    expect(received.data).toMatchObject({
      seq: known.length + 1,
      type: 'message.created',
      conversationId: id,
      actorId: 'owner',
      data: { message: { id: message.id, content: [{ type: 'text', text: `hello from A via ${notifier}` }] } },
    });
    expect(received.at - started).toBeLessThan(WAKE_MS);

    // B → A: an edit made on B.
    const edit = await b.call('owner', 'PATCH', `/v1/conversations/${id}/messages/${message.id}`, {
      content: [{ type: 'text', text: 'edited on B' }],
    });
    expect(edit.status).toBe(200);
    const back = await onA.waitForSeq(known.length + 2, WAKE_MS);
    expect(back.event).toBe('message.updated');
    expect(back.data).toEqual((await eventsAfter(b, 'owner', id, known.length + 1))[0]);
    expect(back.data.data.message).toEqual(edit.json());
    onA.close();
    onB.close();
  }, 60_000);
});

describe('EVENTS_NOTIFY=local across two instances (the control)', () => {
  it('does not wake the other instance: its subscriber sees the post only on its next poll', async () => {
    const place = await scratchSqlite();
    cleanups.push(() => place.drop());
    const [a, b] = await pair(place, notifierEnv('local'));
    expect((await b.ready()).notifier).toMatchObject({ type: 'local', state: 'connected' });
    const id = await conversation(a, 'owner', ['member']);
    const known = await eventsAfter(a, 'owner', id, 0);
    const onB = await openSse(b, 'member', id);
    await onB.waitForSeq(known.length);
    await post(a, 'owner', id, 'unheard');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(onB.events.map((e) => Number(e.id))).toEqual(known.map((e) => e.seq));
    // The same post made on B itself wakes B's own subscriber at once.
    await post(b, 'owner', id, 'heard');
    const heard = await onB.waitForSeq(known.length + 2, WAKE_MS);
    expect(heard.data.data.message.content).toEqual([{ type: 'text', text: 'heard' }]);
    onB.close();
  }, 30_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { notifierEnv, type Place, placeFor, scratchSqlite, startInstance } from './support.js';

/**
 * An app with a broker notifier leaves nothing behind when it closes: every socket and timer it
 * opened is gone (so a process, or a test worker, can exit). In a file of its own, so that no
 * other test's instances open or close handles meanwhile.
 */

/** Sockets and timers this process holds now. */
const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;

let place: Place | undefined;
afterEach(async () => {
  await place?.drop();
  place = undefined;
});

describe.each(['redis', 'nats', 'postgres'] as const)('closing an app with the %s notifier', (notifier) => {
  it('releases every connection and timer it opened', async (ctx) => {
    const found = notifier === 'postgres' ? await placeFor('postgres') : await scratchSqlite();
    if ('skip' in found) return ctx.skip(found.skip);
    place = found;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = handles();
    const instance = await startInstance('closing', { ...found.env, ...notifierEnv(notifier) });
    expect((await instance.ready()).notifier).toMatchObject({ type: notifier, state: 'connected' });
    expect(handles()).toBeGreaterThan(before);
    await instance.close();
    const until = Date.now() + 5000;
    while (handles() > before && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handles()).toBe(before);
  });
});

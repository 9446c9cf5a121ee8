import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Store } from '../../src/repositories/ports.js';
import type { StoreInitializer } from '../support/initializer.js';
import { requiredBackends } from '../support/servers.js';

/** `it` with a fresh store of the backend under test, destroyed afterwards. */
export type StoreTest = (name: string, fn: (store: Store) => Promise<void>, timeout?: number) => void;

/**
 * Wraps a backend initializer for a suite: finds the server once, skips every test of the suite
 * with the printed reason when it is unavailable (or fails when TEST_REQUIRE names it), and hands
 * each test its own fresh store.
 */
export function describeBackend(title: string, init: StoreInitializer, body: (test: StoreTest) => void): void {
  describe(`${title}: ${init.name}`, () => {
    let skipReason: string | undefined;

    beforeAll(async () => {
      const result = await init.beforeAll();
      if ('skip' in result) {
        const backend = init.backend;
        if (requiredBackends().has(backend))
          throw new Error(`TEST_REQUIRE names ${backend}, but it cannot run: ${result.skip}`);
        skipReason = result.skip;
        console.warn(`[polystore tests] ${title} on ${init.name} SKIPPED: ${result.skip}`);
      }
    });

    afterAll(async () => {
      await init.afterAll();
    });

    const test: StoreTest = (name, fn, timeout) => {
      it(
        name,
        async (ctx) => {
          if (skipReason !== undefined) {
            ctx.skip(skipReason);
            return;
          }
          const store = await init.create();
          try {
            await fn(store);
          } finally {
            await init.destroy(store);
          }
        },
        timeout,
      );
    };
    body(test);
  });
}

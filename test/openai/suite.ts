import type { DatabaseType } from '../../database/registry.js';
import { describeBackend } from '../contract/harness.js';
import { initializerFor, type StoreInitializer } from '../support/initializer.js';
import { conversationsSpec } from './spec/conversations.js';
import { errorsSpec } from './spec/errors.js';
import { itemsSpec } from './spec/items.js';
import { pagingSpec } from './spec/paging.js';
import { surfacesSpec } from './spec/surfaces.js';
import { openAiTests } from './support.js';

/**
 * The OpenAI-compatible API driven by the real `openai` SDK over real HTTP, on one backend. Each
 * backend's file is a single call to this (test/openai/<backend>.test.ts).
 */
export function describeOpenAi(backend: DatabaseType | StoreInitializer): void {
  const init = typeof backend === 'string' ? initializerFor(backend) : backend;
  describeBackend('openai api', init, (test) => {
    const api = openAiTests(test);
    conversationsSpec(api);
    itemsSpec(api);
    pagingSpec(api);
    errorsSpec(api);
    surfacesSpec(api);
  });
}

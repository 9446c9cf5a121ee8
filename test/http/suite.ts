import type { DatabaseType } from '../../database/registry.js';
import { initializerFor, type StoreInitializer } from '../support/initializer.js';
import { describeBackend } from '../contract/harness.js';
import { authSpec } from './spec/auth.js';
import { conversationsSpec } from './spec/conversations.js';
import { eventsSpec } from './spec/events.js';
import { hostileSpec } from './spec/hostile.js';
import { inboxSpec } from './spec/inbox.js';
import { inputSpec } from './spec/input.js';
import { messagesSpec } from './spec/messages.js';
import { operationsSpec } from './spec/operations.js';
import { paginationSpec } from './spec/pagination.js';
import { participantsSpec } from './spec/participants.js';
import { streamingSpec } from './spec/streaming.js';
import { usersSpec } from './spec/users.js';
import { apiTests } from './support.js';

/**
 * The HTTP API's behaviour, run over one backend. Each backend's file is a single call to this
 * with its initializer (test/http/<backend>.test.ts).
 */
export function describeHttp(backend: DatabaseType | StoreInitializer): void {
  const init = typeof backend === 'string' ? initializerFor(backend) : backend;
  describeBackend('http api', init, (test) => {
    const api = apiTests(test);
    operationsSpec(api);
    authSpec(api);
    usersSpec(api);
    conversationsSpec(api);
    participantsSpec(api);
    messagesSpec(api);
    paginationSpec(api);
    inputSpec(api);
    hostileSpec(api);
    eventsSpec(api);
    inboxSpec(api);
    streamingSpec(api);
  });
}

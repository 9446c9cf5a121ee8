import type { DatabaseType } from '../../database/registry.js';
import { initializerFor, type StoreInitializer } from '../support/initializer.js';
import { describeBackend } from './harness.js';
import { bulkSpec } from './spec/bulk.js';
import { concurrencySpec } from './spec/concurrency.js';
import { conversationsSpec } from './spec/conversations.js';
import { eventsSpec } from './spec/events.js';
import { inboxSpec } from './spec/inbox.js';
import { inboxIndexSpec } from './spec/inbox-index.js';
import { lifecycleSpec } from './spec/lifecycle.js';
import { messagesSpec } from './spec/messages.js';
import { paginationSpec } from './spec/pagination.js';
import { participantsSpec } from './spec/participants.js';
import { postManySpec } from './spec/post-many.js';
import { streamingSpec } from './spec/streaming.js';
import { usersSpec } from './spec/users.js';

/**
 * The repository contract: every semantic the ports promise, run against one backend. Each
 * backend's test file is a single call to this with its initializer.
 */
export function describeContract(backend: DatabaseType | StoreInitializer): void {
  const init = typeof backend === 'string' ? initializerFor(backend) : backend;
  describeBackend('repository contract', init, (test) => {
    lifecycleSpec(test);
    usersSpec(test);
    conversationsSpec(test);
    participantsSpec(test);
    messagesSpec(test);
    postManySpec(test);
    paginationSpec(test);
    concurrencySpec(test);
    bulkSpec(test);
    eventsSpec(test);
    inboxSpec(test);
    inboxIndexSpec(test);
    streamingSpec(test);
  });
}

import { expect } from 'vitest';
import { pendingSchemaChanges } from '../support/initializers/typeorm.js';
import { initializerFor } from '../support/initializer.js';
import { describeBackend } from './harness.js';
import { describeContract } from './suite.js';
import { describePostgresInboxPlan } from './postgres-inbox-plan.js';
import { describeInboxMode } from './typeorm-inbox-mode.js';

describeContract('postgres');
describeInboxMode(initializerFor('postgres'));
describePostgresInboxPlan(initializerFor('postgres'));

describeBackend('typeorm schema', initializerFor('postgres'), (test) => {
  test('the migrations create exactly what the entity schemas describe', async (store) => {
    expect(await pendingSchemaChanges(store)).toEqual([]);
  });
});

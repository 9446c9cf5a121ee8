import { expect } from 'vitest';
import { pendingSchemaChanges } from '../support/initializers/typeorm.js';
import { initializerFor } from '../support/initializer.js';
import { describeBackend } from './harness.js';
import { describeContract } from './suite.js';
import { describeInboxMode } from './typeorm-inbox-mode.js';

describeContract('sqlite');
describeInboxMode(initializerFor('sqlite'));

describeBackend('typeorm schema', initializerFor('sqlite'), (test) => {
  test('the migrations create exactly what the entity schemas describe', async (store) => {
    expect(await pendingSchemaChanges(store)).toEqual([]);
  });
});

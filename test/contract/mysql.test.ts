import { expect } from 'vitest';
import { pendingSchemaChanges } from '../support/initializers/typeorm.js';
import { initializerFor } from '../support/initializer.js';
import { describeBackend } from './harness.js';
import { describeContract } from './suite.js';
import { describeInboxMode } from './typeorm-inbox-mode.js';

// MySQL 8 proper: runs with TEST_MYSQL_URL or Testcontainers; otherwise skipped with the reason.
describeContract('mysql');
describeInboxMode(initializerFor('mysql'));

describeBackend('typeorm schema', initializerFor('mysql'), (test) => {
  test('the migrations create exactly what the entity schemas describe', async (store) => {
    expect(await pendingSchemaChanges(store)).toEqual([]);
  });
});

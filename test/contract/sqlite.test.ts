import { expect } from 'vitest';
import { sqliteInitializer, pendingSchemaChanges } from '../support/initializers/typeorm.js';
import { describeBackend } from './harness.js';
import { describeContract } from './suite.js';

describeContract(sqliteInitializer);

describeBackend('typeorm schema', sqliteInitializer, (test) => {
  test('the migrations create exactly what the entity schemas describe', async (store) => {
    expect(await pendingSchemaChanges(store)).toEqual([]);
  });
});

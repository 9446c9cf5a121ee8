import { expect } from 'vitest';
import { mariadbInitializer, pendingSchemaChanges } from '../support/initializers/typeorm.js';
import { describeBackend } from './harness.js';
import { describeContract } from './suite.js';

describeContract(mariadbInitializer);

describeBackend('typeorm schema', mariadbInitializer, (test) => {
  test('the migrations create exactly what the entity schemas describe', async (store) => {
    expect(await pendingSchemaChanges(store)).toEqual([]);
  });
});

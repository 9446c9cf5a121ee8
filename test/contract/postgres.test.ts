import { expect } from 'vitest';
import { postgresInitializer, pendingSchemaChanges } from '../support/initializers/typeorm.js';
import { describeBackend } from './harness.js';
import { describeContract } from './suite.js';

describeContract(postgresInitializer);

describeBackend('typeorm schema', postgresInitializer, (test) => {
  test('the migrations create exactly what the entity schemas describe', async (store) => {
    expect(await pendingSchemaChanges(store)).toEqual([]);
  });
});

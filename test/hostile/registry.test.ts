import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { registeredTypes } from '../../database/registry.js';

it.each(registeredTypes())('the hostile-request property runs on %s', (type) => {
  const file = `test/hostile/${type}.test.ts`;
  expect(existsSync(file) ? readFileSync(file, 'utf8') : '').toContain(`describeHostile('${type}')`);
});

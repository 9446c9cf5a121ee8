import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS, backendFor, registeredTypes } from '../database/registry.js';
import { loadConfig } from '../src/config/load.js';
import { DATABASE_TYPES } from '../src/config/schema.js';
import { databaseFromLocation } from '../src/transfer/open.js';
import { envUrlName } from './support/servers.js';

/**
 * The registry is the only list of backends: every registered backend must be wired into every
 * shared suite and documented, so none can be left out silently.
 */
describe('backend registry', () => {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  const types = registeredTypes();

  it('lists each DATABASE_TYPE once, and the config schema offers exactly those', () => {
    expect(new Set(types).size).toBe(types.length);
    expect(DATABASE_TYPES).toEqual(types);
    for (const type of types) expect(backendFor(type)?.type).toBe(type);
    expect(backendFor('oracle')).toBeUndefined();
  });

  it.each(types)('%s runs the repository contract, the HTTP suite and the OpenAI SDK suite', (type) => {
    expect(read(`test/contract/${type}.test.ts`)).toMatch(new RegExp(`describeContract\\('${type}'\\)`));
    expect(read(`test/http/${type}.test.ts`)).toMatch(new RegExp(`describeHttp\\('${type}'\\)`));
    expect(read(`test/openai/${type}.test.ts`)).toMatch(new RegExp(`describeOpenAi\\('${type}'\\)`));
  });

  it('the transfer pairs run over every registered backend', () => {
    expect(read('test/transfer/pairs.test.ts')).toContain('describeTransferPairs(registeredTypes())');
  });

  it.each(BACKENDS.map((b) => [b.type, b] as const))('%s has its migrations and is documented', (type, backend) => {
    if (backend.type !== 'memory') expect(existsSync(backend.migrations), backend.migrations).toBe(true);
    expect(read('README.md')).toContain(`\`${type}\``);
    expect(read('SETUP.md')).toContain(`\`${type}\``);
    if (backend.testing.needs === 'server') expect(read('SETUP.md')).toContain(envUrlName(backend.testing.server));
  });

  it('no URL scheme selects two backends, and at most one backend takes bare file paths', () => {
    const claimed = BACKENDS.flatMap((b) => {
      const rule = b.location;
      return rule.kind === 'none' ? [rule.scheme] : rule.schemes;
    });
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(BACKENDS.filter((b) => b.location.kind === 'file').length).toBeLessThanOrEqual(1);
  });

  it.each(BACKENDS.map((b) => [b.type, b] as const))(
    '%s: each of its schemes selects it, as a location and in DATABASE_URL',
    (type, backend) => {
      const settings = loadConfig({ env: {}, dotenvPath: false }).settings;
      const rule = backend.location;
      const examples =
        rule.kind === 'none'
          ? [`${rule.scheme}:`]
          : rule.kind === 'file'
            ? rule.schemes.map((s) => `${s}:./x.db`)
            : rule.schemes.map((s) => `${s}://u@h:1/d`);
      for (const location of examples) {
        expect(databaseFromLocation(location, settings, 'to').type).toBe(type);
        const config = loadConfig({ env: { DATABASE_TYPE: type, DATABASE_URL: location }, dotenvPath: false }).database;
        expect(config.type).toBe(type);
      }
    },
  );
});

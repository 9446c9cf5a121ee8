import { GenericContainer } from 'testcontainers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONTAINER_ROOT_PASSWORD, typeormTestKit } from '../../database/typeorm/testing.js';
import { cannotRun } from '../support/servers.js';

/**
 * The settings the test kits give their containers, checked without a container runtime: the
 * environment each image's entrypoint reads, and the URL the harness then connects with. The
 * official `mysql` image reads only MYSQL_*, `mariadb` MARIADB_*; both exit when the ordinary user
 * is `root`.
 */

type Captured = { image: string; env: Record<string, string> };

/** Runs a kit's startContainer with GenericContainer.start replaced: records what would be started. */
async function startWithoutRuntime(type: 'mysql' | 'mariadb', image: string) {
  const captured: Captured[] = [];
  vi.spyOn(GenericContainer.prototype, 'start').mockImplementation(async function (this: GenericContainer) {
    const self = this as unknown as { environment: Record<string, string>; imageName: { string: string } };
    captured.push({ image: self.imageName.string, env: { ...self.environment } });
    const started = { getHost: () => '127.0.0.1', getMappedPort: () => 49153, stop: async () => undefined };
    return started as never;
  });
  const container = await typeormTestKit[type].startContainer!(image);
  return { url: container.url, started: captured };
}

afterEach(() => vi.restoreAllMocks());

describe('MySQL and MariaDB test containers', () => {
  it('MySQL gets MYSQL_* variables only, a root password, and an ordinary user that is not root', async () => {
    const { url, started } = await startWithoutRuntime('mysql', 'mysql:8.4');
    expect(started).toHaveLength(1);
    const { image, env } = started[0]!;
    expect(image).toBe('mysql:8.4');
    expect(Object.keys(env).every((name) => name.startsWith('MYSQL_'))).toBe(true);
    expect(env.MYSQL_ROOT_PASSWORD).toBe(CONTAINER_ROOT_PASSWORD);
    expect(env.MYSQL_USER).toBeTruthy();
    expect(env.MYSQL_USER).not.toBe('root');
    expect(url).toBe(`mysql://root:${CONTAINER_ROOT_PASSWORD}@127.0.0.1:49153/${env.MYSQL_DATABASE}`);
  });

  it('MariaDB gets MARIADB_* variables, a root password, and an ordinary user that is not root', async () => {
    const { url, started } = await startWithoutRuntime('mariadb', 'mariadb:11');
    const { image, env } = started[0]!;
    expect(image).toBe('mariadb:11');
    expect(Object.keys(env).every((name) => name.startsWith('MARIADB_'))).toBe(true);
    expect(env.MARIADB_ROOT_PASSWORD).toBe(CONTAINER_ROOT_PASSWORD);
    expect(env.MARIADB_USER).toBeTruthy();
    expect(env.MARIADB_USER).not.toBe('root');
    // The harness connects as root: it creates a database per store.
    expect(url).toBe(`mysql://root:${CONTAINER_ROOT_PASSWORD}@127.0.0.1:49153/${env.MARIADB_DATABASE}`);
  });
});

describe('a backend that cannot run', () => {
  const reason = 'Testcontainers could not start mysql:8.4: no such image';

  it('fails when Testcontainers was chosen for it and skipping was not asked for', () => {
    const outcome = cannotRun('mysql', reason, true, {});
    expect(outcome).toHaveProperty('fail');
    expect((outcome as { fail: string }).fail).toContain('TEST_ALLOW_SKIP=mysql');
  });

  it('is skipped when TEST_ALLOW_SKIP names it', () => {
    expect(cannotRun('mysql', reason, true, { TEST_ALLOW_SKIP: 'mongodb, MySQL' })).toEqual({ skip: reason });
  });

  it('is skipped when no container runtime answered (nothing was meant to run)', () => {
    expect(cannotRun('mysql', 'TEST_MYSQL_URL is not set and no container runtime', false, {})).toHaveProperty('skip');
  });

  it('fails when TEST_REQUIRE names it, whatever TEST_ALLOW_SKIP says', () => {
    const env = { TEST_REQUIRE: 'postgres,mysql', TEST_ALLOW_SKIP: 'mysql' };
    expect(cannotRun('mysql', reason, true, env)).toHaveProperty('fail');
    expect(cannotRun('mysql', reason, false, env)).toHaveProperty('fail');
  });
});

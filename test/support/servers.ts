import { BACKENDS } from '../../database/registry.js';

/**
 * Which database servers the test run can reach, decided once per run in global-setup.ts and
 * handed to every worker through vitest's provide/inject.
 *
 * Order for each server kind: TEST_<KIND>_URL → Testcontainers (when a container runtime answers)
 * → a fallback where there is one (MongoDB: the wire-protocol emulator) → skipped with the
 * reason. TEST_REQUIRE=postgres,mariadb,... turns a skip into a failure.
 *
 * A kind Testcontainers was chosen for (a runtime answered, no TEST_<KIND>_URL) whose container
 * could not start fails the run, unless TEST_ALLOW_SKIP names it (and TEST_REQUIRE does not): an
 * image that cannot be pulled must not turn into a green run that tested nothing.
 */

/** The servers the registered backends need, each with the backends that need it. */
export const SERVER_KINDS: readonly string[] = [
  ...new Set(BACKENDS.flatMap((b) => (b.testing.needs === 'server' ? [b.testing.server] : []))),
];

export type ServerInfo = { kind: string; url: string; source: string } | { kind: string; skip: string };

export type ServerMap = Record<string, ServerInfo>;

/** Backends TEST_REQUIRE names; a skipped one of these fails the run. */
export function requiredBackends(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return commaList(env.TEST_REQUIRE);
}

const commaList = (value: string | undefined): Set<string> =>
  new Set(
    (value ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );

/** Kinds TEST_ALLOW_SKIP names: their container may fail to start, the run then skips them. */
export function allowedSkips(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return commaList(env.TEST_ALLOW_SKIP);
}

/**
 * What becomes of a kind that cannot run: `fail` for one TEST_REQUIRE names, or one Testcontainers
 * was chosen for (`meantToRun`) unless TEST_ALLOW_SKIP names it; `skip` otherwise.
 */
export function cannotRun(
  kind: string,
  reason: string,
  meantToRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
): { skip: string } | { fail: string } {
  if (requiredBackends(env).has(kind)) return { fail: `TEST_REQUIRE names ${kind}, but it cannot run: ${reason}` };
  if (meantToRun && !allowedSkips(env).has(kind)) {
    return {
      fail:
        `${kind} was to run in a container, but ${reason}. Set ${envUrlName(kind)} to use a server of your own, ` +
        `${envImageName(kind)} to use another image, or TEST_ALLOW_SKIP=${kind} to skip it`,
    };
  }
  return { skip: reason };
}

export const envUrlName = (kind: string) => `TEST_${kind.toUpperCase()}_URL`;
export const envImageName = (kind: string) => `TEST_${kind.toUpperCase()}_IMAGE`;

import { BACKENDS } from '../../database/registry.js';

/**
 * Which database servers the test run can reach, decided once per run in global-setup.ts and
 * handed to every worker through vitest's provide/inject.
 *
 * Order for each server kind: TEST_<KIND>_URL → Testcontainers (when a container runtime answers)
 * → a fallback where there is one (MongoDB: the wire-protocol emulator) → skipped with the
 * reason. TEST_REQUIRE=postgres,mariadb,... turns a skip into a failure.
 */

/** The servers the registered backends need, each with the backends that need it. */
export const SERVER_KINDS: readonly string[] = [
  ...new Set(BACKENDS.flatMap((b) => (b.testing.needs === 'server' ? [b.testing.server] : []))),
];

export type ServerInfo = { kind: string; url: string; source: string } | { kind: string; skip: string };

export type ServerMap = Record<string, ServerInfo>;

/** Backends TEST_REQUIRE names; a skipped one of these fails the run. */
export function requiredBackends(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set(
    (env.TEST_REQUIRE ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

export const envUrlName = (kind: string) => `TEST_${kind.toUpperCase()}_URL`;
export const envImageName = (kind: string) => `TEST_${kind.toUpperCase()}_IMAGE`;

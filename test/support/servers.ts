/**
 * Which database servers the test run can reach, decided once per run in global-setup.ts and
 * handed to every worker through vitest's provide/inject.
 *
 * Order for each server kind: TEST_<KIND>_URL → Testcontainers (when a container runtime answers)
 * → skipped with the reason. TEST_REQUIRE=postgres,mariadb,... turns a skip into a failure.
 */
export const SERVER_KINDS = ['postgres', 'mariadb', 'mysql', 'mongodb'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export type ServerInfo =
  | { kind: ServerKind; url: string; source: string }
  | { kind: ServerKind; skip: string };

export type ServerMap = Record<ServerKind, ServerInfo>;

/** Backends TEST_REQUIRE names; a skipped one of these fails the run. */
export function requiredBackends(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set(
    (env.TEST_REQUIRE ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

export const envUrlName = (kind: ServerKind) => `TEST_${kind.toUpperCase()}_URL`;
export const envImageName = (kind: ServerKind) => `TEST_${kind.toUpperCase()}_IMAGE`;

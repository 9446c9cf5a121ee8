import { VersionConflictError, type EntityName } from '../domain/errors.js';
import { checkVersion } from '../domain/validation.js';

/** The version an entity is at, as a guard's `accept` sees it before a change. */
export interface CurrentVersion {
  entity: EntityName;
  id: string;
  version: number;
}

/**
 * What a caller said about the version a change applies to. Both parts are optional; when both
 * are given both must hold.
 */
export interface VersionGuard {
  /** The version the caller last saw: a stale one is a VersionConflictError. */
  expectedVersion?: number | undefined;
  /**
   * A check of the current version before the change; it throws to refuse the change. When
   * given, the change is pinned to the version it accepted.
   */
  accept?: ((current: CurrentVersion) => void) | undefined;
}

/** Attempts for an unguarded read-modify-write that lost a race (last writer wins). */
const UNGUARDED_ATTEMPTS = 3;

/**
 * Runs a guarded change:
 * 1. `read` returns the current version (and enforces visibility and authorization);
 * 2. `accept`, when given, may refuse that version;
 * 3. `change` runs with the version the repository must check: `expectedVersion`, else the
 *    version `accept` accepted, else undefined (no check requested; `current` is passed too, for
 *    changes that pin the version they read anyway).
 * A concurrent change between 1 and 3 surfaces as a VersionConflictError when the caller pinned
 * a version (by `expectedVersion` or `accept`), and is retried from step 1 when it pinned nothing.
 */
export async function applyGuarded<T>(
  entity: EntityName,
  id: string,
  guard: VersionGuard,
  read: () => Promise<number>,
  change: (expected: number | undefined, current: number) => Promise<T>,
): Promise<T> {
  if (guard.expectedVersion !== undefined) checkVersion(guard.expectedVersion);
  const pinned = guard.expectedVersion !== undefined || guard.accept !== undefined;
  for (let attempt = 1; ; attempt++) {
    const current = await read();
    guard.accept?.({ entity, id, version: current });
    const expected = guard.expectedVersion ?? (guard.accept ? current : undefined);
    try {
      return await change(expected, current);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || pinned || attempt >= UNGUARDED_ATTEMPTS) throw error;
    }
  }
}

import { VersionConflictError, type EntityName } from '../domain/errors.js';
import { checkVersion } from '../domain/validation.js';
import { PreconditionFailedError } from './errors.js';

/**
 * What a caller said about the version it last saw. Both parts are optional; when both are given
 * both must hold.
 */
export interface VersionGuard {
  /** The `version` field of a body: a stale one is a VersionConflictError (409). */
  version?: number;
  /**
   * The versions an `If-Match` header accepts, or `*` for any. When the current version is not
   * among them the change fails with PreconditionFailedError (412).
   */
  ifMatch?: number[] | '*';
}

/** Attempts for an unguarded read-modify-write that lost a race (last writer wins). */
const UNGUARDED_ATTEMPTS = 3;

/**
 * Runs a guarded change:
 * 1. `read` returns the current version (and enforces visibility and authorization);
 * 2. an If-Match that does not name it fails with 412;
 * 3. `change` runs with the version the repository must check: the body's `version`, else the
 *    version the If-Match matched, else undefined (no check requested).
 * A concurrent change between 1 and 3 surfaces as 412 when only If-Match pinned the version, as
 * 409 when the body did, and is retried from step 1 when the caller pinned nothing.
 */
export async function applyGuarded<T>(
  entity: EntityName,
  id: string,
  guard: VersionGuard,
  read: () => Promise<number>,
  change: (expected: number | undefined, current: number) => Promise<T>,
): Promise<T> {
  if (guard.version !== undefined) checkVersion(guard.version);
  const ifMatch = guard.ifMatch;
  for (let attempt = 1; ; attempt++) {
    const current = await read();
    if (Array.isArray(ifMatch) && !ifMatch.includes(current)) {
      throw new PreconditionFailedError(`If-Match does not match: ${entity} ${id} is at version ${current}`, { entity, id, currentVersion: current });
    }
    const expected = guard.version ?? (Array.isArray(ifMatch) ? current : undefined);
    try {
      return await change(expected, current);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      if (guard.version !== undefined) throw error;
      if (expected !== undefined) throw new PreconditionFailedError(`If-Match does not match: ${entity} ${id} changed while the request ran`, { entity, id });
      if (attempt >= UNGUARDED_ATTEMPTS) throw error;
    }
  }
}

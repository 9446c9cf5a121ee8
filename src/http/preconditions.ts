import { DomainError, VersionConflictError } from '../domain/errors.js';
import type { VersionGuard } from '../services/guard.js';

/**
 * Conditional requests (RFC 9110 §13): the `If-Match` header is HTTP's, so it is read here and
 * handed to the services as a plain version guard. Versions are the entity tags: a resource at
 * version 3 has the strong ETag `"3"` (see etag.ts).
 */

/**
 * The caller's `If-Match` names no version the resource is at. Unlike VersionConflictError (a stale
 * `version` in the body, 409), this is an HTTP precondition and maps to 412.
 */
export class PreconditionFailedError extends DomainError {
  readonly code = 'precondition_failed';
}

/**
 * The If-Match header as the versions it accepts; `*` accepts any; undefined when absent.
 * Strong comparison (RFC 9110 §13.1.1): weak tags (`W/"3"`) and anything that is not one of our
 * tags never match.
 */
export function parseIfMatch(header: string | undefined): number[] | '*' | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return '*';
  const versions: number[] = [];
  for (const tag of value.split(',')) {
    const match = /^\s*"(\d{1,15})"\s*$/.exec(tag);
    if (match) versions.push(Number(match[1]));
  }
  return versions;
}

/**
 * Runs a change under the body's `version` and the `If-Match` header. An If-Match that names no
 * current version fails with 412; so does a concurrent change that lands after If-Match alone
 * pinned the version. A stale body `version` stays a VersionConflictError (409). `If-Match: *`
 * and no header pin nothing.
 */
export async function withPreconditions<T>(
  version: number | undefined,
  ifMatchHeader: string | undefined,
  change: (guard: VersionGuard) => Promise<T>,
): Promise<T> {
  const ifMatch = parseIfMatch(ifMatchHeader);
  const guard: VersionGuard = {};
  if (version !== undefined) guard.expectedVersion = version;
  if (Array.isArray(ifMatch)) {
    guard.accept = ({ entity, id, version: current }) => {
      if (!ifMatch.includes(current)) {
        throw new PreconditionFailedError(`If-Match does not match: ${entity} ${id} is at version ${current}`, {
          entity,
          id,
          currentVersion: current,
        });
      }
    };
  }
  try {
    return await change(guard);
  } catch (error) {
    if (error instanceof VersionConflictError && version === undefined && guard.accept !== undefined) {
      const { entity, id } = error;
      throw new PreconditionFailedError(`If-Match does not match: ${entity} ${id} changed while the request ran`, {
        entity,
        id,
      });
    }
    throw error;
  }
}

import { DomainError } from '../domain/errors.js';

/**
 * The caller's `If-Match` names no version the resource is at. Unlike VersionConflictError (a stale
 * `version` in the body, 409), this is an HTTP precondition and maps to 412.
 */
export class PreconditionFailedError extends DomainError {
  readonly code = 'precondition_failed';
}

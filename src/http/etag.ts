import type { FastifyReply } from 'fastify';
import type { VersionGuard } from '../services/guard.js';

/**
 * Versions as HTTP entity tags: a resource at version 3 has the strong ETag `"3"`. If-Match uses
 * strong comparison (RFC 9110 §13.1.1), so weak tags (`W/"3"`) and anything that is not one of
 * our tags never match.
 */

export function setETag(reply: FastifyReply, version: number): void {
  reply.header('etag', `"${version}"`);
}

/** The If-Match header as the versions it accepts; `*` accepts any; undefined when absent. */
export function parseIfMatch(header: string | undefined): VersionGuard['ifMatch'] {
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

/** The guard of a change request: the body's `version` and/or the If-Match header. */
export function guardOf(version: number | undefined, ifMatch: string | undefined): VersionGuard {
  const guard: VersionGuard = {};
  if (version !== undefined) guard.version = version;
  const parsed = parseIfMatch(ifMatch);
  if (parsed !== undefined) guard.ifMatch = parsed;
  return guard;
}

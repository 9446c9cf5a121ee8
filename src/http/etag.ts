import type { FastifyReply } from 'fastify';

/**
 * Versions as HTTP entity tags: a resource at version 3 has the strong ETag `"3"`. If-Match, which
 * compares against these, is read in preconditions.ts.
 */

export function setETag(reply: FastifyReply, version: number): void {
  reply.header('etag', `"${version}"`);
}

import type { Paged } from '../services/pagination.js';

/** The API shows domain objects in their shared JSON encoding (src/domain/encoding.ts). */
export { conversationJson, messageJson, participantJson, userJson } from '../domain/encoding.js';

/**
 * A page as its JSON text, around the items' array text when the service already serialized
 * them (`Paged.encoded`), with the same fields in the same order as `pageJson`. Send it with
 * `content-type: application/json`: Fastify sends a string as it is.
 */
export function pageText<T>(page: Paged<T>, toJson: (item: T) => unknown): string {
  const { encoded } = page;
  if (encoded === undefined) return JSON.stringify(pageJson(page, toJson));
  const tail = JSON.stringify({ nextCursor: page.nextCursor, prevCursor: page.prevCursor, hasMore: page.hasMore });
  return `{"data":${encoded},${tail.slice(1)}`;
}

export function pageJson<T, J>(page: Paged<T>, toJson: (item: T) => J) {
  return {
    data: page.items.map(toJson),
    nextCursor: page.nextCursor,
    prevCursor: page.prevCursor,
    hasMore: page.hasMore,
  };
}

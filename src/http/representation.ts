import type { Paged } from '../services/pagination.js';

/** The API shows domain objects in their shared JSON encoding (src/domain/encoding.ts). */
export { conversationJson, messageJson, participantJson, userJson } from '../domain/encoding.js';

export function pageJson<T, J>(page: Paged<T>, toJson: (item: T) => J) {
  return {
    data: page.items.map(toJson),
    nextCursor: page.nextCursor,
    prevCursor: page.prevCursor,
    hasMore: page.hasMore,
  };
}

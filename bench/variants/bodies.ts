import { encodeCursor } from '../../src/domain/cursor.js';
import type { Conversation, Message } from '../../src/domain/models.js';
import { conversationJson, messageJson } from '../../src/http/representation.js';

/**
 * Response bodies in the API's shapes, for the L0 and L1 servers. The item mappers are the API's
 * own (src/http/representation.ts), so all three variants answer with the same fields.
 */

/** A page from `limit + 1` rows fetched newest first (the extra row only tells hasMore). */
export function messagePage(rows: Message[], limit: number) {
  const items = rows.slice(0, limit);
  const first = items[0];
  const last = items[items.length - 1];
  const key = (m: Message) => encodeCursor({ at: m.createdAt, id: m.id });
  return {
    data: items.map(messageJson),
    nextCursor: last ? key(last) : null,
    prevCursor: first ? key(first) : null,
    hasMore: rows.length > limit,
  };
}

export function conversationPage(rows: Conversation[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    data: items.map(conversationJson),
    nextCursor: last ? encodeCursor({ at: last.lastMessageAt ?? last.createdAt, id: last.id }) : null,
    prevCursor: null,
    hasMore: rows.length > limit,
  };
}

import { decodeCursor, encodeCursor, type CursorKey } from '../domain/cursor.js';
import { checkLimit } from '../domain/validation.js';
import type { Page } from '../repositories/ports.js';

/**
 * One page of a keyset listing as the API returns it.
 *
 * - `nextCursor` continues in the same direction after the last item. It is set whenever the page
 *   has items (null on an empty page), so a client reading newer messages can keep it to poll for
 *   messages that arrive later; `hasMore` says whether more items exist right now.
 * - `prevCursor` starts from the first item in the opposite direction (null on an empty page).
 */
export interface Paged<T> {
  items: T[];
  hasMore: boolean;
  nextCursor: string | null;
  prevCursor: string | null;
}

export interface PageRequest {
  cursor?: string | undefined;
  limit?: number | string | undefined;
}

export function readPageRequest(request: PageRequest): { after: CursorKey | undefined; limit: number } {
  return {
    after: request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'cursor'),
    limit: checkLimit(request.limit, 'limit'),
  };
}

export function toPaged<T>(page: Page<T>, keyOf: (item: T) => CursorKey, opts: { reversible: boolean }): Paged<T> {
  const first = page.items[0];
  const last = page.items[page.items.length - 1];
  return {
    items: page.items,
    hasMore: page.hasMore,
    nextCursor: last === undefined ? null : encodeCursor(keyOf(last)),
    prevCursor: first === undefined || !opts.reversible ? null : encodeCursor(keyOf(first)),
  };
}

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
  /**
   * The items as the API returns them, as one JSON array text, when the service serialized them
   * to fit the page into its byte budget (`encodedWithinBudget`): the route splices this text
   * into the page instead of serializing the items a second time.
   */
  encoded?: string;
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

/**
 * Ends a page early once its items would serialize to more than `maxBytes`: the items that fit
 * stay (always at least one, however large), and `hasMore` becomes true so the client continues
 * from the last kept item's cursor. Every backend's page goes through here alike.
 */
export function withinBudget<T>(page: Page<T>, sizeOf: (item: T, index: number) => number, maxBytes: number): Page<T> {
  let total = 0;
  for (const [i, item] of page.items.entries()) {
    total += sizeOf(item, i);
    if (total > maxBytes && i > 0) return { items: page.items.slice(0, i), hasMore: true };
  }
  return page;
}

/**
 * `withinBudget` for a page whose items the API sends as `toJson` gives them, serializing them
 * once: the whole array in one `JSON.stringify` (one string, where one call per item builds and
 * drops a buffer per item: about three times the garbage on a page of 50 messages). Only a page
 * over the budget is measured item by item, to cut it where `withinBudget` would.
 */
export function encodedWithinBudget<T>(
  page: Page<T>,
  toJson: (item: T) => unknown,
  maxBytes: number,
): { page: Page<T>; encoded: string } {
  const values = page.items.map(toJson);
  const whole = JSON.stringify(values);
  // The items alone are the array less its brackets and commas; a UTF-16 unit is at most 3 bytes.
  if (whole.length * 3 <= maxBytes || Buffer.byteLength(whole) <= maxBytes) return { page, encoded: whole };
  const texts: string[] = [];
  const kept = withinBudget(
    page,
    (_item, i) => {
      texts[i] = JSON.stringify(values[i]);
      return Buffer.byteLength(texts[i]);
    },
    maxBytes,
  );
  return kept === page
    ? { page, encoded: whole }
    : { page: kept, encoded: `[${texts.slice(0, kept.items.length).join(',')}]` };
}

/** Bytes of an item as the API serializes it (UTF-8 JSON). */
export const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

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

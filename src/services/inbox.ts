import { ValidationError } from '../domain/errors.js';
import type { Conversation } from '../domain/models.js';
import type { InboxPosition, RemovalReason, Store } from '../repositories/ports.js';

/**
 * A user's inbox feed: what changed in their conversation list. Items are states, not deltas —
 * a conversation as it is now, each time its activity, title or metadata changes or the user
 * joins it, and a removal when the user leaves it or it is deleted — so applying one twice is
 * harmless, and the feed needs no per-user log: it is read from the user's participant rows and
 * their conversations' change times (`InboxRepository`), at no cost to a post.
 *
 * The position is a time. Change times are taken before their transaction commits, so a change
 * can become visible after a later one; every read therefore looks `settleMs` behind the position
 * and skips what it already sent. A change is delivered as long as it commits within `settleMs`
 * of its timestamp (the gateway bounds its transactions by its statement and lock timeouts, far
 * below the default), and clocks of several gateways stay within it.
 */

export type InboxItem =
  | { kind: 'conversation'; at: Date; conversation: Conversation }
  | { kind: 'removed'; at: Date; conversationId: string; reason: RemovalReason };

/** A position: a time, and inside a page that was cut, the conversation id reached at that time. */
export interface InboxCursor {
  at: number;
  id: string | null;
}

export interface InboxPage {
  items: InboxItem[];
  /** Where to continue. */
  cursor: InboxCursor;
  /** More items are ready now: read again at once. */
  hasMore: boolean;
  /** The position is older than the retention: re-read the conversation list, then continue from `cursor`. */
  reset: boolean;
}

const CURSOR = /^(\d{1,15})(?:\.([0-9a-f-]{36}))?$/;

export class InboxService {
  constructor(
    private readonly store: Store,
    private readonly options: { retentionMs: number; settleMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  get settleMs(): number {
    return this.options.settleMs;
  }

  /** Parses a client's position (`after`, `Last-Event-ID`); undefined or empty: start now. */
  cursor(value: unknown, field: string): InboxCursor {
    if (value === undefined || value === '') return { at: this.now(), id: null };
    const m = CURSOR.exec(String(value));
    if (!m) throw ValidationError.field(field, 'must be an inbox cursor as a previous answer gave it');
    // A position ahead of this clock (another gateway's, or made up) reads from now.
    return { at: Math.min(Number(m[1]), this.now()), id: m[2] ?? null };
  }

  format(cursor: InboxCursor): string {
    return cursor.id === null ? String(cursor.at) : `${cursor.at}.${cursor.id}`;
  }

  /**
   * Up to `limit` items after the position, oldest first. A settled position (no id) is read
   * from `settleMs` before it, so an item comes again for up to `settleMs` after its time (a
   * stream skips those; a polling client applies them again, harmlessly); a cut page's cursor
   * continues exactly. When nothing more is ready the cursor moves to now.
   */
  async read(userId: string, cursor: InboxCursor, limit: number): Promise<InboxPage> {
    const now = this.now();
    if (cursor.at < now - this.options.retentionMs)
      return { items: [], cursor: { at: now, id: null }, hasMore: false, reset: true };
    const after: InboxPosition =
      cursor.id === null
        ? { at: new Date(cursor.at - this.options.settleMs), id: '' }
        : { at: new Date(cursor.at), id: cursor.id };
    const [changes, removals] = await Promise.all([
      this.store.inbox.changes(userId, after, limit),
      this.store.inbox.removals(userId, after, limit),
    ]);
    const merged: InboxItem[] = [
      ...changes.items.map((c) => ({ kind: 'conversation' as const, at: c.changedAt, conversation: c.conversation })),
      ...removals.items.map((r) => ({
        kind: 'removed' as const,
        at: r.at,
        conversationId: r.conversationId,
        reason: r.reason,
      })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime() || compareIds(idOf(a), idOf(b)));
    const items = merged.slice(0, limit);
    const hasMore = merged.length > limit || changes.hasMore || removals.hasMore;
    const last = items.at(-1);
    const next: InboxCursor = hasMore && last ? { at: last.at.getTime(), id: idOf(last) } : { at: now, id: null };
    return { items, cursor: next, hasMore, reset: false };
  }
}

export const idOf = (item: InboxItem): string =>
  item.kind === 'conversation' ? item.conversation.id : item.conversationId;

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

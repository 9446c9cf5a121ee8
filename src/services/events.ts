import { endsFeedOf, type ConversationEvent } from '../domain/events.js';
import { ValidationError } from '../domain/errors.js';
import { checkLimit } from '../domain/validation.js';
import type { Store } from '../repositories/ports.js';
import { requireParticipant } from './access.js';

/** Why a feed restarts: the events after the client's position are no longer kept, or it is ahead of the log. */
export type ResetReason = 'expired' | 'ahead';

export interface Reset {
  reason: ResetReason;
  /** Resume from here after re-reading the conversation. */
  lastSeq: number;
}

export interface FeedPage {
  events: ConversationEvent[];
  /** Set instead of events when the client must re-read the conversation (never a silent gap). */
  reset: Reset | null;
  /** The position to continue from (`after`). */
  lastSeq: number;
  /** More events are ready now. */
  hasMore: boolean;
  /** The page ends with the caller's removal or the conversation's deletion: the feed is over. */
  ended: boolean;
}

/** One reader's view of a conversation's log, opened while the reader takes part in it. */
export interface Feed {
  conversationId: string;
  userId: string;
  /** Events before this seq happened before the reader (last) joined: not theirs to see. */
  since: number;
}

/**
 * A gap that may still be filled by a write in flight (only on a standalone MongoDB server, where
 * an event is inserted after its seq is claimed): wait this long before calling it lost.
 */
const IN_FLIGHT_MS = 5000;

export class EventService {
  constructor(private readonly store: Store) {}

  /** NotFoundError (404) unless the caller takes part in the conversation now. */
  async open(actorId: string, conversationId: string): Promise<Feed> {
    await requireParticipant(this.store, conversationId, actorId);
    const joined = await this.store.events.joinedSeq(conversationId, actorId);
    return { conversationId, userId: actorId, since: Math.max(joined, 1) };
  }

  /** Parses a client's position (`after`, `Last-Event-ID`): a whole number ≥ 0. */
  position(value: unknown, field: string): number {
    if (value === undefined || value === '') return 0;
    const text = String(value);
    if (!/^\d{1,10}$/.test(text) || Number(text) > 2_147_483_647)
      throw ValidationError.field(field, 'must be an event seq: a whole number from 0 to 2147483647');
    return Number(text);
  }

  async page(actorId: string, conversationId: string, after: number, limit?: number | string): Promise<FeedPage> {
    const n = checkLimit(limit, 'limit');
    return this.read(await this.open(actorId, conversationId), after, n);
  }

  /**
   * Events after `after` the feed's reader may see, contiguous from `after + 1` (or from their
   * join), in seq order, ending at an event that ends their feed. When that run cannot start
   * where it must — the events are pruned, or the client names a seq the log never reached —
   * the answer is a reset.
   */
  async read(feed: Feed, after: number, limit: number): Promise<FeedPage> {
    const { conversationId, userId } = feed;
    const start = Math.max(after, feed.since - 1);
    let page = await this.store.events.list(conversationId, start, limit);
    if (page.items[0] === undefined) {
      const latest = await this.store.events.latestSeq(conversationId);
      if (after > latest) return reset('ahead', latest);
      if (start < latest) {
        // A change may have committed between the two reads: only events missing on a second
        // look, after the seq counter said they exist, were pruned.
        page = await this.store.events.list(conversationId, start, limit);
        if (page.items[0] === undefined) return reset('expired', latest);
      } else return { events: [], reset: null, lastSeq: Math.max(after, start), hasMore: false, ended: false };
    }
    const first = page.items[0]!;
    if (first.seq !== start + 1) {
      // Pruning removes a prefix of the log. With the event at `start` still there, the missing
      // ones are a hole: a write in flight (standalone MongoDB), lost if it stays open.
      const before = start > 0 ? (await this.store.events.list(conversationId, start - 1, 1)).items[0] : undefined;
      const hole = before?.seq === start;
      if (hole && Date.now() - first.at.getTime() < IN_FLIGHT_MS)
        return { events: [], reset: null, lastSeq: start, hasMore: false, ended: false };
      return reset('expired', await this.store.events.latestSeq(conversationId));
    }
    const events: ConversationEvent[] = [];
    let ended = false;
    for (const e of page.items) {
      if (e.seq !== start + events.length + 1) break; // a hole: stop before it, the next read decides
      events.push(e);
      if (endsFeedOf(e, userId)) {
        ended = true;
        break;
      }
    }
    const cut = events.length < page.items.length;
    return {
      events,
      reset: null,
      lastSeq: events.at(-1)!.seq,
      hasMore: !ended && (page.hasMore || cut),
      ended,
    };
  }

  /** Deletes events older than the retention; returns how many went. */
  prune(retentionMs: number): Promise<number> {
    return this.store.events.prune(new Date(Date.now() - retentionMs));
  }
}

function reset(reason: ResetReason, lastSeq: number): FeedPage {
  return { events: [], reset: { reason, lastSeq }, lastSeq, hasMore: false, ended: false };
}

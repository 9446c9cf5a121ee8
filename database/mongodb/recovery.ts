import type { AuditOutbox } from './audit-outbox.js';
import type { AuditDoc, PendingPost } from './document-mapper.js';
import type { MongoContext } from './mongodb-context.js';
import { giveUp, postOf, release, reservedBy, reserves, settlePost } from './posting.js';

/**
 * The repair of what a crash between the steps of a multi-document change leaves on a deployment
 * without transactions (posts: posting.ts; conversation deletes: below), and the deletion of a
 * deleted conversation's messages. See DESIGN.md.
 */

/** A post whose reservation or hidden message is older than this was interrupted; recovery finishes it. */
export const INTERRUPTED_POST_MS = 60_000;
/** Recovery runs at most this often per store (it only looks at interrupted work). */
export const SWEEP_INTERVAL_MS = 10_000;
/** Messages of a deleted conversation are removed this many per statement, so no statement runs long. */
export const DELETE_BATCH = 1000;

export class Recovery {
  private lastSweep = 0;
  private running: Promise<void> | undefined;
  /** Removal of deleted conversations' messages, in the background of reads. */
  private deleting: Promise<void> | undefined;

  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
  ) {}

  /**
   * The rest of a conversation delete once the conversation is marked (and so gone for readers):
   * deliver its audit entries, remove its messages (DELETE_BATCH per statement), remove it. Every
   * step can run again.
   */
  async finishDelete(conversationId: string, outbox: AuditDoc[]): Promise<void> {
    await this.outbox.deliver('conversations', conversationId, outbox);
    for (;;) {
      const batch = await this.ctx.messages
        .find({ conversationId }, { projection: { _id: 1 }, limit: DELETE_BATCH, ...this.ctx.opts() })
        .toArray();
      if (batch.length === 0) break;
      const ids = batch.map((m) => m._id);
      await this.ctx.messages.deleteMany({ conversationId, _id: { $in: ids } }, this.ctx.opts());
    }
    await this.ctx.conversations.deleteOne({ _id: conversationId }, this.ctx.opts());
  }

  /**
   * For reads: sweep() when the last one is older than SWEEP_INTERVAL_MS, or wait for the one in
   * progress. Interrupted deletes are finished in the background: the conversation is gone for
   * readers already, so no read waits for its messages to be removed.
   */
  async maybeSweep(): Promise<void> {
    if (this.running) return this.running;
    if (Date.now() - this.lastSweep < SWEEP_INTERVAL_MS) return;
    return this.sweep({ waitForDeletes: false });
  }

  /**
   * Repairs what interrupted standalone writes left: audit entries waiting in outboxes, posts that
   * stopped between their steps, conversation deletes that stopped after the mark. Failures are
   * logged; the caller's own operation decides its outcome. The bulk port waits for the deletes
   * too (`waitForDeletes`), so that its counts and scans see what readers see.
   */
  sweep(options: { waitForDeletes: boolean } = { waitForDeletes: true }): Promise<void> {
    this.running ??= this.repair()
      .catch((error: unknown) =>
        this.ctx.log.warn({ err: error }, 'MongoDB recovery sweep failed; it runs again later'),
      )
      .finally(() => {
        this.lastSweep = Date.now();
        this.running = undefined;
      });
    const deletes = options.waitForDeletes ? this.queueDeletes() : (this.deleting ?? this.queueDeletes());
    return options.waitForDeletes ? Promise.all([this.running, deletes]).then(() => undefined) : this.running;
  }

  /** A pass over interrupted deletes, after the one in progress (if any). */
  private queueDeletes(): Promise<void> {
    const pass = (this.deleting ?? Promise.resolve())
      .then(() => this.finishInterruptedDeletes())
      .catch((error: unknown) =>
        this.ctx.log.warn({ err: error }, 'removing a deleted conversation failed; recovery runs it again later'),
      );
    const tracked = pass.finally(() => {
      if (this.deleting === tracked) this.deleting = undefined;
    });
    this.deleting = tracked;
    return tracked;
  }

  private async finishInterruptedDeletes(): Promise<void> {
    for await (const c of this.ctx.conversations.find(
      { _deletingAt: { $exists: true } },
      { projection: { _outbox: 1 }, ...this.ctx.opts() },
    )) {
      this.ctx.log.warn({ conversationId: c._id }, 'finishing an interrupted conversation delete');
      await this.finishDelete(c._id, c._outbox ?? []);
    }
  }

  private async repair(): Promise<void> {
    await this.outbox.deliverAll();
    const cutoff = new Date(Date.now() - INTERRUPTED_POST_MS);
    // Reservations of posts that stopped between their steps (the partial index conversations_pending_posts).
    for await (const c of this.ctx.conversations.find(
      { '_pendingPosts.at': { $exists: true, $lt: cutoff } },
      { projection: { _pendingPosts: 1 }, ...this.ctx.opts() },
    )) {
      for (const entry of c._pendingPosts ?? []) if (entry.at < cutoff) await this.settleReservation(c._id, entry);
    }
    // Hidden messages whose reservation is gone (posts of older builds; given-up reservations).
    const stalled = this.ctx.messages.find(
      { _uncountedAt: { $exists: true, $lt: cutoff } },
      { projection: { _outbox: 0 }, ...this.ctx.opts() },
    );
    // A batch settles as a whole, from whichever of its messages comes first.
    const settled = new Set<string>();
    for await (const m of stalled) {
      const first = postOf(m).ids[0]!;
      if (settled.has(first)) continue;
      settled.add(first);
      this.ctx.log.warn(
        { messageId: m._id, conversationId: m.conversationId },
        'finishing an interrupted message post',
      );
      await settlePost(this.ctx, m);
    }
  }

  /**
   * An interrupted post from its reservation. Its first message (a single post's only one) tells
   * how far it got: inserted and still hidden → settled (counted once, or found counted, and
   * revealed; or removed); otherwise a counted post is visible already (a batch reveals its first
   * message last) and only the reservation is left, and an uncounted one never inserted anything.
   */
  private async settleReservation(conversationId: string, entry: PendingPost): Promise<void> {
    const reserved = reservedBy(conversationId, entry);
    const first = await this.ctx.messages.findOne(
      { _id: entry.id },
      { projection: { _outbox: 0 }, ...this.ctx.opts() },
    );
    const log = { messageId: entry.id, conversationId };
    if (
      first?._uncountedAt !== undefined &&
      first.conversationId === conversationId &&
      reserves(entry, postOf(first))
    ) {
      this.ctx.log.warn(log, 'finishing an interrupted message post');
      await settlePost(this.ctx, first);
    } else if (entry.counted) {
      this.ctx.log.warn(log, 'finishing an interrupted message post');
      await release(this.ctx, reserved);
    } else {
      // Stopped before its message was inserted: nothing to count. A post still on its way finds the
      // reservation gone when it counts, removes its messages and answers 503.
      this.ctx.log.warn(log, 'giving up the reservation of an interrupted post');
      await giveUp(this.ctx, reserved);
    }
  }
}

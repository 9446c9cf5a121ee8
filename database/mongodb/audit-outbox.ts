import { MongoBulkWriteError, type Collection } from 'mongodb';
import type { AuditEntry } from '../../src/domain/models.js';
import { toAuditDoc, type AuditDoc } from './document-mapper.js';
import { MONGO } from './map-mongodb-error.js';
import type { MongoContext } from './mongodb-context.js';

/**
 * Audit entries are written in the same single-document update as the change they describe (an
 * `_outbox` array in that document), which MongoDB applies atomically without a transaction.
 * Right after, they are copied to the `audit` collection (idempotently: the entry id is `_id`)
 * and pulled from the document. If that second step is interrupted, the entry waits in the
 * document; every audit read first delivers what waits for the entity it lists, so no reader sees
 * a change without its entry or an entry without its change.
 */

export type OutboxHolder = 'users' | 'conversations' | 'messages';
const HOLDERS: readonly OutboxHolder[] = ['users', 'conversations', 'messages'];

type WithOutbox = { _id: string; _outbox?: AuditDoc[] };

/**
 * Documents with waiting entries, as a query the partial index `*_outbox` serves: it matches the
 * index's partialFilterExpression, and bounds the index's first key field (`_outbox.entity`) —
 * MongoDB considers an index only for a query that constrains its first key, so without the
 * second condition every sweep would read the whole collection.
 */
const WAITING = { '_outbox._id': { $exists: true }, '_outbox.entity': { $exists: true } } as const;

export class AuditOutbox {
  constructor(private readonly ctx: MongoContext) {}

  /** The `$push` fragment that records `entry` with an update. */
  push(entry: AuditEntry): { _outbox: AuditDoc } {
    return { _outbox: toAuditDoc(entry) };
  }

  /** The same inside an update pipeline: `_outbox` with `entry` appended (the entry as a literal, never an expression). */
  append(entry: AuditEntry): { _outbox: object } {
    return { _outbox: { $concatArrays: [{ $ifNull: ['$_outbox', []] }, { $literal: [toAuditDoc(entry)] }] } };
  }

  private collection(holder: OutboxHolder): Collection<WithOutbox> {
    return this.ctx[holder] as unknown as Collection<WithOutbox>;
  }

  /** Copies `entries` waiting in one document to `audit`, then removes them from the document. */
  async deliver(holder: OutboxHolder, docId: string, entries: AuditDoc[]): Promise<void> {
    if (entries.length === 0) return;
    await this.insertOnce(entries);
    await this.collection(holder).updateOne(
      { _id: docId },
      { $pull: { _outbox: { _id: { $in: entries.map((e) => e._id) } } } },
      this.ctx.opts(),
    );
  }

  /**
   * deliver() right after a change. A failure is logged, not thrown: the change and its entry are
   * stored together already, and the entry is delivered by the next read that needs it.
   */
  async deliverAfterWrite(holder: OutboxHolder, docId: string, entry: AuditEntry): Promise<void> {
    try {
      await this.deliver(holder, docId, [toAuditDoc(entry)]);
    } catch (error) {
      this.ctx.log.warn(
        { err: error, collection: holder, id: docId, auditId: entry.id },
        'audit entry waits in its outbox until the next delivery',
      );
    }
  }

  /** Inserts entries; ones already in `audit` (from an earlier, interrupted delivery) are fine. */
  private async insertOnce(entries: AuditDoc[]): Promise<void> {
    try {
      await this.ctx.audit.insertMany(entries, { ordered: false, ...this.ctx.opts() });
    } catch (error) {
      const onlyDuplicates =
        error instanceof MongoBulkWriteError && [error.writeErrors].flat().every((e) => e.code === MONGO.duplicateKey);
      if (!onlyDuplicates) throw error;
    }
  }

  /** Delivers every waiting entry about one entity, wherever it waits (before an audit read). */
  async deliverFor(entity: AuditEntry['entity'], entityId: string): Promise<void> {
    await Promise.all(
      HOLDERS.map(async (holder) => {
        const waiting = this.collection(holder).find(
          { '_outbox._id': { $exists: true }, _outbox: { $elemMatch: { entity, entityId } } },
          { projection: { _outbox: 1 }, ...this.ctx.opts() },
        );
        for await (const doc of waiting) await this.deliver(holder, doc._id, doc._outbox ?? []);
      }),
    );
  }

  /** Delivers every waiting entry (recovery and bulk reads). */
  async deliverAll(): Promise<void> {
    for (const holder of HOLDERS) {
      const waiting = this.collection(holder).find(WAITING, { projection: { _outbox: 1 }, ...this.ctx.opts() });
      for await (const doc of waiting) await this.deliver(holder, doc._id, doc._outbox ?? []);
    }
  }
}

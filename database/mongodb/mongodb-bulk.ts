import { BSON, type ClientSession, type Document } from 'mongodb';
import { DuplicateError } from '../../src/domain/errors.js';
import type { Participant } from '../../src/domain/models.js';
import type { BulkPort, BulkResult, ConflictPolicy, EntityKind, EntityRecords } from '../../src/repositories/ports.js';
import { kindWriters, type KindWriter, type Writers } from './bulk-writers.js';
import {
  CONVERSATION_FIELDS,
  fromAuditDoc,
  fromConversationDoc,
  fromMessageDoc,
  fromParticipantDoc,
  fromUserDoc,
  LIVE,
  MESSAGE_FIELDS,
  USER_FIELDS,
} from './document-mapper.js';
import { text, wholeNumber } from './filter-values.js';
import { compareCodePoints } from './keys.js';
import type { MongoContext } from './mongodb-context.js';
import type { Recovery } from './recovery.js';

const VISIBLE_MESSAGES = { _uncountedAt: { $exists: false } } as const;

/**
 * Records per transaction, and roughly their bytes: MongoDB advises against modifying more than
 * 1000 documents in one transaction, which must also finish within transactionLifetimeLimitSeconds
 * (60 s by default) and fit the storage engine's cache.
 * @see https://www.mongodb.com/docs/manual/core/transactions-production-consideration/
 */
export const TRANSACTION_RECORDS = 1000;
export const TRANSACTION_BYTES = 16 * 1024 * 1024;

/** A batch cut into transactions of at most TRANSACTION_RECORDS records and about TRANSACTION_BYTES. */
function transactionChunks<R>(records: R[]): R[][] {
  const chunks: R[][] = [];
  let chunk: R[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = BSON.calculateObjectSize(r as Document);
    if (chunk.length > 0 && (chunk.length === TRANSACTION_RECORDS || bytes + size > TRANSACTION_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** What one chunk of a batch wrote, for its undo. */
interface Journal<R> {
  inserted: R[];
  /** Overwritten records with their stored form before the batch (undefined: inserted by the same batch). */
  overwritten: { record: R; stored: unknown }[];
}

const emptyJournal = <R>(): Journal<R> => ({ inserted: [], overwritten: [] });

/**
 * Whole-store access. Scans walk `_id` in its binary order (code-point order for strings);
 * participants walk (conversation _id, userId). Each kind's first page, and counts(), run a
 * recovery sweep first so they see what readers see.
 */
export class MongoBulk implements BulkPort {
  private readonly writers: Writers;

  constructor(
    private readonly ctx: MongoContext,
    private readonly recovery: Recovery,
  ) {
    this.writers = kindWriters(ctx);
  }

  scan<K extends EntityKind>(kind: K, after: EntityRecords[K] | null, limit: number): Promise<EntityRecords[K][]> {
    return this.ctx.guard('audit', async () => {
      if (after === null) await this.recovery.sweep();
      const from = (id: string | undefined) => (id === undefined ? {} : { _id: { $gt: id } });
      const afterId =
        after === null || kind === 'participants' ? undefined : text((after as { id?: unknown }).id, 'after.id');
      const page = { sort: { _id: 1 as const }, limit: wholeNumber(limit, 'limit'), ...this.ctx.opts() };
      switch (kind) {
        case 'users':
          return (await this.ctx.users.find(from(afterId), { projection: USER_FIELDS, ...page }).toArray()).map(
            fromUserDoc,
          ) as EntityRecords[K][];
        case 'conversations':
          return (
            await this.ctx.conversations
              .find({ ...from(afterId), ...LIVE }, { projection: CONVERSATION_FIELDS, ...page })
              .toArray()
          ).map(fromConversationDoc) as EntityRecords[K][];
        case 'messages':
          return (
            await this.ctx.messages
              .find({ ...from(afterId), ...VISIBLE_MESSAGES }, { projection: MESSAGE_FIELDS, ...page })
              .toArray()
          ).map(fromMessageDoc) as EntityRecords[K][];
        case 'audit':
          return (await this.ctx.audit.find(from(afterId), page).toArray()).map(fromAuditDoc) as EntityRecords[K][];
        case 'participants':
          return (await this.scanParticipants(after as Participant | null, limit)) as EntityRecords[K][];
        default:
          throw new Error(`unknown kind ${String(kind)}`);
      }
    });
  }

  private async scanParticipants(after: Participant | null, limit: number): Promise<Participant[]> {
    const out: Participant[] = [];
    const cursor = this.ctx.conversations.find(
      { ...(after ? { _id: { $gte: text(after.conversationId, 'after.conversationId') } } : {}), ...LIVE },
      { projection: { participants: 1 }, sort: { _id: 1 }, ...this.ctx.opts() },
    );
    try {
      for await (const doc of cursor) {
        const sorted = [...doc.participants].sort((a, b) => compareCodePoints(a.userId, b.userId));
        for (const p of sorted) {
          if (after && doc._id === after.conversationId && compareCodePoints(p.userId, after.userId) <= 0) continue;
          out.push(fromParticipantDoc(doc._id, p));
          if (out.length === limit) return out;
        }
      }
      return out;
    } finally {
      await cursor.close();
    }
  }

  /**
   * Writes one batch atomically. With transactions: in transactions of at most
   * TRANSACTION_RECORDS records and about TRANSACTION_BYTES, well inside MongoDB's 60 s
   * transaction lifetime and its cache; should a later one fail, the earlier ones are undone. On a
   * standalone server every check runs before the first write, the batch is written with one
   * ordered insertMany plus its overwrites, and if a write still fails (a concurrent writer took a
   * key meanwhile) what the batch wrote is undone. An undo touches only what the batch itself
   * wrote and what is still as it wrote it (see KindWriter).
   */
  insertBatch<K extends EntityKind>(
    kind: K,
    records: EntityRecords[K][],
    onConflict: ConflictPolicy,
  ): Promise<BulkResult> {
    const writer = this.writers[kind] as KindWriter<EntityRecords[K]>;
    return this.ctx.guard(writer.entity, () => this.write(writer, records, onConflict));
  }

  private async write<R>(writer: KindWriter<R>, records: R[], onConflict: ConflictPolicy): Promise<BulkResult> {
    const total: BulkResult = { inserted: 0, skipped: 0, replaced: 0 };
    const done: Journal<R>[] = [];
    for (const chunk of this.ctx.transactions ? transactionChunks(records) : [records]) {
      // A transaction may run its function more than once: each attempt keeps its own journal.
      let journal: Journal<R> = emptyJournal();
      try {
        const result = await this.ctx.atomically((session) => {
          journal = emptyJournal();
          return this.writeChunk(writer, chunk, onConflict, journal, session);
        });
        done.push(journal);
        total.inserted += result.inserted;
        total.skipped += result.skipped;
        total.replaced += result.replaced;
      } catch (error) {
        // A failed transaction wrote nothing; a failed standalone chunk wrote what its journal says.
        await this.undo(writer, this.ctx.transactions ? done : [...done, journal]);
        throw error;
      }
    }
    return total;
  }

  private async writeChunk<R>(
    writer: KindWriter<R>,
    records: R[],
    onConflict: ConflictPolicy,
    journal: Journal<R>,
    session?: ClientSession,
  ): Promise<BulkResult> {
    const result: BulkResult = { inserted: 0, skipped: 0, replaced: 0 };
    if (records.length === 0) return result;
    const stored = await writer.load(records, session);
    const seen = new Set(stored.keys());
    const inserts: R[] = [];
    const overwrites: R[] = [];
    for (const r of records) {
      const key = writer.key(r);
      if (!seen.has(key)) {
        inserts.push(r);
        seen.add(key);
        result.inserted += 1;
      } else if (onConflict === 'fail') {
        throw new DuplicateError(writer.entity, 'id');
      } else if (onConflict === 'skip') {
        result.skipped += 1;
      } else {
        overwrites.push(r);
        result.replaced += 1;
      }
    }
    await writer.check([...inserts, ...overwrites], session);
    if (inserts.length > 0) await writer.insert(inserts, (r) => journal.inserted.push(r), session);
    for (const r of overwrites) {
      await writer.overwrite(r, session);
      journal.overwritten.push({ record: r, stored: stored.get(writer.key(r)) });
    }
    return result;
  }

  /** Best-effort undo of committed writes, newest first; what others changed since stays as they left it. */
  private async undo<R>(writer: KindWriter<R>, journals: Journal<R>[]): Promise<void> {
    let left = 0;
    try {
      for (const journal of [...journals].reverse()) {
        for (const { record, stored } of [...journal.overwritten].reverse()) {
          // An overwrite of a record this batch inserted is undone as that insert.
          const undone =
            stored === undefined ? (await writer.unInsert([record])) === 0 : await writer.unOverwrite(record, stored);
          if (!undone) left += 1;
        }
        left += await writer.unInsert(journal.inserted);
      }
      if (left > 0)
        this.ctx.log.warn(
          { entity: writer.entity, left },
          'undid a failed bulk batch except records others changed since it wrote them',
        );
    } catch (error) {
      this.ctx.log.error({ err: error, entity: writer.entity }, 'could not undo a failed bulk batch; verify the store');
    }
  }

  counts(): Promise<Record<EntityKind, number>> {
    return this.ctx.guard('audit', async () => {
      await this.recovery.sweep();
      const [users, conversations, participants, messages, audit] = await Promise.all([
        this.ctx.users.countDocuments({}, this.ctx.opts()),
        this.ctx.conversations.countDocuments({ ...LIVE }, this.ctx.opts()),
        this.ctx.conversations
          .aggregate<{ n: number }>(
            [{ $match: { ...LIVE } }, { $group: { _id: null, n: { $sum: { $size: '$participants' } } } }],
            this.ctx.opts(),
          )
          .toArray()
          .then((rows) => rows[0]?.n ?? 0),
        this.ctx.messages.countDocuments({ ...VISIBLE_MESSAGES }, this.ctx.opts()),
        this.ctx.audit.countDocuments({}, this.ctx.opts()),
      ]);
      return { users, conversations, participants, messages, audit };
    });
  }
}

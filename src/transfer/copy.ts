import { ENTITY_KINDS, type BulkResult, type EntityKind, type Store } from '../repositories/ports.js';
import type { Progress } from './progress.js';
import { DEFAULT_BATCH, storeRecords } from './records.js';
import { firstRecordNotIn, verifyStores, type VerifyReport } from './verify.js';

export interface CopyOptions {
  /** Allow a target holding records the source does not have. */
  merge?: boolean;
  onConflict?: 'skip' | 'replace';
  batchSize?: number;
  progress?: Progress;
  verifyProgress?: Progress;
}

export interface CopyReport {
  /** True when the target already held part of the source (an interrupted copy) and the copy resumed. */
  resumed: boolean;
  results: Record<EntityKind, BulkResult>;
  verify: VerifyReport;
}

export class CopyTargetError extends Error {
  override name = 'CopyTargetError';
}

/**
 * Streams every record from `source` to `target` in bounded batches, one transaction per batch,
 * kinds in dependency order, each in key order. Memory stays flat whatever the store's size.
 *
 * An interrupted copy leaves the target holding a part of the source. Running the same copy again
 * notices that (every target record is also in the source, unchanged) and resumes: records already
 * there are skipped, so nothing is duplicated. A target with other records needs `merge`.
 * Ends with a verify of the two stores.
 */
export async function copyStores(source: Store, target: Store, options: CopyOptions = {}): Promise<CopyReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const existing = await target.bulk.counts();
  const targetEmpty = ENTITY_KINDS.every((k) => existing[k] === 0);
  let resumed = false;
  let policy: 'fail' | 'skip' | 'replace' = 'fail';
  if (!targetEmpty) {
    if (options.merge) policy = options.onConflict ?? 'skip';
    else {
      const extra = await firstRecordNotIn(storeRecords(target, batchSize), storeRecords(source, batchSize));
      if (extra !== undefined)
        throw new CopyTargetError(
          `the target is not empty and is not part of the source (${extra}); use --merge to copy into it anyway`,
        );
      resumed = true;
      policy = 'skip';
    }
  }
  const results = Object.fromEntries(ENTITY_KINDS.map((k) => [k, { inserted: 0, skipped: 0, replaced: 0 }])) as Record<
    EntityKind,
    BulkResult
  >;
  for await (const batch of storeRecords(source, batchSize)) {
    const kind = batch[0]!.kind;
    const r = await target.bulk.insertBatch(kind, batch.map((x) => x.record) as never[], policy);
    results[kind].inserted += r.inserted;
    results[kind].skipped += r.skipped;
    results[kind].replaced += r.replaced;
    options.progress?.advance(batch.length, kind);
  }
  options.progress?.finish();
  const verify = await verifyStores(source, target, { batchSize, progress: options.verifyProgress });
  return { resumed, results, verify };
}

import { ENTITY_KINDS, type Store } from '../repositories/ports.js';
import { encodeRecord, recordDigest, SetChecksum } from './codec.js';
import { type Counts, zeroCounts } from './format.js';
import type { Progress } from './progress.js';
import { compareRecords, describeRecord, storeRecords, type AnyRecord } from './records.js';

export interface Side {
  counts: Counts;
  /** Order-independent content checksum per kind. */
  checksums: Record<keyof Counts, string>;
}

export interface VerifyReport {
  equal: boolean;
  source: Side;
  target: Side;
  /** The first record (in kind, key order) that is missing on one side or differs. */
  firstDifference?: string;
}

class Tally {
  readonly counts = zeroCounts();
  private readonly sums = Object.fromEntries(ENTITY_KINDS.map((k) => [k, new SetChecksum()])) as Record<
    keyof Counts,
    SetChecksum
  >;
  add(r: AnyRecord): void {
    this.counts[r.kind] += 1;
    this.sums[r.kind].add(recordDigest(r.kind, r.record));
  }
  side(): Side {
    return {
      counts: { ...this.counts },
      checksums: Object.fromEntries(ENTITY_KINDS.map((k) => [k, this.sums[k].hex()])) as Side['checksums'],
    };
  }
}

/** Flattens batches into single records. */
async function* flatten(batches: AsyncIterable<AnyRecord[]>): AsyncGenerator<AnyRecord> {
  for await (const batch of batches) yield* batch;
}

const sameContent = (a: AnyRecord, b: AnyRecord) =>
  JSON.stringify(encodeRecord(a.kind, a.record)) === JSON.stringify(encodeRecord(b.kind, b.record));

/**
 * Compares two record streams, both in (kind, key) order, in one pass: per-kind counts and
 * order-independent checksums, and the first record that is missing on one side or differs.
 */
export async function compareStreams(
  left: AsyncIterable<AnyRecord[]>,
  right: AsyncIterable<AnyRecord[]>,
  progress?: Progress,
): Promise<VerifyReport> {
  const a = flatten(left);
  const b = flatten(right);
  const ta = new Tally();
  const tb = new Tally();
  let firstDifference: string | undefined;
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareRecords(x.value, y.value);
    if (order < 0) {
      firstDifference ??= `${describeRecord(x.value!)} is in the source but not in the target`;
      ta.add(x.value!);
      x = await a.next();
    } else if (order > 0) {
      firstDifference ??= `${describeRecord(y.value!)} is in the target but not in the source`;
      tb.add(y.value!);
      y = await b.next();
    } else {
      if (!sameContent(x.value!, y.value!))
        firstDifference ??= `${describeRecord(x.value!)} differs: source ${JSON.stringify(encodeRecord(x.value!.kind, x.value!.record))} target ${JSON.stringify(encodeRecord(y.value!.kind, y.value!.record))}`;
      ta.add(x.value!);
      tb.add(y.value!);
      progress?.advance(1, x.value!.kind);
      x = await a.next();
      y = await b.next();
    }
  }
  progress?.finish();
  const source = ta.side();
  const target = tb.side();
  const equal =
    firstDifference === undefined &&
    ENTITY_KINDS.every((k) => source.counts[k] === target.counts[k] && source.checksums[k] === target.checksums[k]);
  return { equal, source, target, ...(firstDifference === undefined ? {} : { firstDifference }) };
}

/**
 * Merge-walks `part` against `whole` (both in (kind, key) order) and describes the first record of
 * `part` that `whole` lacks or holds differently; undefined when `part` is contained in `whole`.
 */
export async function firstRecordNotIn(
  part: AsyncIterable<AnyRecord[]>,
  whole: AsyncIterable<AnyRecord[]>,
): Promise<string | undefined> {
  const a = flatten(part);
  const b = flatten(whole);
  let y = await b.next();
  for await (const x of a) {
    while (!y.done && compareRecords(y.value, x) < 0) y = await b.next();
    if (y.done || compareRecords(y.value, x) !== 0) return `${describeRecord(x)} is not in the source`;
    if (!sameContent(x, y.value)) return `${describeRecord(x)} differs from the source`;
  }
  return undefined;
}

export function verifyStores(
  source: Store,
  target: Store,
  options: { batchSize?: number; progress?: Progress } = {},
): Promise<VerifyReport> {
  return compareStreams(
    storeRecords(source, options.batchSize),
    storeRecords(target, options.batchSize),
    options.progress,
  );
}

/** A short human summary: one line per kind, then the first difference. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines = ENTITY_KINDS.map((k) => {
    const s = report.source.counts[k];
    const t = report.target.counts[k];
    const same = s === t && report.source.checksums[k] === report.target.checksums[k];
    return `  ${k.padEnd(14)} source ${String(s).padStart(9)}  target ${String(t).padStart(9)}  ${same ? 'ok' : 'DIFFERENT'}`;
  });
  if (report.firstDifference) lines.push(`  first difference: ${report.firstDifference}`);
  lines.push(report.equal ? 'verify: the stores hold the same records' : 'verify: the stores differ');
  return lines.join('\n');
}

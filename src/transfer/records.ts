import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { ENTITY_KINDS, type EntityKind, type EntityRecords, type Store } from '../repositories/ports.js';
import { recordKey } from './codec.js';

/** One record tagged with its kind: the unit every transfer streams. */
export type AnyRecord = { [K in EntityKind]: { kind: K; record: EntityRecords[K] } }[EntityKind];

export const DEFAULT_BATCH = 1000;

/** Every record of a store, kinds in dependency order, each kind in key order, read in batches. */
export async function* storeRecords(store: Store, batchSize = DEFAULT_BATCH): AsyncGenerator<AnyRecord[]> {
  for (const kind of ENTITY_KINDS) {
    let after: EntityRecords[typeof kind] | null = null;
    for (;;) {
      const batch: EntityRecords[typeof kind][] = await store.bulk.scan(kind, after, batchSize);
      if (batch.length === 0) break;
      yield batch.map((record) => ({ kind, record }) as AnyRecord);
      if (batch.length < batchSize) break;
      after = batch.at(-1)!;
    }
  }
}

/** Position of a record in the global order (kind, then key), for merge walks. */
export function compareRecords(a: AnyRecord, b: AnyRecord): number {
  const k = ENTITY_KINDS.indexOf(a.kind) - ENTITY_KINDS.indexOf(b.kind);
  if (k !== 0) return k;
  const ka = recordKey(a.kind, a.record);
  const kb = recordKey(b.kind, b.record);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export const describeRecord = (r: AnyRecord) => `${r.kind} ${recordKey(r.kind, r.record).replace('\u0000', '/')}`;

const gzipped = (path: string) => /\.gz$/i.test(path);

/** Lines of a file (gunzipped when it ends in .gz), or of stdin for `-`, numbered from 1. */
export async function* readLines(path: string): AsyncGenerator<{ line: string; number: number }> {
  let input: Readable = path === '-' ? process.stdin : createReadStream(path);
  if (gzipped(path)) input = input.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number += 1;
      yield { line, number };
    }
  } finally {
    lines.close();
    if (path !== '-') input.destroy();
  }
}

/** A line sink with backpressure, to a file (gzipped for .gz) or stdout for `-`. */
export class LineWriter {
  private readonly out: Writable;
  private readonly file: Writable | undefined;
  /** The first error of the file or gzip stream (a folder that does not exist, a full disk). */
  private failure: Error | undefined;
  private readonly failed: Promise<never> | undefined;

  constructor(path: string) {
    if (path === '-') {
      this.out = process.stdout;
      return;
    }
    this.file = createWriteStream(path);
    const streams: Writable[] = [this.file];
    if (gzipped(path)) {
      const gzip = createGzip();
      gzip.pipe(this.file);
      this.out = gzip;
      streams.push(gzip);
    } else this.out = this.file;
    // Without a listener such an error would crash the process, and the writes waiting for
    // 'drain' or 'finish' would wait forever; with it, the next write or close rejects.
    this.failed = new Promise<never>((_, reject) => {
      for (const stream of streams) {
        stream.on('error', (error: Error) => {
          this.failure ??= error;
          reject(error);
        });
      }
    });
    this.failed.catch(() => undefined);
  }

  async write(line: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(`${line}\n`)) await this.settle(once(this.out, 'drain'));
  }

  async close(): Promise<void> {
    if (this.out === process.stdout) return;
    if (this.failure) throw this.failure;
    const finished = once(this.file!, 'finish');
    this.out.end();
    await this.settle(finished);
  }

  /** Waits for `event`, or rejects with the stream's failure. */
  private settle(event: Promise<unknown>): Promise<unknown> {
    return this.failed ? Promise.race([event, this.failed]) : event;
  }
}

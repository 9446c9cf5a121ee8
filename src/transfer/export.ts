import { createHash } from 'node:crypto';
import type { Store } from '../repositories/ports.js';
import { recordDigest, recordLine, SetChecksum } from './codec.js';
import { FORMAT_NAME, FORMAT_VERSION, SCHEMA_VERSION, zeroCounts, type Header, type Trailer } from './format.js';
import type { Progress } from './progress.js';
import { DEFAULT_BATCH, LineWriter, storeRecords } from './records.js';

export interface ExportResult {
  counts: Trailer['counts'];
  checksum: string;
}

/**
 * Streams the whole store to `out` (a path, `.gz` for gzip, or `-` for stdout) in bounded
 * batches. The store is read kind by kind; writes that land during the export may or may not be
 * included, so export a quiet store (or use `copy` + `verify`) when it must be exact.
 */
export async function exportStore(
  store: Store,
  out: string,
  options: { batchSize?: number; progress?: Progress; now?: Date } = {},
): Promise<ExportResult> {
  const writer = new LineWriter(out);
  try {
    const header: Header = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      schemaVersion: SCHEMA_VERSION,
      source: store.kind,
      exportedAt: (options.now ?? new Date()).toISOString(),
      counts: await store.bulk.counts(),
    };
    await writer.write(JSON.stringify(header));
    const counts = zeroCounts();
    const hash = createHash('sha256');
    const content = new SetChecksum();
    for await (const batch of storeRecords(store, options.batchSize ?? DEFAULT_BATCH)) {
      for (const { kind, record } of batch) {
        const line = recordLine(kind, record);
        hash.update(line).update('\n');
        content.add(recordDigest(kind, record));
        counts[kind] += 1;
        await writer.write(line);
      }
      options.progress?.advance(batch.length, batch[0]!.kind);
    }
    const trailer: Trailer = {
      trailer: true,
      counts,
      checksum: `sha256:${hash.digest('hex')}`,
      contentChecksum: content.hex(),
    };
    await writer.write(JSON.stringify(trailer));
    options.progress?.finish();
    return { counts, checksum: trailer.checksum };
  } finally {
    await writer.close();
  }
}

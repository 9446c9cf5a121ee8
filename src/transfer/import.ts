import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../domain/errors.js';
import { ENTITY_KINDS, type BulkResult, type EntityKind, type Store } from '../repositories/ports.js';
import { decodeRecord, recordDigest, recordKey, SetChecksum } from './codec.js';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  ImportFileError,
  SCHEMA_VERSION,
  zeroCounts,
  type Counts,
  type Header,
  type Trailer,
} from './format.js';
import type { Progress } from './progress.js';
import { DEFAULT_BATCH, readLines, storeRecords, type AnyRecord } from './records.js';
import { compareStreams, type VerifyReport } from './verify.js';

export interface ImportOptions {
  /** Allow a non-empty target; records whose key exists are skipped or replaced. */
  merge?: boolean;
  onConflict?: 'skip' | 'replace';
  batchSize?: number;
  progress?: Progress;
}

export interface ImportReport {
  header: Header;
  counts: Counts;
  results: Record<EntityKind, BulkResult>;
  /** Present for a plain (non-merge) import: the target compared with the file. */
  verify?: VerifyReport;
}

function parseJson(line: string, number: number): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new ImportFileError(number, `not valid JSON (${(error as Error).message})`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkHeader(value: unknown, number: number): Header {
  if (!isObject(value) || value.format !== FORMAT_NAME)
    throw new ImportFileError(
      number,
      `not a polystore export (the first line must be a header with "format": "${FORMAT_NAME}")`,
    );
  if (value.formatVersion !== FORMAT_VERSION)
    throw new ImportFileError(
      number,
      `unsupported format version ${JSON.stringify(value.formatVersion)}; this build reads version ${FORMAT_VERSION}`,
    );
  if (value.schemaVersion !== SCHEMA_VERSION)
    throw new ImportFileError(
      number,
      `unsupported schema version ${JSON.stringify(value.schemaVersion)}; this build reads version ${SCHEMA_VERSION}`,
    );
  return value as unknown as Header;
}

/**
 * Reads an export file and yields its records in batches, checking everything on the way: the
 * header, each line's JSON and domain schema, key order within each kind, references to users and
 * conversations (unless `references` is false), and at the end the trailer's counts and checksum.
 * Any problem throws ImportFileError with the line number.
 */
export async function* readExportFile(
  path: string,
  options: { batchSize?: number; references?: boolean; onHeader?: (h: Header) => void } = {},
): AsyncGenerator<AnyRecord[]> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const checkRefs = options.references ?? true;
  const users = new Set<string>();
  const conversations = new Set<string>();
  const counts = zeroCounts();
  const hash = createHash('sha256');
  const content = new SetChecksum();
  let header: Header | undefined;
  let trailer: Trailer | undefined;
  let kindIndex = 0;
  let lastKey: string | undefined;
  let batch: AnyRecord[] = [];
  let lastLine = 0;

  const missing = (number: number, what: string, id: string) => {
    throw new ImportFileError(number, `refers to ${what} ${id}, which is not in the file before it`);
  };

  for await (const { line, number } of readLines(path)) {
    lastLine = number;
    if (trailer) throw new ImportFileError(number, 'content after the trailer line');
    if (line.trim() === '') throw new ImportFileError(number, 'empty line');
    const value = parseJson(line, number);
    if (!header) {
      header = checkHeader(value, number);
      options.onHeader?.(header);
      continue;
    }
    if (isObject(value) && value.trailer === true) {
      trailer = value as unknown as Trailer;
      continue;
    }
    if (!isObject(value) || typeof value.kind !== 'string' || !('data' in value))
      throw new ImportFileError(number, 'not a record line ({"kind": …, "data": {…}})');
    const kind = value.kind as EntityKind;
    const index = ENTITY_KINDS.indexOf(kind);
    if (index < 0)
      throw new ImportFileError(
        number,
        `unknown record kind ${JSON.stringify(value.kind)}; expected one of ${ENTITY_KINDS.join(', ')}`,
      );
    if (index < kindIndex)
      throw new ImportFileError(number, `${kind} records must come before ${ENTITY_KINDS[kindIndex]} records`);
    if (index > kindIndex) {
      kindIndex = index;
      lastKey = undefined;
    }
    let record;
    try {
      record = decodeRecord(kind, value.data);
    } catch (error) {
      if (error instanceof DomainError) throw new ImportFileError(number, `fails the ${kind} schema: ${error.message}`);
      throw error;
    }
    const key = recordKey(kind, record);
    if (lastKey !== undefined && key <= lastKey)
      throw new ImportFileError(
        number,
        `${kind} records must be in ascending key order without repeats (as polystore export writes them)`,
      );
    lastKey = key;
    if (checkRefs) {
      const r = record as unknown as Record<string, unknown>;
      if (kind === 'users') users.add(r.id as string);
      if (kind === 'conversations') {
        if (!users.has(r.createdBy as string)) missing(number, 'user', r.createdBy as string);
        conversations.add(r.id as string);
      }
      if (kind === 'participants' || kind === 'messages') {
        if (!conversations.has(r.conversationId as string)) missing(number, 'conversation', r.conversationId as string);
        const userId = (kind === 'participants' ? r.userId : r.authorId) as string;
        if (!users.has(userId)) missing(number, 'user', userId);
      }
    }
    hash.update(line).update('\n');
    content.add(recordDigest(kind, record));
    counts[kind] += 1;
    // Batches hold one kind each.
    if (batch.length > 0 && batch[0]!.kind !== kind) {
      yield batch;
      batch = [];
    }
    batch.push({ kind, record } as AnyRecord);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (!header) throw new ImportFileError(1, 'the file is empty');
  if (!trailer) throw new ImportFileError(lastLine, 'the file ends without a trailer line: it is truncated');
  for (const kind of ENTITY_KINDS) {
    if (trailer.counts?.[kind] !== counts[kind])
      throw new ImportFileError(
        lastLine,
        `the trailer counts ${trailer.counts?.[kind]} ${kind} but the file holds ${counts[kind]}`,
      );
  }
  const checksum = `sha256:${hash.digest('hex')}`;
  if (trailer.checksum !== checksum)
    throw new ImportFileError(
      lastLine,
      `checksum mismatch: the trailer says ${trailer.checksum}, the records give ${checksum}`,
    );
  if (batch.length > 0) yield batch;
}

async function spoolStdin(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'polystore-import-'));
  const path = join(dir, 'stdin.ndjson');
  await pipeline(process.stdin, createWriteStream(path));
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Loads an export file into `store`. The whole file is checked first, so a bad file changes
 * nothing; then records are written one batch per transaction, kinds in dependency order.
 * A plain import refuses a non-empty target and ends by verifying the target against the file.
 */
export async function importFile(store: Store, path: string, options: ImportOptions = {}): Promise<ImportReport> {
  const merge = options.merge ?? false;
  const policy = merge ? (options.onConflict ?? 'skip') : 'fail';
  const stdin = path === '-' ? await spoolStdin() : undefined;
  const file = stdin?.path ?? path;
  try {
    if (!merge) {
      const existing = await store.bulk.counts();
      const nonEmpty = ENTITY_KINDS.filter((k) => existing[k] > 0);
      if (nonEmpty.length > 0) {
        throw new ImportTargetError(
          `the target ${store.kind} database is not empty (${nonEmpty.map((k) => `${existing[k]} ${k}`).join(', ')}); use --merge to add to it`,
        );
      }
    }
    let header: Header | undefined;
    // Pass 1: check everything before writing anything.
    for await (const _ of readExportFile(file, {
      batchSize: options.batchSize,
      references: !merge,
      onHeader: (h) => (header = h),
    }))
      void _;
    // Pass 2: write.
    const results = Object.fromEntries(
      ENTITY_KINDS.map((k) => [k, { inserted: 0, skipped: 0, replaced: 0 }]),
    ) as Record<EntityKind, BulkResult>;
    const counts = zeroCounts();
    for await (const batch of readExportFile(file, { batchSize: options.batchSize, references: false })) {
      const kind = batch[0]!.kind;
      const r = await store.bulk.insertBatch(kind, batch.map((x) => x.record) as never[], policy);
      results[kind].inserted += r.inserted;
      results[kind].skipped += r.skipped;
      results[kind].replaced += r.replaced;
      counts[kind] += batch.length;
      options.progress?.advance(batch.length, kind);
    }
    options.progress?.finish();
    const report: ImportReport = { header: header!, counts, results };
    if (!merge)
      report.verify = await compareStreams(
        readExportFile(file, { batchSize: options.batchSize, references: false }),
        storeRecords(store, options.batchSize),
      );
    return report;
  } finally {
    await stdin?.cleanup();
  }
}

/** The target cannot take the import as asked (not empty without --merge). */
export class ImportTargetError extends Error {
  override name = 'ImportTargetError';
}

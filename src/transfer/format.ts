import type { EntityKind } from '../repositories/ports.js';

/**
 * The export file: newline-delimited JSON.
 *   line 1      header  {"format":"polystore-export","formatVersion":1,"schemaVersion":1,"source":…,"exportedAt":…,"counts":{…}}
 *   lines 2…n   records {"kind":"users","data":{…}} — kinds in dependency order, each in key order
 *   last line   trailer {"trailer":true,"counts":{…},"checksum":"sha256:…","contentChecksum":"…"}
 * `checksum` is sha256 over the record lines (each with its newline); `contentChecksum` is the
 * order-independent checksum that `verify` computes from the domain objects.
 */
export const FORMAT_NAME = 'polystore-export';
export const FORMAT_VERSION = 1;
/** Version of the record shapes (the domain schema), independent of any database's migrations. */
export const SCHEMA_VERSION = 1;

export type Counts = Record<EntityKind, number>;

export interface Header {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  schemaVersion: number;
  source: string;
  exportedAt: string;
  /** Records in the store when the export started. */
  counts: Counts;
}

export interface Trailer {
  trailer: true;
  /** Records written. */
  counts: Counts;
  checksum: string;
  contentChecksum: string;
}

export const zeroCounts = (): Counts => ({ users: 0, conversations: 0, participants: 0, messages: 0, audit: 0 });

/** A problem with an import file, at a line. */
export class ImportFileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'ImportFileError';
  }
}

import type { DatabaseType } from '../../src/config/schema.js';
import type { DatasetParams } from '../dataset.js';

/** The servers: L0 = HTTP ceiling, L1 = database ceiling, L2 = polystore. */
export type ServerVariant = 'L0' | 'L1' | 'L2';
export const VARIANTS: readonly ServerVariant[] = ['L0', 'L1', 'L2'];

/**
 * What a measurement measured: a server, or L1-insert (the L1 server's bare single-row INSERT of
 * a post, the floor a post cannot beat; measured for post-message only).
 */
export type Variant = ServerVariant | 'L1-insert';

/** What the parent tells a server child to be (passed as JSON in BENCH_SERVER). */
export interface ServerSpec {
  variant: ServerVariant;
  type: DatabaseType;
  url: string;
  poolSize: number;
  logLevel: string;
  params: DatasetParams;
  deep: number;
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'log'; line: string }
  | { type: 'failed'; error: string }
  | { type: 'profiled' };

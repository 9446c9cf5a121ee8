import type { DatabaseType } from '../../src/config/schema.js';
import type { DatasetParams } from '../dataset.js';

/** L0 = HTTP ceiling, L1 = database ceiling, L2 = polystore. */
export type Variant = 'L0' | 'L1' | 'L2';
export const VARIANTS: readonly Variant[] = ['L0', 'L1', 'L2'];

/** What the parent tells a server child to be (passed as JSON in BENCH_SERVER). */
export interface ServerSpec {
  variant: Variant;
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

import type { EntityRecords } from '../src/repositories/ports.js';
import {
  allUsers,
  conversation,
  messageBatches,
  participants,
  scaleConversations,
  totalMessages,
  type DatasetParams,
} from './dataset.js';
import type { SeedKind } from './variants/l1/types.js';

export type Insert = <K extends SeedKind>(kind: K, records: EntityRecords[K][]) => Promise<unknown>;

export interface FillResult {
  seconds: number;
  /** Messages per second. */
  rate: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Writes the whole dataset through `insert` (a bulk path: the raw driver's multi-row insert, or
 * Store.bulk.insertBatch) in dependency order, reporting progress every few seconds.
 */
export async function fillDataset(
  p: DatasetParams,
  insert: Insert,
  label: string,
  options: { batch?: number; report?: (line: string) => void } = {},
): Promise<FillResult> {
  const report = options.report ?? ((line: string) => console.log(line));
  const batch = options.batch ?? 5000;
  const started = performance.now();
  await insert('users', allUsers(p));
  const ks = Array.from({ length: p.conversations + 1 }, (_, k) => k);
  for (let i = 0; i < ks.length; i += batch) {
    const slice = ks.slice(i, i + batch);
    await insert(
      'conversations',
      slice.map((k) => conversation(p, k)),
    );
    await insert(
      'participants',
      slice.flatMap((k) => participants(p, k)),
    );
  }
  const scale = scaleConversations(p);
  for (let i = 0; i < scale.length; i += batch) {
    const slice = scale.slice(i, i + batch);
    await insert(
      'conversations',
      slice.map((s) => s.conversation),
    );
    // Participants in slices of their own: a crowd conversation has up to 1,000.
    const members = slice.flatMap((s) => s.participants);
    for (let m = 0; m < members.length; m += batch) await insert('participants', members.slice(m, m + batch));
  }
  const total = totalMessages(p);
  let done = 0;
  let lastReport = performance.now();
  const messagesStarted = performance.now();
  for (const messages of messageBatches(p, batch)) {
    await insert('messages', messages);
    done += messages.length;
    const now = performance.now();
    if (now - lastReport >= 3000 || done === total) {
      lastReport = now;
      report(
        `  [${label}] seeding messages ${fmt(done)}/${fmt(total)} (${fmt((done / (now - messagesStarted)) * 1000)} messages/s)`,
      );
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, rate: total / seconds };
}

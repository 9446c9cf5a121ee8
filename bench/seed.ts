import { isDeepStrictEqual } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { openStore } from '../src/repositories/factory.js';
import { ensureSchema } from '../src/repositories/schema.js';
import type { Store, StoreLogger } from '../src/repositories/ports.js';
import type { Backend } from './backends.js';
import {
  conversation,
  GENERATOR_VERSION,
  hotMessage,
  plan,
  regularMessage,
  scaleConversations,
  SEEDED_BEFORE,
  type DatasetParams,
} from './dataset.js';
import { fillDataset } from './fill.js';
import { openL1Db } from './variants/l1-driver.js';
import type { L1Db } from './variants/l1/types.js';

/**
 * Seeding, reuse and clean-up of the dataset on a backend that keeps data (everything but memory,
 * whose servers load their own copy). The dataset is written through the raw driver's bulk path
 * into a schema created by polystore's own migrations, then read back through polystore's store
 * to prove the two agree on every column's encoding.
 */

export interface Prepared {
  reused: boolean;
  seconds: number;
  /** Messages per second while seeding (0 when reused). */
  rate: number;
}

const quiet: StoreLogger = { info() {}, warn() {}, error() {} };

export function storeConfig(backend: Backend, poolSize = 10): Config {
  return loadConfig({
    env: {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATABASE_TYPE: backend.name,
      DATABASE_URL: backend.url,
      DATABASE_POOL_SIZE: String(poolSize),
    },
    dotenvPath: false,
  });
}

async function withStore<T>(backend: Backend, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(storeConfig(backend).database, quiet);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function withL1<T>(backend: Backend, work: (db: L1Db) => Promise<T>): Promise<T> {
  const db = await openL1Db(backend.name, backend.url, 1);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** The conversations whose counters a run changes (post targets, the hot one, the scale table's crowds), as seeded. */
function touched(p: DatasetParams) {
  const n = Math.min(1000, p.conversations);
  const crowds = scaleConversations(p)
    .map((s) => s.conversation)
    .filter((c) => c.title?.startsWith('Crowd '));
  return [...Array.from({ length: n }, (_, k) => conversation(p, k)), conversation(p, p.conversations), ...crowds];
}

/** Seeds the dataset unless the database already holds exactly this one; always leaves it as seeded. */
export async function prepareDataset(
  backend: Backend,
  p: DatasetParams,
  log: (line: string) => void,
): Promise<Prepared> {
  const known = await withStore(backend, async (store) => (await store.migrator.status()).known);
  const marker = JSON.stringify({ generator: GENERATOR_VERSION, params: p, migrations: known });
  const stored = await withL1(backend, (db) => db.readMarker());
  if (stored === marker) {
    await withL1(backend, (db) => db.restore(SEEDED_BEFORE, touched(p)));
    return { reused: true, seconds: 0, rate: 0 };
  }

  log(
    `  [${backend.name}] ${stored === null ? 'no dataset yet' : 'a different dataset is stored'}: recreating ${backend.name === 'sqlite' ? 'the file' : 'database polystore_bench'} and seeding`,
  );
  await backend.reset();
  await withStore(backend, (store) => ensureSchema(store, { migrate: true }));
  const result = await withL1(backend, async (db) => {
    const filled = await fillDataset(p, (kind, records) => db.insert(kind, records), backend.name, {
      batch: 5000,
      report: log,
    });
    await db.analyze();
    await db.writeMarker(marker);
    return filled;
  });
  return { reused: false, seconds: result.seconds, rate: result.rate };
}

/** Puts the dataset back as seeded (after a run wrote to it). */
export async function restoreDataset(backend: Backend, p: DatasetParams): Promise<void> {
  if (backend.name === 'memory') return;
  await withL1(backend, (db) => db.restore(SEEDED_BEFORE, touched(p)));
}

/**
 * Reads a few seeded records back through polystore's store and compares them with the generator:
 * proof that the raw seeding wrote what the adapter expects. Throws on the first difference.
 */
export async function verifyDataset(backend: Backend, p: DatasetParams, deep: number): Promise<void> {
  if (backend.name === 'memory') return;
  const pl = plan(p, deep);
  await withStore(backend, async (store) => {
    const checks: [string, unknown, unknown][] = [
      ['hot conversation', await store.conversations.get(pl.hotId), conversation(p, p.conversations)],
      ['conversation 0', await store.conversations.get(pl.postTargets[0]!.conversationId), conversation(p, 0)],
      ['deep message', await store.messages.get(pl.hotId, hotMessage(p, p.hot - deep).id), hotMessage(p, p.hot - deep)],
      [
        'message 1',
        await store.messages.get(regularMessage(p, 1).conversationId, regularMessage(p, 1).id),
        regularMessage(p, 1),
      ],
    ];
    for (const [what, stored, expected] of checks) {
      if (!isDeepStrictEqual(stored, expected)) {
        throw new Error(
          `the seeded ${what} reads back differently through polystore:\n  stored:   ${JSON.stringify(stored)}\n  expected: ${JSON.stringify(expected)}`,
        );
      }
    }
  });
}

import { expect } from 'vitest';
import { buildDataSource } from '../../database/typeorm/data-source.js';
import type { TypeormConfig } from '../../database/typeorm/config.js';
import { Db } from '../../database/typeorm/db.js';
import { listForUserSql, POSTGRES_SHARED_MEMBER } from '../../database/typeorm/inbox-index.js';
import { buildCodecs } from '../../database/typeorm/row-mapper.js';
import { dialectFor } from '../../database/typeorm/typeorm-store.js';
import type { Store } from '../../src/repositories/ports.js';
import { configOf, testLogger } from '../support/initializer.js';
import type { StoreInitializer } from '../support/initializer.js';
import { describeBackend } from './harness.js';

const USER = 'plan-heavy-user';

/** Every index a JSON plan (EXPLAIN (FORMAT JSON)) reads, and the tables it scans sequentially. */
function accesses(plan: unknown): { indexes: string[]; seqScans: string[] } {
  const out = { indexes: [] as string[], seqScans: [] as string[] };
  const walk = (node: Record<string, unknown>) => {
    if (typeof node['Index Name'] === 'string') out.indexes.push(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan') out.seqScans.push(String(node['Relation Name']));
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as { Plan: Record<string, unknown> }[])[0]!.Plan);
  return out;
}

type Query = (sql: string, params?: unknown[]) => Promise<unknown[]>;

/**
 * Runs `check` on a data source of the store's database after `seed` wrote the plan's data
 * (everything under ids `plan-…`, removed afterwards).
 */
async function withPlanData(
  store: Store,
  seed: (q: Query) => Promise<void>,
  check: (q: Query, listing: { text: string; params: unknown[] }) => Promise<void>,
): Promise<void> {
  const dialect = dialectFor(configOf(store) as TypeormConfig);
  const dataSource = await buildDataSource(dialect, testLogger);
  await dataSource.initialize();
  const q: Query = (sql, params = []) => dataSource.query(sql, params) as Promise<unknown[]>;
  try {
    await seed(q);
    const { text, params } = listForUserSql(new Db(dataSource, dialect), buildCodecs(dialect), USER, 10);
    await check(q, { text: dialect.placeholders(text), params });
  } finally {
    await q(`DELETE FROM conversations WHERE id LIKE 'plan-%'`);
    await dataSource.destroy();
  }
}

/** USER in `n` conversations of two members (the other one different each time), in per-user mode. */
async function seedSmall(q: Query, n: number): Promise<void> {
  await q(
    `INSERT INTO conversations (id, title, metadata, created_by, created_at, updated_at, last_message_at, activity_at, message_count, version, event_seq, member_count)
           SELECT 'plan-s' || g, NULL, '{}', $1, now() - g * interval '1 second', now(), NULL, now() - g * interval '1 second', 0, 1, 0, 2
           FROM generate_series(1, ${n}) g`,
    [USER],
  );
  await q(
    `INSERT INTO participants (conversation_id, user_id, role, joined_at, activity_at)
           SELECT 'plan-s' || g, u, 'member', now(), now() - g * interval '1 second'
           FROM generate_series(1, ${n}) g, unnest(ARRAY[$1, 'plan-other-' || g]) u`,
    [USER],
  );
}

/** `crowds` shared conversations of `size` other users each (member rows with activity_at NULL). */
async function seedCrowds(q: Query, crowds: number, size: number): Promise<void> {
  await q(`INSERT INTO conversations (id, title, metadata, created_by, created_at, updated_at, last_message_at, activity_at, message_count, version, event_seq, member_count)
           SELECT 'plan-c' || g, NULL, '{}', 'plan-u0', now(), now(), NULL, now() - g * interval '3 second', 0, 1, 0, ${size}
           FROM generate_series(1, ${crowds}) g`);
  await q(`INSERT INTO participants (conversation_id, user_id, role, joined_at, activity_at)
           SELECT 'plan-c' || g, 'plan-u' || u, 'member', now(), NULL
           FROM generate_series(1, ${crowds}) g, generate_series(1, ${size}) u`);
}

async function planOf(q: Query, text: string, params: unknown[] = []): Promise<ReturnType<typeof accesses>> {
  const [row] = (await q(`EXPLAIN (FORMAT JSON) ${text}`, params)) as { 'QUERY PLAN': unknown }[];
  return accesses(row!['QUERY PLAN']);
}

/**
 * PostgreSQL's plan of the inbox listing (database/typeorm/inbox-index.ts, `postgresShared`) for
 * a user in thousands of conversations while the table holds many shared (NULL) member rows of
 * others: the planner then expects thousands of shared rows for the user, and the join form of
 * the shared half walks every conversation by activity (`ix_conversations_activity`), while a
 * match on the columns reads the whole table once the pages are not all-visible. The listing
 * must read the user's rows from the inbox indexes and each conversation by its key.
 */
export function describePostgresInboxPlan(init: StoreInitializer): void {
  describeBackend('postgres inbox plan', init, (test) => {
    test('the listing of a user in 5,000 conversations reads the inbox index and conversations by key only', async (store: Store) => {
      await withPlanData(
        store,
        async (q) => {
          await seedSmall(q, 5000);
          await seedCrowds(q, 20, 500);
          await q('VACUUM ANALYZE participants');
          await q('VACUUM ANALYZE conversations');
        },
        async (q, listing) => {
          const plan = await planOf(q, listing.text, listing.params);
          expect(plan.seqScans).toEqual([]);
          expect(new Set(plan.indexes)).toEqual(
            new Set(['ix_participants_inbox', 'ix_participants_shared', 'pk_conversations']),
          );
          // The data provokes the misestimate: the join form of the shared half takes the walk.
          const joined = await planOf(
            q,
            `SELECT c.id FROM participants p JOIN conversations c ON c.id = p.conversation_id
             WHERE p.user_id = $1 AND p.activity_at IS NULL ORDER BY c.activity_at DESC, c.id DESC LIMIT 11`,
            [USER],
          );
          expect(joined.indexes).toContain('ix_conversations_activity');
        },
      );
    });

    test('the shared half of a user holding a third of all member rows reads ix_participants_shared, not the whole table', async (store: Store) => {
      // As the benchmark's data after a run: one user in 10,000 small conversations, a third of
      // all member rows; as many shared (NULL) rows of others; pages not vacuumed since.
      await withPlanData(
        store,
        async (q) => {
          await seedSmall(q, 10_000);
          await seedCrowds(q, 10, 1000);
          await q('ANALYZE participants');
          await q('ANALYZE conversations');
        },
        async (q, listing) => {
          const plan = await planOf(q, listing.text, listing.params);
          expect(plan.seqScans).toEqual([]);
          expect(plan.indexes).toContain('ix_participants_shared');
          // The data provokes the misestimate: matched on the columns, the planner expects
          // thousands of the user's shared rows (there are none); matched on the index's
          // expression, few: the statistics of the users who have some (10,000 rows over 1,000).
          const estimate = async (where: string) => {
            const [explained] = (await q(
              `EXPLAIN (FORMAT JSON) SELECT conversation_id FROM participants WHERE ${where.replace('?', '$1')}`,
              [USER],
            )) as { 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }[];
            return explained!['QUERY PLAN'][0]!.Plan['Plan Rows'];
          };
          expect(await estimate('user_id = ? AND activity_at IS NULL')).toBeGreaterThan(1000);
          expect(await estimate(POSTGRES_SHARED_MEMBER)).toBeLessThanOrEqual(100);
        },
      );
    });
  });
}

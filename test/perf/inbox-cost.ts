/**
 * What the inbox index costs and saves (issue 13, item 2), measured, not asserted: post p50 at
 * 2, 32, 33 and 1,000 members, a bare single-row INSERT through the raw driver for scale, and
 * list-conversations p50 (pages of 10) at 10 and 10,000 conversations per user, on SQLite,
 * PostgreSQL and MariaDB. The numbers in database/typeorm/DIALECTS.md ("Inbox") come from this script.
 *
 *   TEST_POSTGRES_URL=… TEST_MARIADB_URL=… npx tsx test/perf/inbox-cost.ts [sqlite,postgres,mariadb]
 *
 * Every store is a fresh isolated database made by the backends' test kits, dropped at the end.
 */
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DatabaseConfig } from '../../database/registry.js';
import { typeormTestKit } from '../../database/typeorm/testing.js';
import { uuidv7 } from '../../src/domain/ids.js';
import type { Conversation, Participant, User } from '../../src/domain/models.js';
import { openStore } from '../../src/repositories/factory.js';
import type { Store } from '../../src/repositories/ports.js';
import { newConversation, newMessage, newUser } from '../contract/fixtures.js';

const quiet = { info() {}, warn() {}, error: (obj: object, msg: string) => console.error(msg, obj) };
const kinds = (process.argv[2] ?? 'sqlite,postgres,mariadb').split(',') as ('sqlite' | 'postgres' | 'mariadb')[];
const POSTS = Number(process.env.POSTS ?? 400);

function p50(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * p50 of each variant, run round-robin (one call of each in turn, after a warm-up), so that
 * whatever else loads the machine weighs on every variant alike: the ratios are what to read.
 */
async function interleaved(n: number, variants: Record<string, (i: number) => Promise<unknown>>) {
  const entries = Object.entries(variants);
  const samples = new Map<string, number[]>(entries.map(([name]) => [name, []]));
  for (let i = -50; i < n; i++) {
    for (const [name, run] of entries) {
      const start = performance.now();
      await run(i);
      if (i >= 0) samples.get(name)!.push(performance.now() - start);
    }
  }
  return Object.fromEntries(entries.map(([name]) => [name, p50(samples.get(name)!)]));
}

async function users(store: Store, n: number): Promise<User[]> {
  const list = Array.from({ length: n }, () => newUser());
  for (let i = 0; i < list.length; i += 500) await store.bulk.insertBatch('users', list.slice(i, i + 500), 'fail');
  return list;
}

/** A conversation of `members` (the first one owns it), created through the port. */
async function conversationOf(store: Store, members: User[]): Promise<Conversation> {
  const c = newConversation(members[0]!.id);
  const participants: Participant[] = members.map((u, i) => ({
    conversationId: c.id,
    userId: u.id,
    role: i === 0 ? 'owner' : 'member',
    joinedAt: c.createdAt,
  }));
  const audit = {
    id: uuidv7(),
    actorId: members[0]!.id,
    action: 'create' as const,
    entity: 'conversation' as const,
    entityId: c.id,
    at: new Date(),
    diff: {},
  };
  return store.conversations.create(c, participants, audit);
}

/** `count` conversations of `user` (with one other member), through the bulk port, times spread out. */
async function inboxOf(store: Store, user: User, other: User, count: number): Promise<void> {
  const t0 = Date.now() - count * 1000;
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, (_, j) => {
      const at = new Date(t0 + (i + j) * 1000);
      return newConversation(user.id, { createdAt: at, updatedAt: at, lastMessageAt: at, messageCount: 1 });
    });
    await store.bulk.insertBatch('conversations', batch, 'fail');
    const rows = batch.flatMap((c): Participant[] => [
      { conversationId: c.id, userId: user.id, role: 'owner', joinedAt: c.createdAt },
      { conversationId: c.id, userId: other.id, role: 'member', joinedAt: c.createdAt },
    ]);
    await store.bulk.insertBatch('participants', rows, 'fail');
  }
}

/** A bare single-row INSERT through the raw driver, on a table of its own in the store's database. */
async function bareInsert(
  kind: string,
  config: DatabaseConfig,
): Promise<[(i: number) => Promise<unknown>, () => Promise<void>] | undefined> {
  const url = (config as { url?: string }).url;
  if (kind === 'postgres' && url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      'CREATE TABLE bare_insert (id varchar(64) PRIMARY KEY, body text NOT NULL, at timestamptz(3) NOT NULL)',
    );
    const run = () =>
      client.query('INSERT INTO bare_insert (id, body, at) VALUES ($1, $2, $3)', [uuidv7(), 'hello', new Date()]);
    return [run, () => client.end()];
  }
  if (kind === 'mariadb' && url) {
    const client = await mysql.createConnection({ uri: url, timezone: 'Z' });
    await client.query(
      'CREATE TABLE bare_insert (id VARCHAR(64) PRIMARY KEY, body TEXT NOT NULL, at DATETIME(3) NOT NULL)',
    );
    const run = () =>
      client.execute('INSERT INTO bare_insert (id, body, at) VALUES (?, ?, ?)', [uuidv7(), 'hello', new Date()]);
    return [run, () => client.end()];
  }
  return undefined;
}

async function measure(kind: 'sqlite' | 'postgres' | 'mariadb'): Promise<void> {
  const env = { postgres: process.env.TEST_POSTGRES_URL, mariadb: process.env.TEST_MARIADB_URL, sqlite: undefined }[
    kind
  ];
  if (kind !== 'sqlite' && !env) {
    console.log(`${kind}: skipped (no TEST_${kind.toUpperCase()}_URL)`);
    return;
  }
  const kit = await typeormTestKit[kind].connect(env);
  const made = await kit.create();
  const drop = made.drop;
  // SQLite: the default synchronous mode (NORMAL), not the test kit's FULL, whose fsync per commit
  // would drown what this script compares.
  const config = kind === 'sqlite' ? { ...made.config, synchronous: 'NORMAL' } : made.config;
  const store = await openStore(config as DatabaseConfig, quiet);
  try {
    await store.migrator.up();
    const crowd = await users(store, 1000);
    const variants: Record<string, (i: number) => Promise<unknown>> = {};
    const bare = await bareInsert(kind, config as DatabaseConfig);
    if (bare) variants['bare INSERT'] = bare[0];
    for (const size of [2, 32, 33, 1000]) {
      const c = await conversationOf(store, crowd.slice(0, size));
      const author = crowd[0]!.id;
      variants[`post@${size}`] = (i) =>
        store.messages.post(newMessage(c.id, author, { clientMessageId: `k${i}-${uuidv7()}` }));
    }
    const posts = await interleaved(POSTS, variants);
    await bare?.[1]();
    const lists: Record<string, (i: number) => Promise<unknown>> = {};
    for (const count of [10, 10_000]) {
      const [me, other] = await users(store, 2);
      await inboxOf(store, me!, other!, count);
      lists[`list@${count}`] = () => store.conversations.listForUser({ userId: me!.id, limit: 10 });
    }
    const listed = await interleaved(POSTS, lists);
    const out = Object.entries({ ...posts, ...listed }).map(([name, ms]) => `${name} ${ms.toFixed(3)} ms`);
    console.log(`${kind}: ${out.join(' | ')}`);
  } finally {
    await store.close();
    await drop();
    await kit.close();
  }
}

for (const kind of kinds) await measure(kind);

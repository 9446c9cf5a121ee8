import { DuplicateError, NotFoundError, type EntityName } from '../../src/domain/errors.js';
import type { BulkPort, BulkResult, ConflictPolicy, EntityKind, EntityRecords } from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { rebuildInbox } from './inbox-index.js';
import { insertSql, type Codecs, type RecordCodec } from './row-mapper.js';

const ENTITY: Record<EntityKind, EntityName> = {
  users: 'user',
  conversations: 'conversation',
  participants: 'participant',
  messages: 'message',
  audit: 'audit',
};

/** Bound parameters per statement: well under every dialect's limit (SQLite's is the lowest). */
const MAX_PARAMS = 900;

/**
 * Export/import access. Records are written exactly as given (no recomputed counters or
 * versions); keys are compared in code-point order (binary/"C" collations, see DIALECTS.md).
 */
export class TypeormBulk implements BulkPort {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
  ) {}

  async scan<K extends EntityKind>(
    kind: K,
    after: EntityRecords[K] | null,
    limit: number,
  ): Promise<EntityRecords[K][]> {
    const c = this.codecs[kind] as RecordCodec<EntityRecords[K]>;
    const [where, params] = after === null ? ['', []] : afterKey(c, c.keyOf(after));
    const rows = await this.db.read((sql) =>
      sql.rows(`SELECT ${c.select()} FROM ${c.table}${where} ORDER BY ${c.key.join(', ')} LIMIT ?`, [...params, limit]),
    );
    return rows.map(c.fromRow);
  }

  insertBatch<K extends EntityKind>(
    kind: K,
    records: EntityRecords[K][],
    onConflict: ConflictPolicy,
  ): Promise<BulkResult> {
    const c = this.codecs[kind] as RecordCodec<EntityRecords[K]>;
    const keyOf = (r: EntityRecords[K]) => c.keyOf(r).join('\u0000');
    return this.db.tx(async (sql) => {
      const result: BulkResult = { inserted: 0, skipped: 0, replaced: 0 };
      if (records.length === 0) return result;
      const stored = await existingKeys(sql, c, records);
      if (onConflict === 'fail') {
        const seen = new Set<string>();
        for (const r of records) {
          const k = keyOf(r);
          if (stored.has(k) || seen.has(k)) throw new DuplicateError(ENTITY[kind], 'id');
          seen.add(k);
        }
      }
      if (kind === 'participants' || kind === 'messages') {
        await requireConversations(
          sql,
          (records as { conversationId: string }[]).map((r) => r.conversationId),
        );
      }
      // Later records with the same key win, as if written one after another.
      const inserts = new Map<string, EntityRecords[K]>();
      const updates = new Map<string, EntityRecords[K]>();
      for (const r of records) {
        const k = keyOf(r);
        if (!stored.has(k) && !inserts.has(k)) {
          inserts.set(k, r);
          result.inserted += 1;
        } else if (onConflict === 'skip') {
          result.skipped += 1;
        } else {
          (inserts.has(k) ? inserts : updates).set(k, r);
          result.replaced += 1;
        }
      }
      await insertMany(sql, c, [...inserts.values()]);
      for (const r of updates.values()) await replaceOne(sql, c, r);
      // The inbox index is derived (member counts, members' activity): not part of any record, so
      // rebuilt here for what the batch touched, in its transaction.
      if (kind === 'conversations' || kind === 'participants') {
        const touched = (records as ({ id: string } | { conversationId: string })[]).map((r) =>
          'conversationId' in r ? r.conversationId : r.id,
        );
        await rebuildInbox(sql, [...new Set(touched)]);
      }
      return result;
    });
  }

  async counts(): Promise<Record<EntityKind, number>> {
    const c = this.codecs;
    const [row] = await this.db.read((sql) =>
      sql.rows(
        `SELECT (SELECT COUNT(*) FROM ${c.users.table}) AS users, (SELECT COUNT(*) FROM ${c.conversations.table}) AS conversations,
                (SELECT COUNT(*) FROM ${c.participants.table}) AS participants, (SELECT COUNT(*) FROM ${c.messages.table}) AS messages,
                (SELECT COUNT(*) FROM ${c.audit.table}) AS audit`,
      ),
    );
    return {
      users: Number(row?.users ?? 0),
      conversations: Number(row?.conversations ?? 0),
      participants: Number(row?.participants ?? 0),
      messages: Number(row?.messages ?? 0),
      audit: Number(row?.audit ?? 0),
    };
  }
}

/** `WHERE key > ?` for one key column; the lexicographic form for (conversation_id, user_id). */
function afterKey(c: RecordCodec<unknown>, key: string[]): [string, unknown[]] {
  if (c.key.length === 1) return [` WHERE ${c.key[0]} > ?`, key];
  const [a, b] = c.key;
  return [` WHERE ${a} >= ? AND (${a} > ? OR ${b} > ?)`, [key[0], key[0], key[1]]];
}

/** The keys among `records` that are already stored, joined with NUL like keyOf above. */
async function existingKeys<T>(sql: Sql, c: RecordCodec<T>, records: T[]): Promise<Set<string>> {
  const found = new Set<string>();
  const match = `(${c.key.map((k) => `${k} = ?`).join(' AND ')})`;
  for (const chunk of chunks(records, Math.floor(MAX_PARAMS / c.key.length))) {
    const rows = await sql.rows(
      `SELECT ${c.key.join(', ')} FROM ${c.table} WHERE ${chunk.map(() => match).join(' OR ')}`,
      chunk.flatMap((r) => c.keyOf(r)),
    );
    for (const row of rows) found.add(c.key.map((k) => String(row[k])).join('\u0000'));
  }
  return found;
}

async function insertMany<T>(sql: Sql, c: RecordCodec<T>, records: T[]): Promise<void> {
  for (const chunk of chunks(records, Math.max(1, Math.floor(MAX_PARAMS / c.columns.length)))) {
    await sql.exec(
      insertSql(c, chunk.length),
      chunk.flatMap((r) => c.toParams(r)),
    );
  }
}

/** Overwrites every column of a stored record. An UPDATE, not DELETE + INSERT: a replaced conversation keeps its messages. */
async function replaceOne<T>(sql: Sql, c: RecordCodec<T>, record: T): Promise<void> {
  const values = c.toParams(record);
  const set = c.columns.filter((col) => !c.key.includes(col));
  const byColumn = new Map(c.columns.map((col, i) => [col, values[i]]));
  await sql.exec(
    `UPDATE ${c.table} SET ${set.map((col) => `${col} = ?`).join(', ')} WHERE ${c.key.map((k) => `${k} = ?`).join(' AND ')}`,
    [...set.map((col) => byColumn.get(col)), ...c.keyOf(record)],
  );
}

async function requireConversations(sql: Sql, ids: string[]): Promise<void> {
  const wanted = [...new Set(ids)];
  const found = new Set<string>();
  for (const chunk of chunks(wanted, MAX_PARAMS)) {
    const rows = await sql.rows(`SELECT id FROM conversations WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
    for (const row of rows) found.add(String(row.id));
  }
  const missing = ids.find((id) => !found.has(id));
  if (missing !== undefined) throw new NotFoundError('conversation', missing);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

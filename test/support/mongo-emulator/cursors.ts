import { calculateObjectSize, Long } from 'bson';
import { badValue, CommandError } from './errors.js';
import type { Doc } from './values.js';

/** Server-side cursors: results are computed when the cursor opens and handed out in batches. */

const DEFAULT_FIRST_BATCH = 101;
/** A batch stops growing past this size, as a server's does (16 MiB). */
const BATCH_BYTES = 16 * 1024 * 1024;

interface OpenCursor {
  ns: string;
  rest: Doc[];
}

export class Cursors {
  private readonly open = new Map<string, OpenCursor>();
  private nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000);

  /** A command's cursor reply: the first batch, and a live cursor id when documents remain. */
  reply(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch = false): Doc {
    const [batch, rest] = take(docs, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = Long.ZERO;
    if (rest.length > 0 && !singleBatch) {
      const n = this.nextId++;
      this.open.set(String(n), { ns, rest });
      id = Long.fromNumber(n);
    }
    return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
  }

  getMore(cursorId: unknown, collection: unknown, batchSize: number | undefined): Doc {
    const key = idText(cursorId);
    const cursor = this.open.get(key);
    if (!cursor) throw new CommandError('CursorNotFound', `cursor id ${key} not found`);
    if (typeof collection !== 'string' || !cursor.ns.endsWith(`.${collection}`)) {
      throw new CommandError(
        'BadValue',
        `Requested getMore on namespace '${String(collection)}', but cursor belongs to a different namespace ${cursor.ns}`,
      );
    }
    const [batch, rest] = take(cursor.rest, batchSize ?? Number.MAX_SAFE_INTEGER);
    cursor.rest = rest;
    if (rest.length === 0) this.open.delete(key);
    return {
      cursor: { nextBatch: batch, id: rest.length === 0 ? Long.ZERO : Long.fromString(key), ns: cursor.ns },
      ok: 1,
    };
  }

  kill(ids: unknown[]): Doc {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) {
      const key = idText(id);
      (this.open.delete(key) ? killed : notFound).push(Long.fromString(key));
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  get size(): number {
    return this.open.size;
  }
}

function idText(id: unknown): string {
  if (typeof id === 'number' || typeof id === 'bigint') return String(id);
  if (id instanceof Long) return id.toString();
  throw badValue('cursor id must be a 64-bit integer');
}

function take(docs: Doc[], count: number): [Doc[], Doc[]] {
  const batch: Doc[] = [];
  let bytes = 0;
  for (const doc of docs) {
    if (batch.length >= count) break;
    bytes += calculateObjectSize(doc);
    if (batch.length > 0 && bytes > BATCH_BYTES) break;
    batch.push(doc);
  }
  return [batch, docs.slice(batch.length)];
}

import { CommandError } from './errors.js';
import { idKeyOf, type Collection, type Index } from './storage.js';
import type { Doc } from './values.js';

/**
 * How commands read and write documents: directly (autocommit) or inside a multi-document
 * transaction. A transaction keeps its own versions of the documents it wrote until it commits;
 * the documents and unique keys it touched are locked meanwhile.
 */

export type Write =
  | { kind: 'insert'; doc: Doc }
  | { kind: 'replace'; before: Doc; after: Doc }
  | { kind: 'remove'; doc: Doc };

export interface Scope {
  /** The documents this scope sees, in natural order. */
  visible(collection: Collection): Doc[];
  /** The visible document with this `_id` key text. */
  byId(collection: Collection, id: string): Doc | undefined;
  /**
   * Refuses writes that touch what a transaction holds: an autocommit write waits (Blocked), a
   * transaction's write fails with WriteConflict, as on a server. Changes nothing.
   */
  guard(collection: Collection, writes: Write[]): void;
  /** Applies one write. DuplicateKey when it would take a unique key another document holds. */
  apply(collection: Collection, write: Write): void;
}

/** An autocommit write must wait for a transaction to finish; the dispatcher retries it shortly. */
export class Blocked extends Error {}

const newDocOf = (w: Write): Doc | null => (w.kind === 'insert' ? w.doc : w.kind === 'replace' ? w.after : null);
const idOf = (w: Write): string => idKeyOf(w.kind === 'insert' ? w.doc : w.kind === 'replace' ? w.before : w.doc);

/** Locks held by open transactions, shared by every scope of one emulator. */
export class LockTable {
  /** Collection → `_id` key → the transaction that wrote it. */
  readonly docs = new Map<Collection, Map<string, Transaction>>();
  /** Unique index → key → the transaction whose uncommitted write takes it. */
  readonly keys = new Map<Index, Map<string, Transaction>>();

  docHolder(collection: Collection, id: string): Transaction | undefined {
    return this.docs.get(collection)?.get(id);
  }

  keyHolder(index: Index, key: string): Transaction | undefined {
    return this.keys.get(index)?.get(key);
  }

  /** The first transaction other than `self` holding a document or new unique key of `writes`. */
  holderOf(collection: Collection, writes: Write[], self?: Transaction): Transaction | undefined {
    for (const w of writes) {
      const docHolder = this.docHolder(collection, idOf(w));
      if (docHolder && docHolder !== self) return docHolder;
      const doc = newDocOf(w);
      if (!doc) continue;
      for (const index of collection.indexes) {
        if (!index.unique) continue;
        for (const key of index.keysOf(doc)) {
          const keyHolder = this.keyHolder(index, key);
          if (keyHolder && keyHolder !== self) return keyHolder;
        }
      }
    }
    return undefined;
  }

  release(txn: Transaction): void {
    for (const map of this.docs.values()) for (const [id, holder] of map) if (holder === txn) map.delete(id);
    for (const map of this.keys.values()) for (const [key, holder] of map) if (holder === txn) map.delete(key);
  }
}

/** Autocommit reads and writes: straight to the stored documents. */
export class DirectScope implements Scope {
  constructor(private readonly locks: LockTable) {}

  visible(collection: Collection): Doc[] {
    return [...collection.docs.values()];
  }

  byId(collection: Collection, id: string): Doc | undefined {
    return collection.docs.get(id);
  }

  guard(collection: Collection, writes: Write[]): void {
    if (this.locks.holderOf(collection, writes)) throw new Blocked();
  }

  apply(collection: Collection, write: Write): void {
    const doc = newDocOf(write);
    if (doc) {
      collection.checkUnique(doc, write.kind === 'insert');
      collection.put(doc);
    } else collection.remove(idOf(write));
  }
}

/** One multi-document transaction of a session. */
export class Transaction implements Scope {
  /** Collection → `_id` key → this transaction's version of the document (null: deleted). */
  private readonly writes = new Map<Collection, Map<string, Doc | null>>();
  /** Unique index → key → `_id` key of this transaction's own version holding it. */
  private readonly ownKeys = new Map<Index, Map<string, string>>();
  state: 'open' | 'committed' | 'aborted' = 'open';
  readonly startedAt = Date.now();

  constructor(
    private readonly locks: LockTable,
    readonly sessionId: string,
    readonly txnNumber: number,
  ) {}

  visible(collection: Collection): Doc[] {
    const mine = this.writes.get(collection);
    if (!mine) return [...collection.docs.values()];
    const out: Doc[] = [];
    for (const [id, doc] of collection.docs) {
      const own = mine.has(id) ? mine.get(id) : doc;
      if (own) out.push(own);
    }
    for (const [id, doc] of mine) if (doc && !collection.docs.has(id)) out.push(doc);
    return out;
  }

  byId(collection: Collection, id: string): Doc | undefined {
    const mine = this.writes.get(collection);
    return mine?.has(id) ? (mine.get(id) ?? undefined) : collection.docs.get(id);
  }

  private conflict(): CommandError {
    return new CommandError(
      'WriteConflict',
      'Caused by :: Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
      {},
      ['TransientTransactionError'],
    );
  }

  guard(collection: Collection, writes: Write[]): void {
    if (this.locks.holderOf(collection, writes, this)) throw this.conflict();
  }

  apply(collection: Collection, write: Write): void {
    const id = idOf(write);
    const doc = newDocOf(write);
    let mine = this.writes.get(collection);
    if (!mine) {
      mine = new Map();
      this.writes.set(collection, mine);
    }
    if (doc) this.checkUnique(collection, doc, id, mine, write.kind === 'insert');
    const previous = mine.get(id);
    mine.set(id, doc);
    let docLocks = this.locks.docs.get(collection);
    if (!docLocks) {
      docLocks = new Map();
      this.locks.docs.set(collection, docLocks);
    }
    docLocks.set(id, this);
    this.reserveKeys(collection, id, previous ?? null, doc);
  }

  /** Unique keys as this transaction would leave them: committed holders it replaced or deleted no longer count. */
  private checkUnique(
    collection: Collection,
    doc: Doc,
    id: string,
    mine: Map<string, Doc | null>,
    inserting: boolean,
  ): void {
    for (const index of collection.indexes) {
      if (!index.unique) continue;
      const own = this.ownKeys.get(index);
      for (const key of index.keysOf(doc)) {
        // A committed holder counts unless this transaction replaced or deleted it (then its own version decides, below).
        const holder = index.entries.get(key);
        if (holder !== undefined && !mine.has(holder) && (inserting || holder !== id))
          throw collection.duplicateError(index, doc);
        const ownHolder = own?.get(key);
        if (ownHolder !== undefined && (inserting || ownHolder !== id)) throw collection.duplicateError(index, doc);
      }
    }
  }

  /** Moves the unique keys this transaction holds from `previous` (its own earlier version of the document) to `doc`. */
  private reserveKeys(collection: Collection, id: string, previous: Doc | null, doc: Doc | null): void {
    for (const index of collection.indexes) {
      if (!index.unique) continue;
      let own = this.ownKeys.get(index);
      if (!own) {
        own = new Map();
        this.ownKeys.set(index, own);
      }
      let reserved = this.locks.keys.get(index);
      if (!reserved) {
        reserved = new Map();
        this.locks.keys.set(index, reserved);
      }
      if (previous) {
        for (const key of index.keysOf(previous)) {
          if (own.get(key) !== id) continue;
          own.delete(key);
          if (reserved.get(key) === this) reserved.delete(key);
        }
      }
      if (doc) {
        for (const key of index.keysOf(doc)) {
          own.set(key, id);
          reserved.set(key, this);
        }
      }
    }
  }

  commit(): void {
    if (this.state !== 'open') return;
    // Order does not matter: put() and remove() only drop index entries that still point at their own document.
    for (const [collection, mine] of this.writes)
      for (const [id, doc] of mine) doc ? collection.put(doc) : collection.remove(id);
    this.state = 'committed';
    this.locks.release(this);
  }

  abort(): void {
    if (this.state !== 'open') return;
    this.writes.clear();
    this.ownKeys.clear();
    this.state = 'aborted';
    this.locks.release(this);
  }
}

import { Query } from 'mingo';
import { CommandError } from './errors.js';
import { formatValue, isDoc, keyText, queryView, valuesAt, type Doc } from './values.js';

/** Options for mingo: scripts ($where, $function, $accumulator) are refused, as on a server run with `--noscripting`. */
export const MINGO_OPTIONS = { scriptEnabled: false, useStrictMode: true } as const;

/** Key text of a document's `_id`: the identity used by every map below. */
export const idKeyOf = (doc: Doc): string => keyText([doc._id]);

/** One index of a collection. Only unique indexes keep entries: the emulator never needs an index to find documents. */
export class Index {
  readonly name: string;
  readonly fields: string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  private readonly partial: Query | undefined;
  /** Unique key text → `_id` key text of the document holding it. */
  readonly entries = new Map<string, string>();

  constructor(
    /** The specification as `listIndexes` returns it. */
    readonly spec: Doc,
  ) {
    this.name = spec.name as string;
    this.fields = Object.keys(spec.key as Doc);
    this.unique = spec.unique === true || this.name === '_id_';
    this.sparse = spec.sparse === true;
    this.partial = isDoc(spec.partialFilterExpression)
      ? new Query(spec.partialFilterExpression, MINGO_OPTIONS)
      : undefined;
  }

  /** The key texts `doc` has in this index; none when the partial filter or sparseness leaves it out. */
  keysOf(doc: Doc): string[] {
    if (this.partial && !this.partial.test(queryView(doc))) return [];
    let tuples: unknown[][] = [[]];
    let present = false;
    for (const field of this.fields) {
      const reached = valuesAt(doc, field);
      if (reached.length > 0) present = true;
      // Arrays index each element (multikey); an empty array indexes as undefined, a missing field as null.
      const values =
        reached.length === 0
          ? [null]
          : reached.flatMap((v) => (Array.isArray(v) ? (v.length === 0 ? [undefined] : v) : [v]));
      tuples = tuples.flatMap((t) => values.map((v) => [...t, v]));
    }
    if (this.sparse && !present) return [];
    return [...new Set(tuples.map(keyText))];
  }

  /** `{ field: value }` of `doc` for a duplicate-key error's keyValue. */
  keyValueOf(doc: Doc): Doc {
    return Object.fromEntries(this.fields.map((f) => [f, valuesAt(doc, f)[0] ?? null]));
  }
}

export const ID_INDEX_SPEC: Doc = { v: 2, key: { _id: 1 }, name: '_id_' };

export class Collection {
  /** `_id` key text → document, in insertion (natural) order. Documents are never mutated in place. */
  readonly docs = new Map<string, Doc>();
  readonly indexes: Index[] = [new Index(ID_INDEX_SPEC)];
  /**
   * Called with a document's stored version before and after each write (undefined: none), for
   * tests that measure what a write costs, e.g. the index keys it changes (Index.keysOf of both).
   */
  observe: ((before: Doc | undefined, after: Doc | undefined) => void) | undefined;

  constructor(
    readonly dbName: string,
    readonly name: string,
    /** `create` options as listCollections reports them (validator, validationLevel, ...). */
    public options: Doc = {},
  ) {}

  get ns(): string {
    return `${this.dbName}.${this.name}`;
  }

  index(name: string): Index | undefined {
    return this.indexes.find((i) => i.name === name);
  }

  /** The duplicate-key error MongoDB gives when `doc` takes a unique key another document holds. */
  duplicateError(index: Index, doc: Doc): CommandError {
    const keyValue = index.keyValueOf(doc);
    const shown = Object.entries(keyValue)
      .map(([k, v]) => `${k}: ${formatValue(v)}`)
      .join(', ');
    return new CommandError(
      'DuplicateKey',
      `E11000 duplicate key error collection: ${this.ns} index: ${index.name} dup key: { ${shown} }`,
      {
        keyPattern: index.spec.key,
        keyValue,
      },
    );
  }

  /**
   * Throws DuplicateKey if `doc` would take a unique key held by another document. For an insert
   * every holder is another document, even one with the same `_id`; a replacement may keep its own keys.
   */
  checkUnique(doc: Doc, inserting: boolean): void {
    const self = idKeyOf(doc);
    for (const index of this.indexes) {
      if (!index.unique) continue;
      for (const key of index.keysOf(doc)) {
        const holder = index.entries.get(key);
        if (holder !== undefined && (inserting || holder !== self)) throw this.duplicateError(index, doc);
      }
    }
  }

  /** Stores `doc` (new, or replacing the document with its `_id`). Call checkUnique first. */
  put(doc: Doc): void {
    const id = idKeyOf(doc);
    const previous = this.docs.get(id);
    this.observe?.(previous, doc);
    if (previous) this.unindex(previous, id);
    this.docs.set(id, doc);
    for (const index of this.indexes) if (index.unique) for (const key of index.keysOf(doc)) index.entries.set(key, id);
  }

  remove(id: string): void {
    const previous = this.docs.get(id);
    if (!previous) return;
    this.observe?.(previous, undefined);
    this.unindex(previous, id);
    this.docs.delete(id);
  }

  private unindex(doc: Doc, id: string): void {
    for (const index of this.indexes) {
      if (!index.unique) continue;
      for (const key of index.keysOf(doc)) if (index.entries.get(key) === id) index.entries.delete(key);
    }
  }

  dropIndex(name: string): void {
    const at = this.indexes.findIndex((i) => i.name === name);
    if (at > 0) this.indexes.splice(at, 1);
  }

  /** Adds an index, building unique entries from the documents already stored. */
  addIndex(index: Index): void {
    if (index.unique) {
      for (const [id, doc] of this.docs) {
        for (const key of index.keysOf(doc)) {
          if (index.entries.has(key)) {
            index.entries.clear();
            throw this.duplicateError(index, doc);
          }
          index.entries.set(key, id);
        }
      }
    }
    this.indexes.push(index);
  }
}

/** All databases of one emulator process, in memory. */
export class Catalog {
  private readonly dbs = new Map<string, Map<string, Collection>>();

  collections(db: string): Collection[] {
    return [...(this.dbs.get(db)?.values() ?? [])];
  }

  get(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created implicitly as a write to a missing collection does on a server. */
  ensure(db: string, name: string): Collection {
    return this.get(db, name) ?? this.create(db, name, {});
  }

  create(db: string, name: string, options: Doc): Collection {
    if (!/^[^$\0]+$/.test(name) || name.startsWith('.') || name.endsWith('.'))
      throw new CommandError('InvalidNamespace', `Invalid collection name: ${db}.${name}`);
    if (this.get(db, name)) throw new CommandError('NamespaceExists', `Collection ${db}.${name} already exists.`);
    let collections = this.dbs.get(db);
    if (!collections) {
      collections = new Map();
      this.dbs.set(db, collections);
    }
    const collection = new Collection(db, name, options);
    collections.set(name, collection);
    return collection;
  }

  drop(db: string, name: string): Collection | undefined {
    const collection = this.get(db, name);
    this.dbs.get(db)?.delete(name);
    return collection;
  }

  dropDatabase(db: string): void {
    this.dbs.delete(db);
  }

  databaseNames(): string[] {
    return [...this.dbs.keys()];
  }
}

import { calculateObjectSize, ObjectId } from 'bson';
import { Aggregator, ProcessingMode, Query } from 'mingo';
import type { CommandContext } from './engine.js';
import { badValue, CommandError, failedToParse, typeMismatch } from './errors.js';
import type { Write } from './scope.js';
import { MINGO_OPTIONS, type Collection } from './storage.js';
import { applyUpdate, checkUpdateSpec, sameDocument, upsertDocument } from './updates.js';
import { isDoc, keyText, queryView, sortDocs, type Doc } from './values.js';

/** find, getMore, killCursors, insert, update, delete, findAndModify, aggregate, count. */

export function collectionName(ctx: CommandContext, command: string): string {
  const name = ctx.body[command];
  if (typeof name !== 'string' || name === '')
    throw new CommandError('InvalidNamespace', `collection name has invalid type ${typeof name}`);
  return name;
}

const optionalDoc = (ctx: CommandContext, field: string): Doc | undefined => {
  const value = ctx.body[field];
  if (value === undefined || value === null) return undefined;
  if (!isDoc(value))
    throw typeMismatch(`BSON field '${field}' is the wrong type '${typeof value}', expected type 'object'`);
  return value;
};

const optionalInt = (ctx: CommandContext, field: string): number | undefined => {
  const value = ctx.body[field];
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw typeMismatch(`BSON field '${field}' must be an integer`);
  return n;
};

function compile(filter: Doc): Query {
  try {
    return new Query(filter, MINGO_OPTIONS);
  } catch (error) {
    throw badValue((error as Error).message);
  }
}

/** The documents of `collection` visible in this scope that match `filter`, in natural order. */
export function matching(ctx: CommandContext, collection: Collection | undefined, filter: Doc | undefined): Doc[] {
  if (!collection) return [];
  if (!filter || Object.keys(filter).length === 0) return ctx.scope.visible(collection);
  // An _id equality needs no scan (the result is the same, found faster).
  const id = filter._id;
  const exact = typeof id === 'string' || typeof id === 'number' || id instanceof ObjectId;
  const byId = exact ? ctx.scope.byId(collection, keyText([id])) : undefined;
  const docs = exact ? (byId ? [byId] : []) : ctx.scope.visible(collection);
  const query = compile(queryView(filter));
  try {
    return docs.filter((d) => query.test(queryView(d)));
  } catch (error) {
    throw badValue((error as Error).message);
  }
}

/** `value` with only the paths of an inclusion projection, or without those of an exclusion one. */
function projectPaths(value: unknown, paths: string[][], include: boolean): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => (isDoc(v) || Array.isArray(v) ? projectPaths(v, paths, include) : v));
    return include ? items.filter((_item, i) => isDoc(value[i]) || Array.isArray(value[i])) : items;
  }
  if (!isDoc(value)) return value;
  const out: Doc = {};
  for (const [key, v] of Object.entries(value)) {
    const here = paths.filter((p) => p[0] === key);
    if (here.length === 0) {
      if (!include) out[key] = v;
    } else if (here.some((p) => p.length === 1)) {
      if (include) out[key] = v;
    } else if (isDoc(v) || Array.isArray(v)) {
      out[key] = projectPaths(
        v,
        here.map((p) => p.slice(1)),
        include,
      );
    } else if (!include) out[key] = v;
  }
  return out;
}

/**
 * A find projection. Plain inclusions and exclusions keep the stored values (64-bit integers
 * stay int64); projection operators are mingo's, on the views.
 */
function project(docs: Doc[], projection: Doc | undefined): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  const on = (v: unknown) => v === 1 || v === true;
  const plain = Object.values(projection).every((v) => v === 0 || v === 1 || typeof v === 'boolean');
  const fields = Object.entries(projection).filter(([k]) => k !== '_id');
  const include = fields.length === 0 ? on(projection._id) : on(fields[0]![1]);
  if (plain && fields.every(([, v]) => on(v) === include)) {
    const paths = fields.map(([k]) => k.split('.'));
    const showId = projection._id === undefined || on(projection._id);
    return docs.map((doc) => {
      const { _id, ...rest } = doc;
      const projected = projectPaths(rest, paths, include) as Doc;
      return showId && _id !== undefined ? { _id, ...projected } : projected;
    });
  }
  try {
    return new Query({}, MINGO_OPTIONS).find<Doc>(docs.map(queryView), projection).all();
  } catch (error) {
    throw badValue((error as Error).message);
  }
}

export function find(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'find');
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  let docs = matching(ctx, collection, optionalDoc(ctx, 'filter'));
  const sort = optionalDoc(ctx, 'sort');
  if (sort) docs = sortDocs(docs, sort);
  const skip = optionalInt(ctx, 'skip') ?? 0;
  if (skip < 0) throw badValue('skip value must be non-negative');
  const limit = optionalInt(ctx, 'limit') ?? 0;
  docs = docs.slice(skip, limit === 0 ? undefined : skip + Math.abs(limit));
  docs = project(docs, optionalDoc(ctx, 'projection'));
  const batchSize = optionalInt(ctx, 'batchSize');
  return ctx.emulator.cursors.reply(`${ctx.db}.${name}`, docs, batchSize, ctx.body.singleBatch === true || limit < 0);
}

export function getMore(ctx: CommandContext): Doc {
  return ctx.emulator.cursors.getMore(ctx.body.getMore, ctx.body.collection, optionalInt(ctx, 'batchSize'));
}

export function killCursors(ctx: CommandContext): Doc {
  collectionName(ctx, 'killCursors');
  const ids = ctx.body.cursors;
  if (!Array.isArray(ids)) throw typeMismatch("BSON field 'cursors' must be an array");
  return ctx.emulator.cursors.kill(ids);
}

export function aggregate(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'aggregate');
  const pipeline = ctx.body.pipeline;
  if (!Array.isArray(pipeline) || !pipeline.every(isDoc))
    throw typeMismatch("BSON field 'pipeline' must be an array of objects");
  for (const stage of pipeline as Doc[]) {
    const op = Object.keys(stage)[0];
    if (op === '$out' || op === '$merge')
      throw new CommandError('IllegalOperation', `${op} is not supported by the emulator`);
  }
  const cursor = optionalDoc(ctx, 'cursor');
  if (!cursor) throw failedToParse("The 'cursor' option is required, except for aggregate with the explain argument");
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  let results: Doc[];
  try {
    results = new Aggregator(queryView(pipeline) as Doc[], {
      ...MINGO_OPTIONS,
      processingMode: ProcessingMode.CLONE_INPUT,
    }).run(collection ? ctx.scope.visible(collection).map(queryView) : []) as Doc[];
  } catch (error) {
    throw badValue((error as Error).message);
  }
  const batchSize = cursor.batchSize === undefined ? undefined : Number(cursor.batchSize);
  return ctx.emulator.cursors.reply(`${ctx.db}.${name}`, results, batchSize);
}

export function count(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'count');
  const docs = matching(ctx, ctx.emulator.catalog.get(ctx.db, name), optionalDoc(ctx, 'query'));
  const skip = optionalInt(ctx, 'skip') ?? 0;
  const limit = Math.abs(optionalInt(ctx, 'limit') ?? 0);
  const n = Math.max(0, docs.length - skip);
  return { n: limit === 0 ? n : Math.min(n, limit), ok: 1 };
}

/** Largest document MongoDB stores (maxBsonObjectSize, 16 MiB). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** Refuses a new document over 16 MiB, with the error the server gives for an insert. */
function checkInsertSize(doc: Doc): void {
  const size = calculateObjectSize(doc);
  if (size > MAX_DOCUMENT_BYTES)
    throw badValue(`object to insert too large. size in bytes: ${size}, max size: ${MAX_DOCUMENT_BYTES}`);
}

/** Refuses an updated (or upserted) document over 16 MiB, as the server's update stage does. */
function checkUpdatedSize(doc: Doc, command: string): void {
  if (calculateObjectSize(doc) > MAX_DOCUMENT_BYTES)
    throw new CommandError(
      'BSONObjectTooLarge',
      `Plan executor error during ${command} :: caused by :: Resulting document after update is larger than ${MAX_DOCUMENT_BYTES}`,
    );
}

/** Applies `writes` after checking no transaction holds what they touch. */
function write(ctx: CommandContext, collection: Collection, writes: Write[]): void {
  ctx.scope.guard(collection, writes);
  for (const w of writes) ctx.scope.apply(collection, w);
}

function statements(ctx: CommandContext, field: string): Doc[] {
  const list = ctx.body[field];
  if (!Array.isArray(list) || !list.every(isDoc))
    throw typeMismatch(`BSON field '${field}' must be an array of objects`);
  return list as Doc[];
}

/** Runs the statements of a write command in order; write errors are reported, not thrown. */
async function eachStatement(ctx: CommandContext, list: Doc[], run: (stmt: Doc) => void): Promise<Doc[]> {
  const ordered = ctx.body.ordered !== false;
  const writeErrors: Doc[] = [];
  for (const [index, stmt] of list.entries()) {
    try {
      await ctx.perform(() => run(stmt));
    } catch (error) {
      // A transaction's write conflict fails the whole command with its label, as on a server.
      if (!(error instanceof CommandError) || error.errorLabels.length > 0) throw error;
      writeErrors.push(error.toWriteError(index));
      if (ordered) break;
    }
  }
  return writeErrors;
}

const withErrors = (reply: Doc, writeErrors: Doc[]): Doc =>
  writeErrors.length > 0 ? { ...reply, writeErrors, ok: 1 } : { ...reply, ok: 1 };

export async function insert(ctx: CommandContext): Promise<Doc> {
  const name = collectionName(ctx, 'insert');
  const docs = statements(ctx, 'documents');
  const collection = ctx.emulator.catalog.ensure(ctx.db, name);
  let n = 0;
  const writeErrors = await eachStatement(ctx, docs, (doc) => {
    const stored = doc._id === undefined ? { _id: new ObjectId(), ...doc } : doc;
    checkInsertSize(stored);
    ctx.emulator.validate(collection, stored);
    write(ctx, collection, [{ kind: 'insert', doc: stored }]);
    n += 1;
  });
  return withErrors({ n }, writeErrors);
}

export async function update(ctx: CommandContext): Promise<Doc> {
  const name = collectionName(ctx, 'update');
  const list = statements(ctx, 'updates');
  const collection = ctx.emulator.catalog.ensure(ctx.db, name);
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const writeErrors = await eachStatement(ctx, list, (stmt) => {
    const q = isDoc(stmt.q) ? stmt.q : {};
    const u = checkUpdateSpec(stmt.u);
    const arrayFilters = Array.isArray(stmt.arrayFilters) ? (stmt.arrayFilters as Doc[]) : undefined;
    const found = matching(ctx, collection, q);
    const targets = stmt.multi === true ? found : found.slice(0, 1);
    if (targets.length === 0) {
      if (stmt.upsert !== true) return;
      const doc = upsertDocument(q, u, arrayFilters);
      checkUpdatedSize(doc, 'update');
      ctx.emulator.validate(collection, doc);
      write(ctx, collection, [{ kind: 'insert', doc }]);
      n += 1;
      upserted.push({ index: list.indexOf(stmt), _id: doc._id });
      return;
    }
    const writes: Write[] = [];
    for (const before of targets) {
      const after = applyUpdate(before, u, { arrayFilters, inserting: false });
      if (sameDocument(before, after)) continue;
      checkUpdatedSize(after, 'update');
      ctx.emulator.validate(collection, after, before);
      writes.push({ kind: 'replace', before, after });
    }
    write(ctx, collection, writes);
    n += targets.length;
    nModified += writes.length;
  });
  return withErrors({ n, nModified, ...(upserted.length > 0 ? { upserted } : {}) }, writeErrors);
}

async function remove(ctx: CommandContext): Promise<Doc> {
  const name = collectionName(ctx, 'delete');
  const list = statements(ctx, 'deletes');
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  let n = 0;
  const writeErrors = await eachStatement(ctx, list, (stmt) => {
    if (!collection) return;
    const limit = Number(stmt.limit ?? 0);
    if (limit !== 0 && limit !== 1)
      throw failedToParse(`The limit field in delete objects must be 0 or 1. Got ${limit}`);
    const found = matching(ctx, collection, isDoc(stmt.q) ? stmt.q : {});
    const targets = limit === 1 ? found.slice(0, 1) : found;
    write(
      ctx,
      collection,
      targets.map((doc) => ({ kind: 'remove', doc })),
    );
    n += targets.length;
  });
  return withErrors({ n }, writeErrors);
}
export { remove as delete };

export async function findAndModify(ctx: CommandContext): Promise<Doc> {
  const name = collectionName(ctx, 'findAndModify');
  const query = optionalDoc(ctx, 'query') ?? {};
  const sort = optionalDoc(ctx, 'sort');
  const fields = optionalDoc(ctx, 'fields');
  const removing = ctx.body.remove === true;
  if (removing === (ctx.body.update !== undefined))
    throw failedToParse('Either an update or remove=true must be specified');
  const u = removing ? undefined : checkUpdateSpec(ctx.body.update);
  const arrayFilters = Array.isArray(ctx.body.arrayFilters) ? (ctx.body.arrayFilters as Doc[]) : undefined;
  const returnNew = ctx.body.new === true;
  const collection = ctx.emulator.catalog.ensure(ctx.db, name);
  return ctx.perform(() => {
    let found = matching(ctx, collection, query);
    if (sort) found = sortDocs(found, sort);
    const target = found[0];
    const shown = (doc: Doc | null) => (doc === null ? null : project([doc], fields)[0]);
    if (!target) {
      if (u === undefined || ctx.body.upsert !== true)
        return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      const doc = upsertDocument(query, u, arrayFilters);
      checkUpdatedSize(doc, 'findAndModify');
      ctx.emulator.validate(collection, doc);
      write(ctx, collection, [{ kind: 'insert', doc }]);
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
        value: returnNew ? shown(doc) : null,
        ok: 1,
      };
    }
    if (u === undefined) {
      write(ctx, collection, [{ kind: 'remove', doc: target }]);
      return { lastErrorObject: { n: 1 }, value: shown(target), ok: 1 };
    }
    const after = applyUpdate(target, u, { arrayFilters, inserting: false });
    if (!sameDocument(target, after)) {
      checkUpdatedSize(after, 'findAndModify');
      ctx.emulator.validate(collection, after, target);
      write(ctx, collection, [{ kind: 'replace', before: target, after }]);
    }
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: shown(returnNew ? after : target), ok: 1 };
  });
}

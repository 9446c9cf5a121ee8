import { Long, ObjectId, serialize } from 'bson';
import { Aggregator, updateOne } from 'mingo';
import { CommandError, failedToParse } from './errors.js';
import { MINGO_OPTIONS } from './storage.js';
import { retypeOperatorUpdate, retypePipelineUpdate } from './numbers.js';
import { cloneDoc, formatValue, isDoc, keyText, queryView, type Doc } from './values.js';

/**
 * Applying an update's `u` to a document, as the `update` and `findAndModify` commands do:
 * operator documents, whole-document replacements and aggregation-pipeline updates. mingo does
 * the operators; this module adds MongoDB's checks around them.
 */

const OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$rename',
  '$currentDate',
  '$bit',
  '$setOnInsert',
]);
const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

export type UpdateSpec = Doc | Doc[];

export function checkUpdateSpec(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    for (const stage of u) {
      const name = isDoc(stage) ? Object.keys(stage)[0] : undefined;
      if (!name || !PIPELINE_STAGES.has(name))
        throw new CommandError('InvalidOptions', `${String(name)} is not allowed to be used within an update`);
    }
    return u as Doc[];
  }
  if (!isDoc(u)) throw new CommandError('FailedToParse', 'Update argument must be either an object or an array');
  const keys = Object.keys(u);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length > 0 && operators.length !== keys.length) {
    throw failedToParse(
      `Unknown modifier: ${keys.find((k) => !k.startsWith('$'))}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  for (const op of operators) {
    if (!OPERATORS.has(op))
      throw failedToParse(
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    if (!isDoc(u[op]))
      throw failedToParse(
        `Modifiers operate on fields but we found type ${typeof u[op]} instead. For example: {$mod: {<field>: ...}} not {${op}: ${String(u[op])}}`,
      );
  }
  if (isDoc(u.$inc)) {
    for (const [path, by] of Object.entries(u.$inc)) {
      const numeric = typeof by === 'number' || by instanceof Long;
      if (!numeric)
        throw new CommandError(
          'TypeMismatch',
          `Cannot increment with non-numeric argument: {${path}: ${formatValue(by)}}`,
        );
    }
  }
  checkConflicts(u);
  return u;
}

export const isOperatorUpdate = (u: UpdateSpec): boolean =>
  !Array.isArray(u) && Object.keys(u).some((k) => k.startsWith('$'));

/** `$set: {a: 1}, $inc: {a: 1}` (or `a` and `a.b`) in one update is an error on a server. */
function checkConflicts(u: Doc): void {
  const paths: string[] = [];
  for (const [op, fields] of Object.entries(u)) {
    if (!op.startsWith('$')) continue;
    for (const [path, value] of Object.entries(fields as Doc)) {
      paths.push(path);
      if (op === '$rename' && typeof value === 'string') paths.push(value);
    }
  }
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && !b.startsWith(`${a}.`)) continue;
      if (a === b && paths.indexOf(a) === paths.lastIndexOf(a)) continue;
      throw new CommandError(
        'ConflictingUpdateOperators',
        `Updating the path '${a}' would create a conflict at '${a}'`,
      );
    }
  }
}

function mingoError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  return new CommandError('BadValue', (error as Error).message);
}

/**
 * The document after applying `u` to `before` (which is not changed). `inserting` applies
 * `$setOnInsert` (an upsert creating the document).
 */
export function applyUpdate(before: Doc, u: UpdateSpec, options: { arrayFilters?: Doc[]; inserting: boolean }): Doc {
  let after: Doc;
  // mingo works on the views (64-bit integers as JS numbers); the retype functions give the result
  // the numeric types a server would store.
  const view = () => cloneDoc(queryView(before));
  if (Array.isArray(u)) {
    // An update pipeline is an aggregation pipeline of the stages checkUpdateSpec allows, run on the one document.
    try {
      after = new Aggregator(queryView(u), MINGO_OPTIONS).run([view()])[0] as Doc;
    } catch (error) {
      throw mingoError(error);
    }
    after = retypePipelineUpdate(before, after);
  } else if (isOperatorUpdate(u)) {
    const { $setOnInsert, ...modifier } = queryView(u) as Doc;
    const docs = [view()];
    try {
      const arrayFilters = queryView(options.arrayFilters ?? []);
      if (Object.keys(modifier).length > 0) updateOne(docs, {}, modifier, { arrayFilters }, MINGO_OPTIONS);
      if (options.inserting && isDoc($setOnInsert)) updateOne(docs, {}, { $set: $setOnInsert }, {}, MINGO_OPTIONS);
    } catch (error) {
      throw mingoError(error);
    }
    after = retypeOperatorUpdate(before, docs[0]!, u as Doc, options.inserting);
  } else {
    if (u._id !== undefined && keyText([u._id]) !== keyText([before._id])) throw immutableId();
    const { _id, ...rest } = u;
    after = cloneDoc({ _id: before._id, ...rest });
  }
  if (before._id !== undefined && keyText([after._id]) !== keyText([before._id])) throw immutableId();
  // Keep _id first, as a server stores it.
  if (Object.keys(after)[0] !== '_id' && after._id !== undefined) {
    const { _id, ...rest } = after;
    after = { _id, ...rest };
  }
  return after;
}

const immutableId = () =>
  new CommandError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");

/** True when the update changed nothing (nModified counts only real changes). */
export function sameDocument(a: Doc, b: Doc): boolean {
  return Buffer.from(serialize(a)).equals(Buffer.from(serialize(b)));
}

/** The document an upsert starts from: the equality conditions of its query (including inside $and). */
export function upsertSeed(query: Doc): Doc {
  const seed: Doc = {};
  const collect = (q: Doc) => {
    for (const [key, value] of Object.entries(q)) {
      if (key === '$and' && Array.isArray(value)) {
        for (const part of value) if (isDoc(part)) collect(part);
        continue;
      }
      if (key.startsWith('$')) continue;
      if (isDoc(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
        if ('$eq' in value) setPath(seed, key, value.$eq);
        continue;
      }
      setPath(seed, key, value);
    }
  };
  collect(query);
  return seed;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isDoc(at[part])) at[part] = {};
    at = at[part] as Doc;
  }
  at[parts.at(-1)!] = value;
}

/** A new document for an upsert that matched nothing. */
export function upsertDocument(query: Doc, u: UpdateSpec, arrayFilters: Doc[] | undefined): Doc {
  const seed = upsertSeed(query);
  if (!Array.isArray(u) && !isOperatorUpdate(u)) return { _id: seed._id ?? u._id ?? new ObjectId(), ...withoutId(u) };
  const doc = applyUpdate(seed, u, { arrayFilters, inserting: true });
  return doc._id === undefined ? { _id: new ObjectId(), ...doc } : doc;
}

function withoutId(doc: Doc): Doc {
  const { _id, ...rest } = doc;
  return rest;
}

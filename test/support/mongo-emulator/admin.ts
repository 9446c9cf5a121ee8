import { Query } from 'mingo';
import { collectionName } from './crud.js';
import type { CommandContext } from './engine.js';
import { badValue, CommandError, typeMismatch } from './errors.js';
import { checkSchema } from './json-schema.js';
import { ID_INDEX_SPEC, Index, MINGO_OPTIONS } from './storage.js';
import { isDoc, keyText, type Doc } from './values.js';

/** create, collMod, drop, dropDatabase, createIndexes, dropIndexes, listIndexes, listCollections. */

/** Fields every command may carry that are not options of the command itself. */
const GENERIC_FIELDS = new Set([
  '$db',
  'lsid',
  '$clusterTime',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'writeConcern',
  'readConcern',
  '$readPreference',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  'comment',
  'maxTimeMS',
]);

function options(body: Doc, command: string): Doc {
  return Object.fromEntries(Object.entries(body).filter(([k]) => k !== command && !GENERIC_FIELDS.has(k)));
}

/** The validation options the emulator enforces, for create and collMod. */
const VALIDATION_OPTIONS = ['validator', 'validationLevel', 'validationAction'];

/**
 * Options of MongoDB's `create` the emulator does not implement (capped and time-series
 * collections, views, collations, clustered indexes, ...). It refuses them instead of ignoring them.
 */
const UNIMPLEMENTED_CREATE_OPTIONS = new Set([
  'capped',
  'size',
  'max',
  'autoIndexId',
  'storageEngine',
  'indexOptionDefaults',
  'viewOn',
  'pipeline',
  'collation',
  'timeseries',
  'expireAfterSeconds',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'encryptedFields',
  'idIndex',
  'recordIdsReplicated',
]);

const ENUMS: Record<string, readonly string[]> = {
  validationLevel: ['off', 'strict', 'moderate'],
  validationAction: ['error', 'warn'],
};

/** Refuses validation options MongoDB would refuse: a validator that does not parse, an unknown level or action. */
function checkValidation(command: string, opts: Doc): void {
  for (const [field, allowed] of Object.entries(ENUMS)) {
    const value = opts[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !allowed.includes(value))
      throw badValue(`Enumeration value '${String(value)}' for field '${command}.${field}' is not a valid value.`);
  }
  const validator = opts.validator;
  if (validator === undefined) return;
  if (!isDoc(validator)) throw typeMismatch("'validator' has to be a document.");
  const { $jsonSchema, ...query } = validator;
  if ($jsonSchema !== undefined) checkSchema($jsonSchema);
  try {
    new Query(query, MINGO_OPTIONS);
  } catch (error) {
    throw badValue((error as Error).message);
  }
}

export function create(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'create');
  const opts = options(ctx.body, 'create');
  for (const key of Object.keys(opts)) {
    if (UNIMPLEMENTED_CREATE_OPTIONS.has(key))
      throw new CommandError('InvalidOptions', `create option '${key}' is not supported by the emulator`);
    // As a server does for any field its command schema does not have.
    if (!VALIDATION_OPTIONS.includes(key))
      throw new CommandError('IDLUnknownField', `BSON field 'create.${key}' is an unknown field.`);
  }
  checkValidation('create', opts);
  ctx.emulator.catalog.create(ctx.db, name, opts);
  return { ok: 1 };
}

export function collMod(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'collMod');
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const changes = options(ctx.body, 'collMod');
  for (const key of Object.keys(changes)) {
    if (!VALIDATION_OPTIONS.includes(key))
      throw new CommandError('InvalidOptions', `collMod option '${key}' is not supported by the emulator`);
  }
  checkValidation('collMod', changes);
  collection.options = { ...collection.options, ...changes };
  return { ok: 1 };
}

export function drop(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'drop');
  const dropped = ctx.emulator.catalog.drop(ctx.db, name);
  // Since MongoDB 7.0 dropping a missing collection succeeds.
  return dropped ? { nIndexesWas: dropped.indexes.length, ns: dropped.ns, ok: 1 } : { ok: 1 };
}

export function dropDatabase(ctx: CommandContext): Doc {
  ctx.emulator.catalog.dropDatabase(ctx.db);
  return { ok: 1 };
}

/** The options that make two index specifications different indexes. */
const optionsText = (spec: Doc) =>
  keyText([
    spec.unique === true,
    spec.sparse === true,
    spec.partialFilterExpression ?? null,
    spec.expireAfterSeconds ?? null,
  ]);

export function createIndexes(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'createIndexes');
  const requested = ctx.body.indexes;
  if (!Array.isArray(requested) || requested.length === 0)
    throw new CommandError('BadValue', 'Must specify at least one index to create');
  const existed = ctx.emulator.catalog.get(ctx.db, name) !== undefined;
  const collection = ctx.emulator.catalog.ensure(ctx.db, name);
  const before = collection.indexes.length;
  for (const raw of requested) {
    if (!isDoc(raw) || !isDoc(raw.key) || Object.keys(raw.key).length === 0)
      throw new CommandError('BadValue', 'Index spec must have a non-empty key document');
    if (typeof raw.name !== 'string' || raw.name === '')
      throw typeMismatch("The field 'name' must be a non-empty string");
    const spec: Doc = { v: 2, ...raw };
    if (spec.partialFilterExpression !== undefined) {
      if (!isDoc(spec.partialFilterExpression))
        throw typeMismatch("The field 'partialFilterExpression' must be an object");
      checkPartialFilter(spec);
      new Query(spec.partialFilterExpression, MINGO_OPTIONS);
    }
    const sameName = collection.index(raw.name);
    if (sameName) {
      if (keyText([sameName.spec.key]) !== keyText([spec.key])) {
        throw new CommandError(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(raw)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      if (optionsText(sameName.spec) !== optionsText(spec)) {
        throw new CommandError(
          'IndexOptionsConflict',
          `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(raw)}, existing index: ${JSON.stringify(sameName.spec)}`,
        );
      }
      continue;
    }
    const sameKey = collection.indexes.find(
      (i) => keyText([i.spec.key]) === keyText([spec.key]) && optionsText(i.spec) === optionsText(spec),
    );
    if (sameKey)
      throw new CommandError('IndexOptionsConflict', `Index already exists with a different name: ${sameKey.name}`);
    collection.addIndex(new Index(spec));
  }
  const after = collection.indexes.length;
  return {
    numIndexesBefore: before,
    numIndexesAfter: after,
    ...(before === after ? { note: 'all indexes already exist' } : {}),
    createdCollectionAutomatically: !existed,
    ok: 1,
  };
}

/** Operators a partialFilterExpression may hold, besides top-level... and nested $and/$or. */
const PARTIAL_FILTER_OPERATORS = new Set(['$eq', '$gt', '$gte', '$lt', '$lte', '$in', '$type', '$exists']);

/**
 * The first part of a partial filter MongoDB refuses, named as its error names it: everything
 * but equality, `$exists: true`, ranges, `$type`, `$in`, `$and` and `$or`. `$exists: false`, `$ne`
 * and `$nin` are negations (`$not`) to the server's parser.
 * @see https://www.mongodb.com/docs/manual/core/index-partial/#create-a-partial-index
 */
function unsupportedInPartialFilter(filter: Doc): string | undefined {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) return key;
      for (const part of value) {
        const inner = isDoc(part) ? unsupportedInPartialFilter(part) : key;
        if (inner) return inner;
      }
      continue;
    }
    if (key.startsWith('$')) return key;
    if (value instanceof RegExp) return '$regex';
    if (!isDoc(value) || !Object.keys(value).some((k) => k.startsWith('$'))) continue;
    for (const [op, arg] of Object.entries(value)) {
      if (op === '$exists' && !arg) return '$not';
      if (op === '$ne' || op === '$nin' || op === '$not') return '$not';
      if (op === '$options') return '$regex';
      if (op === '$eq' && arg instanceof RegExp) return '$regex';
      if (!PARTIAL_FILTER_OPERATORS.has(op)) return op;
    }
  }
  return undefined;
}

function checkPartialFilter(spec: Doc): void {
  const filter = spec.partialFilterExpression as Doc;
  const specText = () => `Error in specification ${JSON.stringify(spec)} :: caused by :: `;
  if (spec.sparse === true)
    throw new CommandError(
      'CannotCreateIndex',
      `${specText()}cannot mix "partialFilterExpression" and "sparse" options`,
    );
  const op = unsupportedInPartialFilter(filter);
  if (op === '$expr')
    throw new CommandError('QueryFeatureNotAllowed', `${specText()}$expr is not allowed in the context of an index`);
  if (op === '$where') throw badValue(`${specText()}$where is not allowed in this context`);
  if (op !== undefined)
    throw new CommandError('CannotCreateIndex', `${specText()}Expression not supported in partial index: ${op}`);
}

export function dropIndexes(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'dropIndexes');
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns not found ${ctx.db}.${name}`);
  const before = collection.indexes.length;
  const wanted = ctx.body.index;
  const names =
    wanted === '*'
      ? collection.indexes.map((i) => i.name).filter((n) => n !== '_id_')
      : typeof wanted === 'string'
        ? [wanted]
        : Array.isArray(wanted)
          ? wanted.map(String)
          : isDoc(wanted)
            ? collection.indexes.filter((i) => keyText([i.spec.key]) === keyText([wanted])).map((i) => i.name)
            : [];
  if (names.length === 0 && wanted !== '*')
    throw new CommandError('IndexNotFound', `can't find index with key: ${JSON.stringify(wanted)}`);
  for (const indexName of names) {
    if (indexName === '_id_') throw new CommandError('InvalidOptions', 'cannot drop _id index');
    if (!collection.index(indexName))
      throw new CommandError('IndexNotFound', `index not found with name [${indexName}]`);
  }
  for (const indexName of names) collection.dropIndex(indexName);
  return { nIndexesWas: before, ok: 1 };
}

export function listIndexes(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'listIndexes');
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const cursor = isDoc(ctx.body.cursor) ? ctx.body.cursor : {};
  return ctx.emulator.cursors.reply(
    `${ctx.db}.$cmd.listIndexes.${name}`,
    collection.indexes.map((i) => i.spec),
    cursor.batchSize === undefined ? undefined : Number(cursor.batchSize),
  );
}

export function listCollections(ctx: CommandContext): Doc {
  const nameOnly = ctx.body.nameOnly === true;
  let entries: Doc[] = ctx.emulator.catalog
    .collections(ctx.db)
    .map((c) =>
      nameOnly
        ? { name: c.name, type: 'collection' }
        : { name: c.name, type: 'collection', options: c.options, info: { readOnly: false }, idIndex: ID_INDEX_SPEC },
    );
  if (isDoc(ctx.body.filter) && Object.keys(ctx.body.filter).length > 0) {
    const query = new Query(ctx.body.filter, MINGO_OPTIONS);
    entries = entries.filter((e) => query.test(e));
  }
  const cursor = isDoc(ctx.body.cursor) ? ctx.body.cursor : {};
  return ctx.emulator.cursors.reply(
    `${ctx.db}.$cmd.listCollections`,
    entries,
    cursor.batchSize === undefined ? undefined : Number(cursor.batchSize),
  );
}

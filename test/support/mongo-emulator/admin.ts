import { Query } from 'mingo';
import { collectionName } from './crud.js';
import type { CommandContext } from './engine.js';
import { CommandError, typeMismatch } from './errors.js';
import { ID_INDEX_SPEC, Index, MINGO_OPTIONS } from './storage.js';
import { isDoc, keyText, type Doc } from './values.js';

/** create, collMod, drop, dropDatabase, createIndexes, listIndexes, listCollections. */

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

export function create(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'create');
  const opts = options(ctx.body, 'create');
  if (opts.validator !== undefined && !isDoc(opts.validator)) throw typeMismatch("'validator' has to be a document.");
  ctx.emulator.catalog.create(ctx.db, name, opts);
  return { ok: 1 };
}

export function collMod(ctx: CommandContext): Doc {
  const name = collectionName(ctx, 'collMod');
  const collection = ctx.emulator.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const changes = options(ctx.body, 'collMod');
  for (const key of Object.keys(changes)) {
    if (!['validator', 'validationLevel', 'validationAction'].includes(key))
      throw new CommandError('InvalidOptions', `collMod option '${key}' is not supported by the emulator`);
  }
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

import type { Collection, Index } from './storage.js';
import { compareValues, isDoc, keyText, typeRank, valuesAt, type Doc } from './values.js';

/**
 * A small model of MongoDB's index selection, for tests that assert the adapter's queries can be
 * served by an index: the emulator itself always scans. For a filter (and sort) it answers which
 * indexes the server's planner could use, by the server's rules:
 *
 * - an index is a candidate only when the filter bounds its FIRST key field (matching some other
 *   key field is not enough);
 * - a partial index only when the filter provably selects a subset of its partialFilterExpression,
 *   by the server's subset rules (expression::isSubsetOf): `$exists: true` follows from a
 *   comparison with a non-null value, `$eq`/ranges from tighter ranges of the same type, `$in` from
 *   each of its values — and `$type` only from the very same `$type` (an equality on a string does
 *   NOT prove `$type: 'string'`);
 * - a sort comes from the index when its fields follow the fields the filter pins to one value, in
 *   the index's order or all reversed, and none of them is multikey.
 *
 * Deliberately stricter than the server in one way: negations (`$ne`, `$nin`, `$not`,
 * `$exists: false`, `$nor`) do not count as bounding a field. The server can scan an index for them,
 * but such a scan reads nearly all of it; a query that only has those is not "served by an index".
 * Not modelled: which candidate the server picks (it races them), index intersection, collations,
 * hashed/text/geo/wildcard indexes, covered queries.
 * @see https://www.mongodb.com/docs/manual/core/query-plans/
 * @see https://www.mongodb.com/docs/manual/core/index-partial/#query-coverage
 */

type Node =
  | { kind: 'and' | 'or'; children: Node[] }
  | { kind: 'not'; child: Node }
  /** One operator on one path; `$elemMatch` keeps its conditions (with full paths) in `within`. */
  | { kind: 'leaf'; path: string; op: string; value: unknown; within?: Node }
  /** `$expr`, `$where`, `$text`, `$jsonSchema`: nothing an index bounds. */
  | { kind: 'opaque' };

const TOP_LEVEL_OPAQUE = new Set(['$expr', '$where', '$text', '$jsonSchema', '$sampleRate']);

function isOperatorDoc(value: unknown): value is Doc {
  return isDoc(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => k.startsWith('$'));
}

/** A filter as a tree of conjunctions, disjunctions, negations and single-operator leaves. */
export function parseFilter(filter: Doc, prefix = ''): Node {
  const children: Node[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      const list = Array.isArray(value) ? value.filter(isDoc).map((f) => parseFilter(f, prefix)) : [];
      children.push({ kind: key === '$and' ? 'and' : 'or', children: list });
    } else if (key === '$nor') {
      const list = Array.isArray(value) ? value.filter(isDoc).map((f) => parseFilter(f, prefix)) : [];
      children.push({ kind: 'not', child: { kind: 'or', children: list } });
    } else if (key === '$comment') {
    } else if (key.startsWith('$') || TOP_LEVEL_OPAQUE.has(key)) {
      children.push({ kind: 'opaque' });
    } else {
      children.push(...pathConditions(`${prefix}${key}`, value));
    }
  }
  return children.length === 1 ? children[0]! : { kind: 'and', children };
}

function pathConditions(path: string, value: unknown): Node[] {
  if (!isOperatorDoc(value)) return [{ kind: 'leaf', path, op: value instanceof RegExp ? '$regex' : '$eq', value }];
  const out: Node[] = [];
  for (const [op, arg] of Object.entries(value)) {
    if (op === '$options') continue;
    if (op === '$not') {
      const inner: Node[] = isOperatorDoc(arg)
        ? pathConditions(path, arg)
        : [{ kind: 'leaf', path, op: '$regex', value: arg }];
      out.push({ kind: 'not', child: inner.length === 1 ? inner[0]! : { kind: 'and', children: inner } });
    } else if (op === '$ne') {
      out.push({ kind: 'not', child: { kind: 'leaf', path, op: '$eq', value: arg } });
    } else if (op === '$nin') {
      out.push({ kind: 'not', child: { kind: 'leaf', path, op: '$in', value: arg } });
    } else if (op === '$exists' && !arg) {
      out.push({ kind: 'not', child: { kind: 'leaf', path, op: '$exists', value: true } });
    } else if (op === '$elemMatch' && isDoc(arg) && !isOperatorDoc(arg)) {
      out.push({ kind: 'leaf', path, op, value: arg, within: parseFilter(arg, `${path}.`) });
    } else if (op === '$all' && Array.isArray(arg)) {
      for (const item of arg) out.push({ kind: 'leaf', path, op: '$eq', value: item });
    } else {
      out.push({ kind: 'leaf', path, op, value: op === '$exists' ? true : arg });
    }
  }
  return out;
}

/** Operators that give an index on their path bounds to scan (negations do not; see above). */
const BOUNDING = new Set([
  '$eq',
  '$in',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$exists',
  '$type',
  '$regex',
  '$mod',
  '$elemMatch',
]);

/** Whether a document matching `node` must satisfy a condition the index can scan on `field`. */
function bounds(node: Node, field: string): boolean {
  switch (node.kind) {
    case 'and':
      return node.children.some((c) => bounds(c, field));
    case 'or':
      return node.children.length > 0 && node.children.every((c) => bounds(c, field));
    case 'leaf':
      if (node.path === field && BOUNDING.has(node.op)) return true;
      return node.within !== undefined && bounds(node.within, field);
    default:
      return false;
  }
}

const RANGES = new Set(['$eq', '$lt', '$lte', '$gt', '$gte']);

function sameValue(a: unknown, b: unknown): boolean {
  return keyText([a]) === keyText([b]);
}

function equivalent(a: Node, b: Node): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'leaf' && b.kind === 'leaf') return a.path === b.path && a.op === b.op && sameValue(a.value, b.value);
  if (a.kind === 'not' && b.kind === 'not') return equivalent(a.child, b.child);
  if ((a.kind === 'and' || a.kind === 'or') && (b.kind === 'and' || b.kind === 'or'))
    return a.children.length === b.children.length && a.children.every((x) => b.children.some((y) => equivalent(x, y)));
  return false;
}

/** Comparison `lhs` (an $eq or range on one value) implies comparison `rhs` on the same path. */
function comparisonImplies(lhsOp: string, lhsValue: unknown, rhsOp: string, rhsValue: unknown): boolean {
  if (typeRank(lhsValue) !== typeRank(rhsValue)) return false;
  const cmp = compareValues(lhsValue, rhsValue);
  if (lhsOp === rhsOp && cmp === 0) return true;
  if (rhsOp === '$lt' || rhsOp === '$lte')
    return ['$lt', '$lte', '$eq'].includes(lhsOp) && (rhsOp === '$lte' ? cmp <= 0 : cmp < 0);
  if (rhsOp === '$gt' || rhsOp === '$gte')
    return ['$gt', '$gte', '$eq'].includes(lhsOp) && (rhsOp === '$gte' ? cmp >= 0 : cmp > 0);
  return false;
}

const inValues = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Every document matching `lhs` matches `rhs`, by the server's (incomplete, conservative) rules. */
export function isSubset(lhs: Node, rhs: Node): boolean {
  if (equivalent(lhs, rhs)) return true;
  if (rhs.kind === 'or' && rhs.children.some((c) => isSubset(lhs, c))) return true;
  if (rhs.kind === 'and') return rhs.children.every((c) => isSubset(lhs, c));
  if (lhs.kind === 'and') return lhs.children.some((c) => isSubset(c, rhs));
  if (lhs.kind === 'or') return lhs.children.every((c) => isSubset(c, rhs));
  if (rhs.kind !== 'leaf') return false;
  const samePath = (n: Node) => n.kind === 'leaf' && n.path === rhs.path;
  if (RANGES.has(rhs.op)) {
    if (lhs.kind !== 'leaf' || !samePath(lhs)) return false;
    if (RANGES.has(lhs.op)) return comparisonImplies(lhs.op, lhs.value, rhs.op, rhs.value);
    if (lhs.op === '$in')
      return inValues(lhs.value).every((v) => !(v instanceof RegExp) && comparisonImplies('$eq', v, rhs.op, rhs.value));
    return false;
  }
  if (rhs.op === '$exists') {
    if (lhs.kind === 'not') {
      const inner = lhs.child;
      if (inner.kind !== 'leaf' || inner.path !== rhs.path) return false;
      if (inner.op === '$eq') return inner.value === null;
      return inner.op === '$in' && inValues(inner.value).includes(null);
    }
    if (lhs.kind !== 'leaf' || !samePath(lhs)) return false;
    if (RANGES.has(lhs.op)) return lhs.value !== null;
    if (lhs.op === '$in') return !inValues(lhs.value).includes(null);
    return ['$elemMatch', '$exists', '$mod', '$regex', '$size', '$type'].includes(lhs.op);
  }
  if (rhs.op === '$in') {
    return inValues(rhs.value).some((v) => isSubset(lhs, { kind: 'leaf', path: rhs.path, op: '$eq', value: v }));
  }
  // $type, and everything else: only the same expression (handled above).
  return false;
}

/** Fields the filter pins to a single value at its top level (equality, or a one-value $in). */
function pinned(node: Node): Set<string> {
  const out = new Set<string>();
  const conjuncts = node.kind === 'and' ? node.children : [node];
  for (const c of conjuncts) {
    if (c.kind !== 'leaf') continue;
    const only = c.op === '$in' && inValues(c.value).length === 1 ? inValues(c.value)[0] : undefined;
    if ((c.op === '$eq' && !Array.isArray(c.value)) || (only !== undefined && !Array.isArray(only))) out.add(c.path);
  }
  return out;
}

/** Whether any document reaches an array on the way to `field` (the index is multikey there). */
function multikey(collection: Collection, field: string): boolean {
  const parts = field.split('.');
  for (const doc of collection.docs.values()) {
    for (let i = 1; i <= parts.length; i++) {
      if (valuesAt(doc, parts.slice(0, i).join('.')).some(Array.isArray)) return true;
    }
  }
  return false;
}

function providesSort(collection: Collection, index: Index, filter: Node, sort: Doc): boolean {
  const fixed = pinned(filter);
  const keys = Object.entries(index.spec.key as Doc).map(([f, d]) => [f, Number(d) < 0 ? -1 : 1] as const);
  let start = 0;
  while (start < keys.length && fixed.has(keys[start]![0])) start++;
  const wanted = Object.entries(sort)
    .map(([f, d]) => [f, Number(d) < 0 ? -1 : 1] as const)
    .filter(([f]) => !fixed.has(f));
  if (wanted.length === 0) return true;
  const rest = keys.slice(start, start + wanted.length);
  if (rest.length < wanted.length) return false;
  const forward = wanted.every(([f, d], i) => rest[i]![0] === f && rest[i]![1] === d);
  const backward = wanted.every(([f, d], i) => rest[i]![0] === f && rest[i]![1] === -d);
  return (forward || backward) && !wanted.some(([f]) => multikey(collection, f));
}

/** What the planner check says about one statement. */
export interface StatementPlan {
  /** `db.collection`. */
  ns: string;
  command: string;
  filter: Doc;
  sort: Doc | undefined;
  /** Indexes the server's planner could use for the filter. Empty: a collection scan. */
  candidates: string[];
  /** Candidates that also deliver the requested sort (no in-memory SORT stage); all candidates when there is no sort. */
  sorted: string[];
}

/** Indexes of `collection` the server could use for `filter` (and which of them give `sort`). */
export function plan(
  collection: Collection | undefined,
  ns: string,
  command: string,
  filter: Doc,
  sort: Doc | undefined,
): StatementPlan {
  const node = parseFilter(filter);
  const candidates: Index[] = [];
  for (const index of collection?.indexes ?? []) {
    const first = Object.entries(index.spec.key as Doc)[0];
    // Only ascending/descending B-tree keys are modelled.
    if (!first || typeof first[1] !== 'number') continue;
    if (!bounds(node, first[0])) continue;
    const partial = index.spec.partialFilterExpression;
    if (isDoc(partial) && !isSubset(node, parseFilter(partial))) continue;
    candidates.push(index);
  }
  const sorted =
    sort && Object.keys(sort).length > 0
      ? candidates.filter((i) => providesSort(collection!, i, node, sort))
      : candidates;
  return { ns, command, filter, sort, candidates: candidates.map((i) => i.name), sorted: sorted.map((i) => i.name) };
}

/** The filter (and sort) of each statement of a read or write command; none for other commands. */
export function statementsOf(name: string, body: Doc): { filter: Doc; sort: Doc | undefined }[] {
  const doc = (v: unknown): Doc => (isDoc(v) ? v : {});
  const sortOf = (v: unknown) => (isDoc(v) ? v : undefined);
  switch (name) {
    case 'find':
      return [{ filter: doc(body.filter), sort: sortOf(body.sort) }];
    case 'count':
      return [{ filter: doc(body.query), sort: undefined }];
    case 'findAndModify':
      return [{ filter: doc(body.query), sort: sortOf(body.sort) }];
    case 'update':
    case 'delete': {
      const list = body[name === 'update' ? 'updates' : 'deletes'];
      return (Array.isArray(list) ? list : []).map((s) => ({ filter: doc(doc(s).q), sort: undefined }));
    }
    case 'aggregate': {
      const first = Array.isArray(body.pipeline) ? doc(body.pipeline[0]) : {};
      return [{ filter: doc(first.$match), sort: undefined }];
    }
    default:
      return [];
  }
}

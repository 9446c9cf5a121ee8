import {
  Binary,
  Decimal128,
  deserialize,
  Double,
  EJSON,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  serialize,
  Timestamp,
} from 'bson';

/** A stored document or command body, as the `bson` package deserializes it. */
export type Doc = Record<string, unknown>;

export function isDoc(value: unknown): value is Doc {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !('_bsontype' in value) &&
    !(value instanceof RegExp)
  );
}

/**
 * How the emulator keeps BSON values: as the `bson` package deserializes them, except that 64-bit
 * integers stay `Long` (not JS numbers), so a stored int64 stays int64 — what validators and `$type`
 * see. 32-bit integers and doubles are JS numbers: a whole double comes back as an int32.
 */
export const DESERIALIZE = { promoteLongs: false } as const;

/** A deep copy through BSON, so BSON types survive and key order is kept. */
export function cloneDoc<T extends Doc>(doc: T): T {
  return deserialize(serialize(doc), DESERIALIZE) as T;
}

const views = new WeakMap<object, unknown>();

function hasLong(value: unknown): boolean {
  if (value instanceof Long) return true;
  if (Array.isArray(value)) return value.some(hasLong);
  if (!isDoc(value)) return false;
  for (const key in value) if (hasLong(value[key])) return true;
  return false;
}

function withoutLongs(value: unknown): unknown {
  if (value instanceof Long) return value.toNumber();
  if (Array.isArray(value)) return value.map(withoutLongs);
  if (!isDoc(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutLongs(v)]));
}

/**
 * A value as mingo (filters, updates, aggregation) sees it: every `Long` turned into a JS number,
 * which mingo compares and computes with. The same object when it holds no `Long` (the common
 * case). Stored documents are never changed in place, so the answer is kept per document.
 */
export function queryView<T>(value: T): T {
  if (value instanceof Long) return value.toNumber() as T;
  if (typeof value !== 'object' || value === null) return value;
  const cached = views.get(value);
  if (cached !== undefined) return cached as T;
  const view = hasLong(value) ? withoutLongs(value) : value;
  views.set(value, view);
  return view as T;
}

/**
 * BSON comparison order (the order MongoDB sorts mixed types in): MinKey, null/missing, numbers,
 * strings, objects, arrays, binary, ObjectId, booleans, dates, timestamps, regular expressions,
 * MaxKey. Strings compare by their UTF-8 bytes, which is code-point order (the simple collation).
 * @see https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/
 */
export function typeRank(v: unknown): number {
  if (v instanceof MinKey) return 0;
  if (v === undefined || v === null) return 1;
  if (
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    v instanceof Int32 ||
    v instanceof Double ||
    v instanceof Long ||
    v instanceof Decimal128
  )
    return 2;
  if (typeof v === 'string') return 3;
  if (Array.isArray(v)) return 5;
  if (v instanceof Binary) return 6;
  if (v instanceof ObjectId) return 7;
  if (typeof v === 'boolean') return 8;
  if (v instanceof Date) return 9;
  if (v instanceof Timestamp) return 10;
  if (v instanceof RegExp) return 11;
  if (v instanceof MaxKey) return 12;
  return 4;
}

const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number((v as { valueOf(): unknown }).valueOf());
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return sign(ra - rb);
  switch (ra) {
    case 2:
      return sign(num(a) - num(b));
    case 3:
      return sign(Buffer.compare(Buffer.from(a as string, 'utf8'), Buffer.from(b as string, 'utf8')));
    case 4: {
      const ea = Object.entries(a as Doc);
      const eb = Object.entries(b as Doc);
      for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
        const [ka, va] = ea[i]!;
        const [kb, vb] = eb[i]!;
        const byType = sign(typeRank(va) - typeRank(vb));
        if (byType !== 0) return byType;
        const byName = compareValues(ka, kb);
        if (byName !== 0) return byName;
        const byValue = compareValues(va, vb);
        if (byValue !== 0) return byValue;
      }
      return sign(ea.length - eb.length);
    }
    case 5: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return sign(xa.length - xb.length);
    }
    case 6:
      return sign(Buffer.compare(Buffer.from((a as Binary).buffer), Buffer.from((b as Binary).buffer)));
    case 7:
      return sign(Buffer.compare(Buffer.from((a as ObjectId).id), Buffer.from((b as ObjectId).id)));
    case 8:
      return sign(Number(a) - Number(b));
    case 9:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 10:
      return (a as Timestamp).compare(b as Timestamp);
    case 11:
      return compareValues(String(a), String(b));
    default:
      return 0;
  }
}

/**
 * Every value a dotted path reaches, descending into arrays the way MongoDB's index keys and sort
 * keys do (`participants.userId` gives one value per participant). A missing path gives [].
 */
export function valuesAt(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  const out: unknown[] = [];
  const walk = (value: unknown, i: number): void => {
    if (i === parts.length) {
      out.push(value);
      return;
    }
    const part = parts[i]!;
    if (Array.isArray(value)) {
      if (/^\d+$/.test(part) && Number(part) < value.length) walk(value[Number(part)], i + 1);
      else for (const item of value) if (isDoc(item)) walk(item, i);
      return;
    }
    if (isDoc(value) && Object.hasOwn(value, part)) walk(value[part], i + 1);
  };
  walk(doc, 0);
  return out;
}

/** The value a sort on `path` uses: the smallest element for ascending, the largest for descending. */
export function sortKey(doc: Doc, path: string, direction: 1 | -1): unknown {
  const values = valuesAt(doc, path).flatMap((v) => (Array.isArray(v) && v.length > 0 ? v : [v]));
  if (values.length === 0) return null;
  return values.reduce((best, v) => (compareValues(v, best) * direction < 0 ? v : best));
}

/** Sorts in place by a sort specification, stable for equal keys (natural order is kept). */
export function sortDocs(docs: Doc[], spec: Doc): Doc[] {
  const fields = Object.entries(spec).map(([path, dir]) => [path, num(dir) < 0 ? -1 : 1] as const);
  if (fields.length === 0) return docs;
  const keyed = docs.map((doc, i) => ({ doc, i, keys: fields.map(([path, dir]) => sortKey(doc, path, dir)) }));
  keyed.sort((x, y) => {
    for (let f = 0; f < fields.length; f++) {
      const c = compareValues(x.keys[f], y.keys[f]) * fields[f]![1];
      if (c !== 0) return c;
    }
    return x.i - y.i;
  });
  return keyed.map((k) => k.doc);
}

/** A canonical text for a tuple of index key values: equal BSON values give equal text. */
export function keyText(values: unknown[]): string {
  return EJSON.stringify(values.map(normalizeKeyValue), { relaxed: false });
}

function normalizeKeyValue(v: unknown): unknown {
  if (v === undefined) return null;
  // 1, 1.0 and 1n are one key in MongoDB's indexes.
  if (typeof v === 'number' || v instanceof Int32 || v instanceof Double || v instanceof Long || typeof v === 'bigint')
    return new Double(num(v));
  if (Array.isArray(v)) return v.map(normalizeKeyValue);
  if (isDoc(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeKeyValue(x)]));
  return v;
}

/** A value as MongoDB prints it inside `dup key: { ... }`. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (v instanceof ObjectId) return `ObjectId('${v.toHexString()}')`;
  if (Array.isArray(v)) return `[ ${v.map(formatValue).join(', ')} ]`;
  if (isDoc(v))
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k}: ${formatValue(x)}`)
      .join(', ')} }`;
  return String(v);
}

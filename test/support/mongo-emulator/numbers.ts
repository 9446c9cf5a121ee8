import { Long } from 'bson';
import { CommandError, typeMismatch } from './errors.js';
import { formatValue, isDoc, type Doc } from './values.js';

/**
 * BSON numeric types through updates. mingo computes with JS numbers (it sees documents through
 * queryView), so after it has applied an update this module gives each number the BSON type a
 * server would have stored:
 *
 * - `$inc` follows the server's arithmetic: int32 + int32 stays int32 unless it overflows, then it
 *   becomes int64; anything with an int64 is int64; a double makes a double; an int64 overflow is
 *   refused (BadValue "Failed to apply $inc operations to current value ((NumberLong)…)");
 * - `$set`/`$setOnInsert` store the value as sent (an int64 stays int64);
 * - update pipelines: a whole number computed where the document held an int64, or that no longer
 *   fits an int32 where it held an int32, is an int64 (the aggregation `$add` rule);
 * - every other int64 the document held and the update did not change stays int64.
 * @see https://www.mongodb.com/docs/manual/reference/operator/update/inc/
 */

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

type NumberKind = 'int' | 'long' | 'double';

function kindOf(v: unknown): NumberKind | undefined {
  if (v instanceof Long) return 'long';
  if (typeof v !== 'number') return undefined;
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? 'int' : 'double';
}

const fitsInt32 = (n: number) => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;

/** The shell's spelling of a number in server messages: (NumberInt)5, (NumberLong)5, 5.5. */
function shellNumber(v: unknown): string {
  const kind = kindOf(v);
  if (kind === 'long') return `(NumberLong)${(v as Long).toString()}`;
  if (kind === 'int') return `(NumberInt)${String(v)}`;
  return String(v);
}

/** `current + increment` as the server's $inc computes it; undefined on an int64 overflow. */
export function addNumbers(current: unknown, increment: unknown): number | Long | undefined {
  const a = kindOf(current);
  const b = kindOf(increment);
  if (a === undefined || b === undefined) return undefined;
  if (a === 'double' || b === 'double') return Number(current) + Number(increment);
  if (a === 'int' && b === 'int') {
    const sum = (current as number) + (increment as number);
    return fitsInt32(sum) ? sum : Long.fromNumber(sum);
  }
  const x = Long.fromValue(current as number | Long);
  const y = Long.fromValue(increment as number | Long);
  const sum = x.add(y);
  // Two operands of one sign whose sum has the other sign went past the int64 range.
  const overflow = x.isNegative() === y.isNegative() && sum.isNegative() !== x.isNegative();
  return overflow ? undefined : sum;
}

function hasPositional(path: string): boolean {
  return path.split('.').some((part) => part === '$' || part.startsWith('$['));
}

function valueAt(doc: unknown, path: string): unknown {
  let at = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(at) && /^\d+$/.test(part)) at = at[Number(part)];
    else if (isDoc(at)) at = at[part];
    else return undefined;
  }
  return at;
}

function setAt(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(at) && /^\d+$/.test(part)) at = at[Number(part)];
    else if (isDoc(at)) at = at[part];
    else return;
  }
  const last = parts.at(-1)!;
  if (Array.isArray(at) && /^\d+$/.test(last)) at[Number(last)] = value;
  else if (isDoc(at)) at[last] = value;
}

function containsLong(v: unknown): boolean {
  if (v instanceof Long) return true;
  if (Array.isArray(v)) return v.some(containsLong);
  return isDoc(v) && Object.values(v).some(containsLong);
}

/** Puts back every int64 of `before` whose value `after` still holds at the same place. */
function keepLongs(before: unknown, after: unknown): unknown {
  if (before instanceof Long) return typeof after === 'number' && after === before.toNumber() ? before : after;
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.min(before.length, after.length); i++) after[i] = keepLongs(before[i], after[i]);
  } else if (isDoc(before) && isDoc(after)) {
    for (const key of Object.keys(after))
      if (Object.hasOwn(before, key)) after[key] = keepLongs(before[key], after[key]);
  }
  return after;
}

/**
 * `after` (mingo's result on the views) with the BSON numeric types a server would store, given
 * the typed document `before` and the typed update `u`. Changes `after` in place and returns it.
 */
export function retypeOperatorUpdate(before: Doc, after: Doc, u: Doc, inserting: boolean): Doc {
  keepLongs(before, after);
  for (const op of inserting ? ['$set', '$setOnInsert'] : ['$set']) {
    const fields = u[op];
    if (!isDoc(fields)) continue;
    for (const [path, value] of Object.entries(fields))
      if (!hasPositional(path) && containsLong(value)) setAt(after, path, value);
  }
  const increments = u.$inc;
  if (isDoc(increments)) {
    for (const [path, increment] of Object.entries(increments)) {
      if (hasPositional(path)) continue;
      if (kindOf(increment) === undefined)
        throw typeMismatch(`Cannot increment with non-numeric argument: {${path}: ${formatValue(increment)}}`);
      const current = valueAt(before, path);
      if (current === undefined) {
        setAt(after, path, increment);
        continue;
      }
      if (kindOf(current) === undefined)
        throw typeMismatch(
          `Cannot apply $inc to a value of non-numeric type. {_id: ${formatValue(before._id)}} has the field '${path.split('.').at(-1)}' of non-numeric type ${current === null ? 'null' : typeof current}`,
        );
      const sum = addNumbers(current, increment);
      if (sum === undefined) {
        throw new CommandError(
          'BadValue',
          `Failed to apply $inc operations to current value (${shellNumber(current)}) for document {_id: ${formatValue(before._id)}}`,
        );
      }
      setAt(after, path, sum);
    }
  }
  return after;
}

/** `after` (an update pipeline's result on the views) with int64s where the server's arithmetic makes them. */
export function retypePipelineUpdate(before: Doc, after: Doc): Doc {
  keepLongs(before, after);
  for (const [field, value] of Object.entries(after)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) continue;
    const was = kindOf(before[field]);
    if (was === 'long' || (was === 'int' && !fitsInt32(value))) after[field] = Long.fromNumber(value);
  }
  return after;
}

import { Binary, Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { isDoc, type Doc } from './values.js';

/**
 * The subset of MongoDB's `$jsonSchema` the emulator enforces for collection validators:
 * bsonType/type, required, properties, additionalProperties, items, enum, minimum/maximum,
 * minLength/maxLength, minItems/maxItems, pattern, anyOf/allOf/oneOf/not. Other keywords are
 * accepted and ignored.
 * @see https://www.mongodb.com/docs/manual/reference/operator/query/jsonSchema/
 */

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Which BSON type a value has once the driver serializes it (JS numbers: int32 when they fit, else double). */
function bsonTypeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? 'int' : 'double';
  if (typeof v === 'bigint' || v instanceof Long) return 'long';
  if (v instanceof Int32) return 'int';
  if (v instanceof Double) return 'double';
  if (v instanceof Decimal128) return 'decimal';
  if (v instanceof Date) return 'date';
  if (v instanceof ObjectId) return 'objectId';
  if (v instanceof Binary) return 'binData';
  if (v instanceof RegExp) return 'regex';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

const NUMERIC = new Set(['int', 'long', 'double', 'decimal']);

function hasBsonType(v: unknown, wanted: string): boolean {
  const actual = bsonTypeOf(v);
  if (wanted === 'number') return NUMERIC.has(actual);
  return actual === wanted;
}

function hasJsonType(v: unknown, wanted: string): boolean {
  const actual = bsonTypeOf(v);
  switch (wanted) {
    case 'number':
      return NUMERIC.has(actual);
    case 'integer':
      return actual === 'int' || actual === 'long';
    case 'boolean':
      return actual === 'bool';
    default:
      return actual === wanted;
  }
}

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : [x]);

/** The first rule `value` breaks, as a short reason, or undefined when it conforms. */
export function violation(schema: Doc, value: unknown, path = '(root)'): string | undefined {
  if (schema.bsonType !== undefined && !list(schema.bsonType).some((t) => hasBsonType(value, String(t)))) {
    return `${path}: type ${bsonTypeOf(value)} is not ${list(schema.bsonType).join(' or ')}`;
  }
  if (schema.type !== undefined && !list(schema.type).some((t) => hasJsonType(value, String(t)))) {
    return `${path}: type ${bsonTypeOf(value)} is not ${list(schema.type).join(' or ')}`;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value))
    return `${path}: not one of the allowed values`;
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength)
      return `${path}: shorter than ${schema.minLength}`;
    if (typeof schema.maxLength === 'number' && length > schema.maxLength)
      return `${path}: longer than ${schema.maxLength}`;
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      return `${path}: does not match ${schema.pattern}`;
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) return `${path}: below ${schema.minimum}`;
    if (typeof schema.maximum === 'number' && value > schema.maximum) return `${path}: above ${schema.maximum}`;
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      return `${path}: fewer than ${schema.minItems} items`;
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      return `${path}: more than ${schema.maxItems} items`;
    if (isDoc(schema.items)) {
      for (const [i, item] of value.entries()) {
        const reason = violation(schema.items, item, `${path}.${i}`);
        if (reason) return reason;
      }
    }
  }
  if (isDoc(value) && bsonTypeOf(value) === 'object') {
    if (Array.isArray(schema.required))
      for (const field of schema.required)
        if (!Object.hasOwn(value, String(field))) return `${path}: missing required field ${String(field)}`;
    const properties = isDoc(schema.properties) ? schema.properties : {};
    for (const [field, fieldValue] of Object.entries(value)) {
      const sub = properties[field];
      if (isDoc(sub)) {
        const reason = violation(sub, fieldValue, `${path === '(root)' ? '' : `${path}.`}${field}`);
        if (reason) return reason;
      } else if (schema.additionalProperties === false) return `${path}: field ${field} is not allowed`;
      else if (isDoc(schema.additionalProperties)) {
        const reason = violation(schema.additionalProperties, fieldValue, `${path}.${field}`);
        if (reason) return reason;
      }
    }
  }
  if (Array.isArray(schema.allOf))
    for (const s of schema.allOf)
      if (isDoc(s)) {
        const reason = violation(s, value, path);
        if (reason) return reason;
      }
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => isDoc(s) && violation(s, value, path) === undefined))
    return `${path}: matches none of anyOf`;
  if (
    Array.isArray(schema.oneOf) &&
    schema.oneOf.filter((s) => isDoc(s) && violation(s, value, path) === undefined).length !== 1
  )
    return `${path}: does not match exactly one of oneOf`;
  if (isDoc(schema.not) && violation(schema.not, value, path) === undefined)
    return `${path}: matches a schema it must not`;
  return undefined;
}

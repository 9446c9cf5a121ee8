import { Binary, Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { badValue, failedToParse, typeMismatch } from './errors.js';
import { compareValues, isDoc, keyText, type Doc } from './values.js';

/**
 * MongoDB's `$jsonSchema` for collection validators: every keyword the server accepts, checked
 * when the validator is set (checkSchema, as the server parses it) and enforced on writes
 * (violation). Keywords the server refuses are refused here too: the draft-4 ones it does not
 * implement (`$ref`, `$schema`, `default`, `definitions`, `format`, `id`), `type: 'integer'`,
 * and any unknown keyword.
 * @see https://www.mongodb.com/docs/manual/reference/operator/query/jsonSchema/
 */

const KEYWORDS = new Set([
  'additionalItems',
  'additionalProperties',
  'allOf',
  'anyOf',
  'bsonType',
  'dependencies',
  'description',
  'enum',
  'exclusiveMaximum',
  'exclusiveMinimum',
  'items',
  'maximum',
  'maxItems',
  'maxLength',
  'maxProperties',
  'minimum',
  'minItems',
  'minLength',
  'minProperties',
  'multipleOf',
  'not',
  'oneOf',
  'pattern',
  'patternProperties',
  'properties',
  'required',
  'title',
  'type',
  'uniqueItems',
]);
const NOT_SUPPORTED = new Set(['$ref', '$schema', 'default', 'definitions', 'format', 'id']);
const JSON_TYPES = new Set(['array', 'boolean', 'null', 'number', 'object', 'string']);
const BSON_TYPES = new Set([
  'double',
  'string',
  'object',
  'array',
  'binData',
  'undefined',
  'objectId',
  'bool',
  'date',
  'null',
  'regex',
  'dbPointer',
  'javascript',
  'symbol',
  'javascriptWithScope',
  'int',
  'timestamp',
  'long',
  'decimal',
  'minKey',
  'maxKey',
  'number',
]);

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Which BSON type a stored value has (the emulator keeps int64 as Long; other numbers int32 when whole and in range). */
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
const isNumber = (v: unknown) => NUMERIC.has(bsonTypeOf(v));
const numberOf = (v: unknown) => (v instanceof Long ? v.toNumber() : Number(v));

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
    case 'boolean':
      return actual === 'bool';
    default:
      return actual === wanted;
  }
}

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : [x]);

function checkTypes(keyword: 'type' | 'bsonType', value: unknown): void {
  const names = list(value);
  if (names.length === 0 || !names.every((n) => typeof n === 'string'))
    throw typeMismatch(`$jsonSchema keyword '${keyword}' must be either a string or an array of strings`);
  for (const name of names as string[]) {
    if (keyword === 'type' && name === 'integer')
      throw failedToParse("$jsonSchema type 'integer' is not currently supported.");
    if (!(keyword === 'type' ? JSON_TYPES : BSON_TYPES).has(name)) throw badValue(`Unknown type name alias: ${name}`);
  }
}

const nonNegativeInteger = (keyword: string, value: unknown) => {
  if (!isNumber(value) || !Number.isInteger(numberOf(value)) || numberOf(value) < 0)
    throw failedToParse(`$jsonSchema keyword '${keyword}' must be a representable as a long integer`);
};

/** Refuses a schema the server would refuse to parse (at create or collMod time). */
export function checkSchema(schema: unknown): void {
  if (!isDoc(schema)) throw typeMismatch('$jsonSchema must be an object');
  const schemas = (keyword: string, value: unknown) => {
    if (!Array.isArray(value) || value.length === 0)
      throw typeMismatch(`$jsonSchema keyword '${keyword}' must be a non-empty array`);
    for (const s of value) checkSchema(s);
  };
  for (const [keyword, value] of Object.entries(schema)) {
    if (NOT_SUPPORTED.has(keyword)) throw failedToParse(`$jsonSchema keyword '${keyword}' is not currently supported`);
    if (!KEYWORDS.has(keyword)) throw failedToParse(`Unknown $jsonSchema keyword: ${keyword}`);
    switch (keyword) {
      case 'type':
      case 'bsonType':
        checkTypes(keyword, value);
        break;
      case 'properties':
      case 'patternProperties':
        if (!isDoc(value)) throw typeMismatch(`$jsonSchema keyword '${keyword}' must be an object`);
        for (const [key, sub] of Object.entries(value)) {
          if (keyword === 'patternProperties') new RegExp(key, 'u');
          checkSchema(sub);
        }
        break;
      case 'additionalProperties':
      case 'additionalItems':
        if (typeof value !== 'boolean') checkSchema(value);
        break;
      case 'items':
        if (Array.isArray(value)) for (const s of value) checkSchema(s);
        else checkSchema(value);
        break;
      case 'not':
        checkSchema(value);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        schemas(keyword, value);
        break;
      case 'dependencies':
        if (!isDoc(value)) throw typeMismatch("$jsonSchema keyword 'dependencies' must be an object");
        for (const dependency of Object.values(value))
          if (Array.isArray(dependency)) {
            if (!dependency.every((d) => typeof d === 'string'))
              throw typeMismatch('property dependencies must be arrays of strings');
          } else checkSchema(dependency);
        break;
      case 'required':
        if (!Array.isArray(value) || value.length === 0 || !value.every((r) => typeof r === 'string'))
          throw typeMismatch("$jsonSchema keyword 'required' must be a non-empty array of strings");
        break;
      case 'enum':
        if (!Array.isArray(value) || value.length === 0)
          throw typeMismatch("$jsonSchema keyword 'enum' must be a non-empty array");
        break;
      case 'minimum':
      case 'maximum':
        if (!isNumber(value)) throw typeMismatch(`$jsonSchema keyword '${keyword}' must be a number`);
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        if (typeof value !== 'boolean') throw typeMismatch(`$jsonSchema keyword '${keyword}' must be a boolean`);
        const bound = keyword === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        if (schema[bound] === undefined)
          throw failedToParse(`$jsonSchema keyword '${bound}' must be a present if ${keyword} is present`);
        break;
      }
      case 'multipleOf':
        if (!isNumber(value)) throw typeMismatch("$jsonSchema keyword 'multipleOf' must be a number");
        if (numberOf(value) <= 0) throw failedToParse("$jsonSchema keyword 'multipleOf' must have a positive value");
        break;
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
      case 'minProperties':
      case 'maxProperties':
        nonNegativeInteger(keyword, value);
        break;
      case 'pattern':
        if (typeof value !== 'string') throw typeMismatch("$jsonSchema keyword 'pattern' must be a string");
        new RegExp(value, 'u');
        break;
      case 'uniqueItems':
        if (typeof value !== 'boolean') throw typeMismatch("$jsonSchema keyword 'uniqueItems' must be a boolean");
        break;
      case 'title':
      case 'description':
        if (typeof value !== 'string') throw typeMismatch(`$jsonSchema keyword '${keyword}' must be of type string`);
        break;
    }
  }
  if (schema.type !== undefined && schema.bsonType !== undefined)
    throw failedToParse("Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");
}

/** The first rule `value` breaks, as a short reason, or undefined when it conforms. */
export function violation(schema: Doc, value: unknown, path = '(root)'): string | undefined {
  const at = (field: string) => `${path === '(root)' ? '' : `${path}.`}${field}`;
  if (schema.bsonType !== undefined && !list(schema.bsonType).some((t) => hasBsonType(value, String(t)))) {
    return `${path}: type ${bsonTypeOf(value)} is not ${list(schema.bsonType).join(' or ')}`;
  }
  if (schema.type !== undefined && !list(schema.type).some((t) => hasJsonType(value, String(t)))) {
    return `${path}: type ${bsonTypeOf(value)} is not ${list(schema.type).join(' or ')}`;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => keyText([e]) === keyText([value])))
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
  if (isNumber(value)) {
    const n = numberOf(value);
    if (schema.minimum !== undefined) {
      const c = compareValues(value, schema.minimum);
      if (c < 0 || (c === 0 && schema.exclusiveMinimum === true)) return `${path}: below ${String(schema.minimum)}`;
    }
    if (schema.maximum !== undefined) {
      const c = compareValues(value, schema.maximum);
      if (c > 0 || (c === 0 && schema.exclusiveMaximum === true)) return `${path}: above ${String(schema.maximum)}`;
    }
    if (schema.multipleOf !== undefined && n % numberOf(schema.multipleOf) !== 0)
      return `${path}: not a multiple of ${String(schema.multipleOf)}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < numberOf(schema.minItems))
      return `${path}: fewer than ${String(schema.minItems)} items`;
    if (schema.maxItems !== undefined && value.length > numberOf(schema.maxItems))
      return `${path}: more than ${String(schema.maxItems)} items`;
    if (schema.uniqueItems === true && new Set(value.map((v) => keyText([v]))).size !== value.length)
      return `${path}: items are not unique`;
    if (isDoc(schema.items)) {
      for (const [i, item] of value.entries()) {
        const reason = violation(schema.items, item, at(String(i)));
        if (reason) return reason;
      }
    } else if (Array.isArray(schema.items)) {
      for (const [i, item] of value.entries()) {
        const sub = i < schema.items.length ? schema.items[i] : schema.additionalItems;
        if (sub === false) return `${path}: more items than the schema lists`;
        if (isDoc(sub)) {
          const reason = violation(sub, item, at(String(i)));
          if (reason) return reason;
        }
      }
    }
  }
  if (isDoc(value) && bsonTypeOf(value) === 'object') {
    const count = Object.keys(value).length;
    if (schema.minProperties !== undefined && count < numberOf(schema.minProperties))
      return `${path}: fewer than ${String(schema.minProperties)} fields`;
    if (schema.maxProperties !== undefined && count > numberOf(schema.maxProperties))
      return `${path}: more than ${String(schema.maxProperties)} fields`;
    if (Array.isArray(schema.required))
      for (const field of schema.required)
        if (!Object.hasOwn(value, String(field))) return `${path}: missing required field ${String(field)}`;
    const properties = isDoc(schema.properties) ? schema.properties : {};
    const patterns = isDoc(schema.patternProperties) ? Object.entries(schema.patternProperties) : [];
    for (const [field, fieldValue] of Object.entries(value)) {
      const matching = patterns.filter(([p]) => new RegExp(p, 'u').test(field)).map(([, sub]) => sub);
      const subs = [...(isDoc(properties[field]) ? [properties[field]] : []), ...matching].filter(isDoc);
      for (const sub of subs) {
        const reason = violation(sub, fieldValue, at(field));
        if (reason) return reason;
      }
      if (subs.length > 0) continue;
      if (schema.additionalProperties === false) return `${path}: field ${field} is not allowed`;
      if (isDoc(schema.additionalProperties)) {
        const reason = violation(schema.additionalProperties, fieldValue, at(field));
        if (reason) return reason;
      }
    }
    if (isDoc(schema.dependencies)) {
      for (const [field, dependency] of Object.entries(schema.dependencies)) {
        if (!Object.hasOwn(value, field)) continue;
        if (Array.isArray(dependency)) {
          const missing = dependency.find((d) => !Object.hasOwn(value, String(d)));
          if (missing !== undefined) return `${path}: field ${field} needs field ${String(missing)}`;
        } else if (isDoc(dependency)) {
          const reason = violation(dependency, value, path);
          if (reason) return reason;
        }
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

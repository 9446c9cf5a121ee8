import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldIssue } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import { findUnstorable, PART_TYPES } from '../domain/validation.js';

/**
 * Request validation. Two Ajv instances, because the parts of a request differ in what arrives:
 * - bodies are JSON and are never coerced: a number where a string belongs is a 400;
 * - querystring, params and headers arrive as text, so numbers there are coerced (`?limit=20`).
 * Neither removes unknown properties: with `additionalProperties: false` in every schema an unknown
 * field is rejected, never silently dropped. `discriminator` lets a content part be checked
 * against the one schema its `type` names, so errors point at the right field.
 * Every body is first scanned for strings and keys no backend can store exactly (NUL, lone
 * surrogates) at any depth the domain accepts, so no field of any route can let one through.
 * @see https://fastify.dev/docs/latest/Reference/Validation-and-Serialization/#validator-compiler
 */

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const common = {
  removeAdditional: false,
  allErrors: false,
  allowUnionTypes: true,
  discriminator: true,
  useDefaults: false,
} as const;

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const body = addFormats(new Ajv({ ...common, coerceTypes: false }));
  const text = addFormats(new Ajv({ ...common, coerceTypes: true }));
  // Ajv caches compiled functions by schema object, so shared schemas compile once per instance.
  return ({ schema, httpPart }) =>
    httpPart === 'body' ? storableFirst(body.compile(schema as object)) : text.compile(schema as object);
}

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** One JSON-pointer step; the unstorable characters of a key show as U+FFFD in the field name. */
const pointerStep = (step: string | number) =>
  String(step).replaceAll('\u0000', '\ufffd').toWellFormed().replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * A body validator that refuses unstorable strings before the schema runs, reporting them as a
 * validation error of their own (`storable`) at their path. Values nested deeper than the scan
 * reaches are left to the schema and the domain, which accept nothing that deep.
 */
function storableFirst(validate: Validate): Validate {
  const wrapped: Validate = (data) => {
    const problem = findUnstorable(data, { maxDepth: LIMITS.bodyScanDepthMax, tooDeep: 'skip', json: false });
    if (problem) {
      const instancePath = problem.path.map((step) => `/${pointerStep(step)}`).join('');
      wrapped.errors = [{ keyword: 'storable', instancePath, schemaPath: '#', params: {}, message: problem.message }];
      return false;
    }
    const ok = validate(data);
    wrapped.errors = validate.errors ?? null;
    return ok;
  };
  return wrapped;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' };

function appendPath(path: string, key: string): string {
  if (/^\d+$/.test(key)) return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** `/content/0/text` → `content[0].text`. */
export function pointerToField(pointer: string): string {
  let field = '';
  for (const raw of pointer.split('/').slice(1))
    field = appendPath(field, raw.replaceAll('~1', '/').replaceAll('~0', '~'));
  return field;
}

/** Turns one Ajv error into the field it is about and a message a client can act on. */
export function ajvIssue(error: ErrorObject, context: string | undefined): FieldIssue {
  const base = pointerToField(error.instancePath);
  const params = error.params as Record<string, unknown>;
  let field = base;
  let message = error.message ?? 'is invalid';
  switch (error.keyword) {
    case 'required':
      field = appendPath(base, String(params.missingProperty));
      message = 'is required';
      break;
    case 'additionalProperties':
      field = appendPath(base, String(params.additionalProperty));
      message = 'is not a known field';
      break;
    case 'discriminator':
      field = appendPath(base, String(params.tag));
      message =
        params.error === 'tag' && params.tagValue === undefined
          ? 'is required'
          : `must be one of ${PART_TYPES.join(', ')}`;
      break;
    case 'type': {
      const types = Array.isArray(params.type) ? params.type : String(params.type).split(',');
      message = `must be ${types.map((t) => (t === 'null' ? 'null' : `a${/^[aeiou]/.test(String(t)) ? 'n' : ''} ${String(t)}`)).join(' or ')}`;
      break;
    }
    case 'propertyNames':
      field = appendPath(base, String(params.propertyName));
      message = 'is not an allowed key (1–64 of letters, digits and _.:-, not starting with . : or -)';
      break;
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'maxProperties':
      message = `may have at most ${String(params.limit)} keys`;
      break;
    case 'maximum':
      message = `must be at most ${String(params.limit)}`;
      break;
    case 'minimum':
      message = `must be at least ${String(params.limit)}`;
      break;
  }
  // A propertyNames failure also reports the inner keyword (e.g. pattern) with the key in `propertyName`.
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined && error.keyword !== 'propertyNames') {
    field = appendPath(base, propertyName);
    message = 'is not an allowed key (1–64 of letters, digits and _.:-, not starting with . : or -)';
  }
  if (field === '') field = PART_NAMES[context ?? 'body'] ?? 'body';
  return { field, message };
}

/** The issues of a failed validation, one per field. */
export function ajvIssues(errors: ErrorObject[], context: string | undefined): FieldIssue[] {
  const byField = new Map<string, FieldIssue>();
  for (const error of errors) {
    const issue = ajvIssue(error, context);
    if (!byField.has(issue.field)) byField.set(issue.field, issue);
  }
  return [...byField.values()];
}

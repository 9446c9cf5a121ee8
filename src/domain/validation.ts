import { ValidationError, type FieldIssue } from './errors.js';
import { USER_ID_PATTERN, UUID_PATTERN } from './ids.js';
import { CLIENT_MESSAGE_ID_PATTERN, HANDLE_PATTERN, LIMITS, METADATA_KEY_PATTERN } from './limits.js';
import type { ContentPart, JsonValue, Metadata, MessageRole } from './models.js';

/**
 * Domain validation. The HTTP schemas reject malformed shapes first; these checks hold the rules
 * for every other way into the domain (imports, the CLI, tests) and report every broken field.
 */

const MESSAGE_ROLES: readonly MessageRole[] = ['user', 'assistant', 'system', 'tool'];

/**
 * U+0000 and lone UTF-16 surrogates are refused in every string, JSON ones included: PostgreSQL
 * cannot hold NUL, MongoDB keys cannot, and BSON/UTF-8 cannot carry a lone surrogate unchanged.
 * A value one backend cannot store exactly is refused on all of them alike.
 */
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
const SURROGATE_MESSAGE = 'must be valid Unicode (it has a lone surrogate)';
const unstorable = (s: string) => s.includes('\u0000') || !s.isWellFormed();

class Issues {
  readonly list: FieldIssue[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function checkString(
  issues: Issues,
  field: string,
  value: unknown,
  opts: { min?: number; max: number; pattern?: RegExp; patternText?: string },
): value is string {
  if (typeof value !== 'string') {
    issues.add(field, 'must be a string');
    return false;
  }
  const min = opts.min ?? 1;
  if (value.includes('\u0000')) issues.add(field, NUL_MESSAGE);
  else if (!value.isWellFormed()) issues.add(field, SURROGATE_MESSAGE);
  else if (value.length < min)
    issues.add(field, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  else if (value.length > opts.max) issues.add(field, `must be at most ${opts.max} characters`);
  else if (opts.pattern && !opts.pattern.test(value)) issues.add(field, opts.patternText ?? 'has an invalid format');
  else return true;
  return false;
}

export function checkUserId(value: unknown, field = 'id'): string {
  const issues = new Issues();
  checkString(issues, field, value, {
    max: LIMITS.userIdMax,
    pattern: USER_ID_PATTERN,
    patternText: 'may contain only letters, digits and ._:@|-',
  });
  issues.throwIfAny();
  return value as string;
}

export function checkUuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value))
    throw ValidationError.field(field, 'must be a lower-case UUID');
  return value;
}

export function checkHandle(value: unknown, field = 'handle'): string {
  const issues = new Issues();
  checkString(issues, field, value, {
    max: LIMITS.handleMax,
    pattern: HANDLE_PATTERN,
    patternText: 'must be lower-case letters, digits and _.- (not starting with . or -)',
  });
  issues.throwIfAny();
  return value as string;
}

export function checkDisplayName(value: unknown, field = 'displayName'): string {
  const issues = new Issues();
  if (checkString(issues, field, value, { max: LIMITS.displayNameMax }) && value.trim() === '')
    issues.add(field, 'must not be blank');
  issues.throwIfAny();
  return value as string;
}

export function checkTitle(value: unknown, field = 'title'): string | null {
  if (value === null) return null;
  const issues = new Issues();
  checkString(issues, field, value, { min: 0, max: LIMITS.titleMax });
  issues.throwIfAny();
  return value as string;
}

function collectMetadata(issues: Issues, field: string, value: unknown): void {
  if (!isPlainObject(value)) {
    issues.add(field, 'must be an object of string values');
    return;
  }
  const keys = Object.keys(value);
  if (keys.length > LIMITS.metadataKeys) issues.add(field, `may have at most ${LIMITS.metadataKeys} keys`);
  for (const key of keys) {
    if (!METADATA_KEY_PATTERN.test(key)) {
      issues.add(
        `${field}.${key}`,
        `key must be 1–${LIMITS.metadataKeyMax} of letters, digits and _.:- and not start with . : or -`,
      );
      continue;
    }
    const v = value[key];
    if (typeof v !== 'string') issues.add(`${field}.${key}`, 'must be a string');
    else if (v.length > LIMITS.metadataValueMax)
      issues.add(`${field}.${key}`, `must be at most ${LIMITS.metadataValueMax} characters`);
  }
}

export function checkMetadata(value: unknown, field = 'metadata'): Metadata {
  const issues = new Issues();
  collectMetadata(issues, field, value);
  issues.throwIfAny();
  return value as Metadata;
}

/** JSON of at most 32 levels, every string and key storable (see `unstorable`). */
function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 32) return false;
  if (typeof value === 'string') return !unstorable(value);
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (isPlainObject(value)) return Object.entries(value).every(([k, v]) => !unstorable(k) && isJsonValue(v, depth + 1));
  return false;
}

const PART_KEYS: Record<ContentPart['type'], { required: string[]; optional: string[] }> = {
  text: { required: ['text'], optional: [] },
  tool_call: { required: ['callId', 'name', 'arguments'], optional: [] },
  tool_result: { required: ['callId', 'output'], optional: [] },
  file: { required: ['mimeType'], optional: ['url', 'fileId', 'name'] },
};

function collectPart(issues: Issues, field: string, part: unknown): void {
  if (!isPlainObject(part)) {
    issues.add(field, 'must be an object');
    return;
  }
  const type = part.type;
  if (typeof type !== 'string' || !(type in PART_KEYS)) {
    issues.add(`${field}.type`, 'must be one of text, tool_call, tool_result, file');
    return;
  }
  const shape = PART_KEYS[type as ContentPart['type']];
  for (const key of Object.keys(part)) {
    if (key !== 'type' && !shape.required.includes(key) && !shape.optional.includes(key))
      issues.add(`${field}.${key}`, `is not a field of a ${type} part`);
  }
  for (const key of shape.required) if (!(key in part)) issues.add(`${field}.${key}`, 'is required');
  switch (type) {
    case 'text':
      if ('text' in part) checkString(issues, `${field}.text`, part.text, { min: 0, max: LIMITS.textMax });
      break;
    case 'tool_call':
      if ('callId' in part) checkString(issues, `${field}.callId`, part.callId, { max: LIMITS.identifierMax });
      if ('name' in part) checkString(issues, `${field}.name`, part.name, { max: LIMITS.identifierMax });
      if ('arguments' in part && !isJsonValue(part.arguments))
        issues.add(
          `${field}.arguments`,
          'must be JSON (at most 32 levels deep, with valid Unicode and no NUL characters)',
        );
      break;
    case 'tool_result':
      if ('callId' in part) checkString(issues, `${field}.callId`, part.callId, { max: LIMITS.identifierMax });
      if ('output' in part && !isJsonValue(part.output))
        issues.add(
          `${field}.output`,
          'must be JSON (at most 32 levels deep, with valid Unicode and no NUL characters)',
        );
      break;
    case 'file': {
      if ('mimeType' in part)
        checkString(issues, `${field}.mimeType`, part.mimeType, {
          max: LIMITS.mimeTypeMax,
          pattern: /^[\w.+-]+\/[\w.+-]+$/,
          patternText: 'must look like type/subtype',
        });
      const hasUrl = part.url !== undefined;
      const hasFileId = part.fileId !== undefined;
      if (hasUrl === hasFileId) issues.add(field, 'a file part needs exactly one of url or fileId');
      if (hasUrl && checkString(issues, `${field}.url`, part.url, { max: LIMITS.urlMax })) {
        if (!URL.canParse(part.url as string)) issues.add(`${field}.url`, 'must be an absolute URL');
      }
      if (hasFileId) checkString(issues, `${field}.fileId`, part.fileId, { max: LIMITS.identifierMax });
      if (part.name !== undefined) checkString(issues, `${field}.name`, part.name, { max: LIMITS.fileNameMax });
      break;
    }
  }
}

export function checkContent(value: unknown, field = 'content'): ContentPart[] {
  const issues = new Issues();
  if (!Array.isArray(value)) issues.add(field, 'must be an array of content parts');
  else if (value.length === 0) issues.add(field, 'must have at least one part');
  else if (value.length > LIMITS.contentPartsMax) issues.add(field, `may have at most ${LIMITS.contentPartsMax} parts`);
  else for (const [i, part] of value.entries()) collectPart(issues, `${field}[${i}]`, part);
  issues.throwIfAny();
  return value as ContentPart[];
}

export function checkMessageRole(value: unknown, field = 'role'): MessageRole {
  if (typeof value !== 'string' || !MESSAGE_ROLES.includes(value as MessageRole))
    throw ValidationError.field(field, `must be one of ${MESSAGE_ROLES.join(', ')}`);
  return value as MessageRole;
}

export function checkClientMessageId(value: unknown, field = 'clientMessageId'): string {
  const issues = new Issues();
  checkString(issues, field, value, {
    max: LIMITS.clientMessageIdMax,
    pattern: CLIENT_MESSAGE_ID_PATTERN,
    patternText: 'may contain only letters, digits and ._:-',
  });
  issues.throwIfAny();
  return value as string;
}

/** A page size from a query string or option: default 50, 1–200. */
export function checkLimit(value: unknown, field = 'limit'): number {
  if (value === undefined) return LIMITS.pageDefault;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > LIMITS.pageMax)
    throw ValidationError.field(field, `must be an integer from 1 to ${LIMITS.pageMax}`);
  return n;
}

export function checkVersion(value: unknown, field = 'version'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw ValidationError.field(field, 'must be a positive integer');
  return value;
}

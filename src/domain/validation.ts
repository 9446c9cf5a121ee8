import { ValidationError, type FieldIssue } from './errors.js';
import { USER_ID_PATTERN, UUID_PATTERN } from './ids.js';
import {
  CLIENT_MESSAGE_ID_PATTERN,
  HANDLE_PATTERN,
  LIMITS,
  METADATA_KEY_PATTERN,
  STATUS_REASON_PATTERN,
} from './limits.js';
import { MESSAGE_STATUSES, type ContentPart, type Metadata, type MessageRole, type MessageStatus } from './models.js';

/**
 * Domain validation. The HTTP schemas reject malformed shapes first; these checks hold the rules
 * for every other way into the domain (imports, the CLI, tests) and report every broken field.
 */

const MESSAGE_ROLES: readonly MessageRole[] = ['user', 'assistant', 'system', 'tool'];

/**
 * U+0000 and lone UTF-16 surrogates are refused in every string, JSON ones included: PostgreSQL
 * cannot hold NUL, MongoDB keys cannot, and BSON/UTF-8 cannot carry a lone surrogate unchanged.
 * A value one backend cannot store exactly is refused on all of them alike. `findUnstorable` is the
 * one check: the HTTP layer runs it over every request body, the checks below over every field,
 * and user provisioning over token claims.
 */
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
const SURROGATE_MESSAGE = 'must be valid Unicode (it has a lone surrogate)';

/** Why no backend can store `s` exactly, or undefined when every backend can. */
export function unstorableReason(s: string): string | undefined {
  if (s.includes('\u0000')) return NUL_MESSAGE;
  if (!s.isWellFormed()) return SURROGATE_MESSAGE;
  return undefined;
}

/** True for a string every backend stores exactly. */
export const isStorableText = (value: unknown): value is string =>
  typeof value === 'string' && unstorableReason(value) === undefined;

/** Where in a value a problem is: object keys and array indexes from the top. */
export type ValuePath = (string | number)[];

/** `base` followed by `path` as error fields name it: `content[0].arguments.a`. Unstorable characters of keys show as U+FFFD. */
export function fieldOf(base: string, path: ValuePath): string {
  let field = base;
  for (const step of path) {
    if (typeof step === 'number') field = `${field}[${step}]`;
    else {
      const key = step.replaceAll('\u0000', '\ufffd').toWellFormed();
      field = field === '' ? key : `${field}.${key}`;
    }
  }
  return field;
}

export interface ScanOptions {
  /** Levels of arrays and objects looked into; the value itself is level 1. */
  maxDepth: number;
  /** `refuse`: a deeper value is a problem reported at the top; `skip`: deeper levels are not looked at. */
  tooDeep: 'refuse' | 'skip';
  /** Also refuse what JSON cannot carry (undefined, functions, non-finite numbers, class instances). */
  json: boolean;
}

export interface ValueProblem {
  path: ValuePath;
  message: string;
}

/**
 * The first problem, in document order, of a value about to be stored: a string or object key at
 * any depth that no backend stores exactly, a value nested deeper than `maxDepth`, or (with `json`)
 * something that is not JSON. Iterative, so no input can exhaust the stack.
 */
export function findUnstorable(value: unknown, options: ScanOptions): ValueProblem | undefined {
  const stack: { value: unknown; path: ValuePath; depth: number }[] = [{ value, path: [], depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (typeof v === 'string') {
      const reason = unstorableReason(v);
      if (reason) return { path: item.path, message: reason };
      continue;
    }
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (options.json && !Number.isFinite(v)) return { path: item.path, message: 'must be a finite number' };
      continue;
    }
    const isArray = Array.isArray(v);
    if (!isArray && !isPlainObject(v)) {
      if (options.json)
        return {
          path: item.path,
          message: 'must be JSON (null, a boolean, a number, a string, an array or an object)',
        };
      continue;
    }
    if (item.depth > options.maxDepth) {
      if (options.tooDeep === 'refuse')
        return { path: [], message: `may nest at most ${options.maxDepth} levels of arrays and objects` };
      continue;
    }
    const children: { value: unknown; path: ValuePath; depth: number }[] = [];
    if (isArray) {
      for (const [i, child] of v.entries())
        children.push({ value: child, path: [...item.path, i], depth: item.depth + 1 });
    } else {
      for (const [key, child] of Object.entries(v)) {
        const reason = unstorableReason(key);
        if (reason) return { path: [...item.path, key], message: `key ${reason}` };
        children.push({ value: child, path: [...item.path, key], depth: item.depth + 1 });
      }
    }
    for (const child of children.reverse()) stack.push(child);
  }
  return undefined;
}

/** Adds the first problem of a JSON field (tool arguments and outputs) to `issues`; true when there is none. */
function collectJson(issues: Issues, field: string, value: unknown): boolean {
  const problem = findUnstorable(value, { maxDepth: LIMITS.jsonDepthMax, tooDeep: 'refuse', json: true });
  if (problem) issues.add(fieldOf(field, problem.path), problem.message);
  return problem === undefined;
}

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
  const reason = unstorableReason(value);
  if (reason) issues.add(field, reason);
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
    else if (!isStorableText(v)) issues.add(`${field}.${key}`, unstorableReason(v) ?? 'is invalid');
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

const PART_KEYS: Record<ContentPart['type'], { required: string[]; optional: string[] }> = {
  text: { required: ['text'], optional: ['openai'] },
  tool_call: { required: ['callId', 'name', 'arguments'], optional: ['openai'] },
  tool_result: { required: ['callId', 'output'], optional: ['openai'] },
  file: { required: ['mimeType'], optional: ['url', 'fileId', 'name', 'openai'] },
  opaque: { required: ['openai'], optional: [] },
};
export const PART_TYPES = Object.keys(PART_KEYS) as ContentPart['type'][];

/**
 * A part's `openai` extras (models.ts, OpenAiExtras): an object with `part` and/or `item`, each an
 * object of JSON. An opaque part needs one of them naming its kind in a string `type`. What the
 * fields mean is the OpenAI mapping's business; here they are only checked to be storable JSON.
 */
function collectExtras(issues: Issues, field: string, value: unknown, opaque: boolean): void {
  if (!isPlainObject(value)) {
    issues.add(field, 'must be an object with part and/or item');
    return;
  }
  for (const key of Object.keys(value))
    if (key !== 'part' && key !== 'item') issues.add(`${field}.${key}`, 'is not a field of openai (part, item)');
  for (const key of ['part', 'item'] as const) {
    const inner = value[key];
    if (inner === undefined) continue;
    if (!isPlainObject(inner)) issues.add(`${field}.${key}`, 'must be an object');
    else collectJson(issues, `${field}.${key}`, inner);
  }
  const kind = (x: unknown) => isPlainObject(x) && typeof x.type === 'string' && x.type !== '';
  if (opaque && !kind(value.part) && !kind(value.item))
    issues.add(field, 'an opaque part needs openai.part or openai.item with a string type');
}

function collectPart(issues: Issues, field: string, part: unknown): void {
  if (!isPlainObject(part)) {
    issues.add(field, 'must be an object');
    return;
  }
  const type = part.type;
  if (typeof type !== 'string' || !Object.hasOwn(PART_KEYS, type)) {
    issues.add(`${field}.type`, `must be one of ${PART_TYPES.join(', ')}`);
    return;
  }
  const shape = PART_KEYS[type as ContentPart['type']];
  for (const key of Object.keys(part)) {
    if (key !== 'type' && !shape.required.includes(key) && !shape.optional.includes(key))
      issues.add(`${field}.${key}`, `is not a field of a ${type} part`);
  }
  for (const key of shape.required) if (!(key in part)) issues.add(`${field}.${key}`, 'is required');
  if (part.openai !== undefined) collectExtras(issues, `${field}.openai`, part.openai, type === 'opaque');
  switch (type) {
    case 'text':
      if ('text' in part) checkString(issues, `${field}.text`, part.text, { min: 0, max: LIMITS.textMax });
      break;
    case 'tool_call':
      if ('callId' in part) checkString(issues, `${field}.callId`, part.callId, { max: LIMITS.identifierMax });
      if ('name' in part) checkString(issues, `${field}.name`, part.name, { max: LIMITS.identifierMax });
      if ('arguments' in part) collectJson(issues, `${field}.arguments`, part.arguments);
      break;
    case 'tool_result':
      if ('callId' in part) checkString(issues, `${field}.callId`, part.callId, { max: LIMITS.identifierMax });
      if ('output' in part) collectJson(issues, `${field}.output`, part.output);
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

export function checkMessageStatus(value: unknown, field = 'status'): MessageStatus {
  if (typeof value !== 'string' || !MESSAGE_STATUSES.includes(value as MessageStatus))
    throw ValidationError.field(field, `must be one of ${MESSAGE_STATUSES.join(', ')}`);
  return value as MessageStatus;
}

/** A status reason: a short lower-case token (`interrupted`, `max_tokens`, `error`). */
export function checkStatusReason(value: unknown, field = 'statusReason'): string {
  if (typeof value !== 'string' || !STATUS_REASON_PATTERN.test(value))
    throw ValidationError.field(
      field,
      `must be a token of lower-case letters, digits and _ (starting with a letter), at most ${LIMITS.statusReasonMax} characters`,
    );
  return value;
}

/** A reason belongs to `incomplete` only: returns the reason (checked) or null, refusing one on another status. */
export function checkStatusFields(status: MessageStatus, reason: unknown, field = 'statusReason'): string | null {
  if (reason === undefined || reason === null) return null;
  if (status !== 'incomplete') throw ValidationError.field(field, 'is only for an incomplete message');
  return checkStatusReason(reason, field);
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

/** An expected version: an integer from 1 to 2^31−1 (SQL columns are INT). */
export function checkVersion(value: unknown, field = 'version'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMITS.integerMax) {
    throw ValidationError.field(field, `must be an integer from 1 to ${LIMITS.integerMax}`);
  }
  return value;
}

/**
 * Bytes a message's content and metadata take serialized (UTF-8 JSON): what MESSAGE_MAX_BYTES
 * bounds.
 */
export function messageBytes(content: readonly ContentPart[], metadata: Metadata): number {
  return Buffer.byteLength(JSON.stringify(content)) + Buffer.byteLength(JSON.stringify(metadata));
}

/** Refuses a message whose content and metadata serialize to more than `maxBytes`, naming `content`. */
export function checkMessageSize(
  content: readonly ContentPart[],
  metadata: Metadata,
  maxBytes: number,
  field = 'content',
): void {
  const bytes = messageBytes(content, metadata);
  if (bytes > maxBytes) {
    throw ValidationError.field(
      field,
      `content and metadata together must serialize to at most ${maxBytes} bytes of JSON (these take ${bytes})`,
    );
  }
}

/**
 * A token claim used to seed a provisioned user (`name`, `preferred_username`): the claim when it
 * is text every backend stores exactly, else undefined, so provisioning falls back as if the
 * claim were absent. A bad claim never fails the request.
 */
export function storableClaim(value: unknown): string | undefined {
  return isStorableText(value) ? value : undefined;
}

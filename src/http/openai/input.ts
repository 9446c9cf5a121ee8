import { ValidationError, type FieldIssue } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import type { JsonObject } from '../../domain/models.js';
import { fieldOf, findUnstorable } from '../../domain/validation.js';
import { OPAQUE_ITEM_KINDS, OPENAI_ROLES, TEXT_FIELD } from './mapping.js';

/**
 * Items as clients send them (the SDK's `ResponseInputItem`), checked before anything is mapped
 * or written, with every problem named the way OpenAI names it: `items[0].content[1].text`. What
 * is checked is what the mapping relies on (kinds, roles, the fields that become polystore's);
 * every other field is kept as sent, so it only has to be JSON that every backend stores.
 */

export type ItemKind = 'message' | 'function_call' | 'function_call_output' | 'opaque';

export interface CheckedItem {
  kind: ItemKind;
  value: JsonObject;
}

/** At most this many items per request, as OpenAI allows. */
export const ITEMS_MAX = LIMITS.messagesPerBatch;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const KINDS = ['message', 'function_call', 'function_call_output', ...OPAQUE_ITEM_KINDS];
/** Input-only kinds that point at other state, which a store of items cannot keep. */
const REFERENCES = new Set(['item_reference', 'compaction_trigger']);

class Issues {
  readonly list: FieldIssue[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
}

function identifier(issues: Issues, field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.identifierMax)
    issues.add(field, `must be a string of 1–${LIMITS.identifierMax} characters`);
}

function text(issues: Issues, field: string, value: unknown): void {
  if (typeof value !== 'string') issues.add(field, 'must be a string');
  else if (value.length > LIMITS.textMax) issues.add(field, `must be at most ${LIMITS.textMax} characters`);
}

/** An item's status becomes its message's (mapping.ts, itemStatus); absent or null reads completed. */
function status(issues: Issues, field: string, value: unknown): void {
  if (value === undefined || value === null || value === 'completed' || value === 'in_progress') return;
  if (value === 'incomplete') return;
  issues.add(`${field}.status`, 'must be completed, in_progress or incomplete');
}

function part(issues: Issues, field: string, value: unknown): void {
  if (!isObject(value)) issues.add(field, 'must be an object');
  else if (typeof value.type !== 'string' || value.type === '') issues.add(`${field}.type`, 'must be a string');
  else if (Object.hasOwn(TEXT_FIELD, value.type)) {
    const textField = TEXT_FIELD[value.type as keyof typeof TEXT_FIELD];
    text(issues, `${field}.${textField}`, value[textField]);
  }
}

function message(issues: Issues, field: string, item: JsonObject): void {
  if (!(OPENAI_ROLES as readonly unknown[]).includes(item.role))
    issues.add(`${field}.role`, `must be one of ${OPENAI_ROLES.join(', ')}`);
  const content = item.content;
  if (typeof content === 'string') text(issues, `${field}.content`, content);
  else if (!Array.isArray(content)) issues.add(`${field}.content`, 'must be a string or an array of content parts');
  else if (content.length === 0 || content.length > LIMITS.contentPartsMax)
    issues.add(`${field}.content`, `must have 1–${LIMITS.contentPartsMax} parts`);
  else for (const [i, p] of content.entries()) part(issues, `${field}.content[${i}]`, p);
  status(issues, field, item.status);
}

function functionCall(issues: Issues, field: string, item: JsonObject): void {
  identifier(issues, `${field}.call_id`, item.call_id);
  identifier(issues, `${field}.name`, item.name);
  if (typeof item.arguments !== 'string') issues.add(`${field}.arguments`, 'must be a string (JSON text)');
  status(issues, field, item.status);
}

function functionCallOutput(issues: Issues, field: string, item: JsonObject): void {
  identifier(issues, `${field}.call_id`, item.call_id);
  const output = item.output;
  if (Array.isArray(output)) {
    for (const [i, p] of output.entries()) part(issues, `${field}.output[${i}]`, p);
  } else if (typeof output !== 'string') issues.add(`${field}.output`, 'must be a string or an array of content parts');
  status(issues, field, item.status);
}

function item(issues: Issues, field: string, value: unknown): CheckedItem | undefined {
  if (!isObject(value)) {
    issues.add(field, 'must be an object');
    return undefined;
  }
  // An item without a type is a message (the SDK's EasyInputMessage).
  const type = value.type ?? 'message';
  if (typeof type !== 'string' || !KINDS.includes(type)) {
    issues.add(
      `${field}.type`,
      REFERENCES.has(String(type))
        ? `${String(type)} is not supported: items are stored as sent, not as references`
        : `must be one of ${KINDS.join(', ')}`,
    );
    return undefined;
  }
  const before = issues.list.length;
  if (type === 'message') message(issues, field, value);
  else if (type === 'function_call') functionCall(issues, field, value);
  else if (type === 'function_call_output') functionCallOutput(issues, field, value);
  const problem = findUnstorable(value, { maxDepth: LIMITS.jsonDepthMax, tooDeep: 'refuse', json: true });
  if (problem) issues.add(fieldOf(field, problem.path), problem.message);
  if (issues.list.length > before) return undefined;
  const kind: ItemKind =
    type === 'message' || type === 'function_call' || type === 'function_call_output' ? type : 'opaque';
  return { kind, value };
}

/** Checks `items` (at most ITEMS_MAX, at least `min`); throws one ValidationError naming every bad field. */
export function checkItems(value: unknown, field: string, min: number): CheckedItem[] {
  if (!Array.isArray(value) || value.length < min || value.length > ITEMS_MAX)
    throw ValidationError.field(field, `must be an array of ${min}–${ITEMS_MAX} items`);
  const issues = new Issues();
  const checked = value.map((v, i) => item(issues, `${field}[${i}]`, v));
  if (issues.list.length > 0) throw new ValidationError(issues.list);
  return checked as CheckedItem[];
}

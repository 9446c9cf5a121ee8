import { isDeepStrictEqual } from 'node:util';
import { LIMITS } from '../../domain/limits.js';
import type {
  ContentPart,
  Conversation,
  JsonObject,
  JsonValue,
  Message,
  MessageRole,
  OpenAiExtras,
} from '../../domain/models.js';
import { findUnstorable } from '../../domain/validation.js';
import type { CheckedItem } from './input.js';

/**
 * OpenAI's Conversations API over polystore's messages: the one place that says how an item
 * becomes a message and how a message reads as items. The table is in README.md, "OpenAI-compatible
 * API"; in short:
 *
 * - An item is a message (a message item), a single part of one (`function_call` ↔ `tool_call`,
 *   `function_call_output` ↔ `tool_result`, any other item kind ↔ an `opaque` part), or a run of
 *   consecutive content parts of one (a /v1 message mixing text and tool calls reads as several
 *   items). A message's first item has the message's id, the k-th after it `<id>_<k>`.
 * - Text-like content parts (`input_text`, `output_text`, `text`, `refusal`, `summary_text`,
 *   `reasoning_text`) become `text` parts; what the part says beyond its text is kept in
 *   `openai.part` unless it is the default for the role (`input_text`, or for the assistant
 *   `output_text` without annotations). Other content parts (`input_image`, `input_file`, …)
 *   become `opaque` parts, kept whole.
 * - Roles /v1 lacks map to its nearest (`developer` → `system`, `critic` and `discriminator` →
 *   `assistant`, `unknown` → `user`); the OpenAI role and every other field of the item the
 *   message has none for (`phase`, a call's `namespace`…) stay in `openai.item` of its first part.
 * - Ids are the gateway's: an `id` sent with an item is replaced, as OpenAI does.
 *
 * Reading takes the extras it can use and ignores what it cannot (a /v1 client may have written
 * them), so every message reads as valid items.
 */

export const OPENAI_ROLES = [
  'user',
  'assistant',
  'system',
  'developer',
  'tool',
  'unknown',
  'critic',
  'discriminator',
] as const;
export type OpenAiRole = (typeof OPENAI_ROLES)[number];

const ROLE_IN: Record<OpenAiRole, MessageRole> = {
  user: 'user',
  assistant: 'assistant',
  system: 'system',
  developer: 'system',
  tool: 'tool',
  unknown: 'user',
  critic: 'assistant',
  discriminator: 'assistant',
};

/** Content parts that are text, and the field their text is in. */
export const TEXT_FIELD = {
  input_text: 'text',
  output_text: 'text',
  text: 'text',
  summary_text: 'text',
  reasoning_text: 'text',
  refusal: 'refusal',
} as const;
export type TextKind = keyof typeof TEXT_FIELD;
const isTextKind = (type: unknown): type is TextKind => typeof type === 'string' && Object.hasOwn(TEXT_FIELD, type);

/** Item kinds kept whole as an `opaque` part, with the domain role each reads as through /v1. */
export const OPAQUE_ITEM_KINDS = [
  'file_search_call',
  'web_search_call',
  'image_generation_call',
  'computer_call',
  'computer_call_output',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'reasoning',
  'program',
  'program_output',
  'compaction',
  'code_interpreter_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
  'custom_tool_call',
  'custom_tool_call_output',
] as const;

function opaqueRole(kind: string): MessageRole {
  if (kind === 'mcp_approval_response') return 'user';
  return kind.endsWith('_output') ? 'tool' : 'assistant';
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

/**
 * The status of the items a message reads as: the message's own (the domain's statuses are
 * OpenAI's item statuses). An item posted with a `status` stores it on its message (draftOf), so
 * it reads back as sent; one posted without reads `completed`, as before.
 */
export function itemStatus(message: Message): ItemStatus {
  return message.status;
}

const statusIn = (value: unknown): { status?: ItemStatus } =>
  value === 'in_progress' || value === 'incomplete' || value === 'completed' ? { status: value } : {};

// ---------- Conversations ----------

export const conversationObject = (c: Conversation) => ({
  id: c.id,
  object: 'conversation' as const,
  created_at: Math.floor(c.createdAt.getTime() / 1000),
  metadata: c.metadata,
});

// ---------- Items → messages ----------

/** What a message is made of before the service checks and posts it. */
export interface Draft {
  role: MessageRole;
  content: ContentPart[];
  /** The item's `status` when it had one. */
  status?: ItemStatus;
}

const without = (o: JsonObject, keys: readonly string[]): JsonObject =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

const hasKeys = (o: JsonObject) => Object.keys(o).length > 0;

/** The extras a domain text part implies when it has none: OpenAI's default form for the role. */
const defaultTextExtras = (role: MessageRole): JsonObject =>
  role === 'assistant' ? { type: 'output_text', annotations: [] } : { type: 'input_text' };

function withExtras<P extends ContentPart>(part: P, extras: OpenAiExtras): P {
  const openai = { ...part.openai, ...extras };
  return hasKeys(openai as JsonObject) ? { ...part, openai } : part;
}

function partIn(part: JsonObject, role: MessageRole): ContentPart {
  if (!isTextKind(part.type)) return { type: 'opaque', openai: { part } };
  const field = TEXT_FIELD[part.type];
  const rest = without(part, [field]);
  const text: ContentPart = { type: 'text', text: part[field] as string };
  return isDeepStrictEqual(rest, defaultTextExtras(role)) ? text : withExtras(text, { part: rest });
}

/**
 * A function call's arguments: OpenAI sends a JSON string. When the string is exactly how
 * JSON.stringify writes an object or array (what models and the SDK send), /v1 gets the value
 * itself; otherwise the string, so reading back always yields the same text.
 */
export function argumentsIn(text: string): JsonValue {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof value !== 'object' || value === null || JSON.stringify(value) !== text) return text;
  const problem = findUnstorable(value, { maxDepth: LIMITS.jsonDepthMax, tooDeep: 'refuse', json: true });
  return problem ? text : (value as JsonValue);
}

export const argumentsOut = (value: JsonValue): string => (typeof value === 'string' ? value : JSON.stringify(value));

const OUTPUT_PARTS = new Set(['input_text', 'input_image', 'input_file']);

/** A tool result as `function_call_output.output`: a string, or a list of input parts; other JSON as its text. */
function outputOut(value: JsonValue): JsonValue {
  if (typeof value === 'string') return value;
  const parts =
    Array.isArray(value) &&
    value.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p) && OUTPUT_PARTS.has(String(p.type)));
  return parts ? value : JSON.stringify(value);
}

/** The draft of one checked item (input.ts has checked its shape and named its fields). */
export function draftOf(item: CheckedItem): Draft {
  switch (item.kind) {
    case 'message': {
      const { type, role, content, status, id, ...rest } = item.value;
      const domainRole = ROLE_IN[role as OpenAiRole];
      const parts =
        typeof content === 'string'
          ? [{ type: 'text' as const, text: content }]
          : (content as JsonObject[]).map((p) => partIn(p, domainRole));
      const extras: JsonObject = { ...(role === domainRole ? {} : { role }), ...rest };
      const [first, ...others] = parts;
      return {
        role: domainRole,
        content: [withExtras(first!, hasKeys(extras) ? { item: extras } : {}), ...others],
        ...statusIn(status),
      };
    }
    case 'function_call': {
      const { type, call_id, name, arguments: args, status, id, ...rest } = item.value;
      const call: ContentPart = {
        type: 'tool_call',
        callId: call_id as string,
        name: name as string,
        arguments: argumentsIn(args as string),
      };
      return {
        role: 'assistant',
        content: [withExtras(call, hasKeys(rest) ? { item: rest } : {})],
        ...statusIn(status),
      };
    }
    case 'function_call_output': {
      const { type, call_id, output, status, id, ...rest } = item.value;
      const result: ContentPart = { type: 'tool_result', callId: call_id as string, output: output as JsonValue };
      return { role: 'tool', content: [withExtras(result, hasKeys(rest) ? { item: rest } : {})], ...statusIn(status) };
    }
    case 'opaque': {
      const { id, ...rest } = item.value;
      return { role: opaqueRole(String(rest.type)), content: [{ type: 'opaque', openai: { item: rest } }] };
    }
  }
}

// ---------- Messages → items ----------

export type Item = JsonObject & { id: string; type: string };

/** `<messageId>` for a message's first item, `<messageId>_<k>` for the k-th after it. */
export const itemIdOf = (messageId: string, index: number) => (index === 0 ? messageId : `${messageId}_${index}`);

const ITEM_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:_([1-9]\d{0,2}))?$/;

/** The message and position an item id names, or undefined for an id this API never gives out. */
export function parseItemId(id: string): { messageId: string; index: number } | undefined {
  const match = ITEM_ID.exec(id);
  if (!match) return undefined;
  return { messageId: match[1]!, index: match[2] === undefined ? 0 : Number(match[2]) };
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (o: unknown): string | undefined =>
  isObject(o) && typeof o.type === 'string' && o.type !== '' ? o.type : undefined;

/** An opaque part that is a whole item (not a content part of a message). */
const isWholeItem = (p: ContentPart) => p.type === 'opaque' && kindOf(p.openai.part) === undefined;

const ITEM_FIELDS = ['id', 'type', 'status'];

/** A content part of a message item, in OpenAI's form. */
function partOut(part: ContentPart, role: MessageRole): JsonObject {
  switch (part.type) {
    case 'text': {
      const extras = part.openai?.part;
      if (extras && isTextKind(extras.type)) {
        const field = TEXT_FIELD[extras.type];
        return { type: extras.type, [field]: part.text, ...without(extras, ['type', field]) };
      }
      return role === 'assistant'
        ? { type: 'output_text', text: part.text, annotations: [] }
        : { type: 'input_text', text: part.text };
    }
    case 'file': {
      const image = part.mimeType.startsWith('image/');
      if (image)
        return {
          type: 'input_image',
          detail: 'auto',
          ...(part.url ? { image_url: part.url } : {}),
          ...(part.fileId ? { file_id: part.fileId } : {}),
        };
      return {
        type: 'input_file',
        ...(part.url ? { file_url: part.url } : {}),
        ...(part.fileId ? { file_id: part.fileId } : {}),
        ...(part.name ? { filename: part.name } : {}),
      };
    }
    case 'opaque':
      return part.openai.part ?? { type: 'input_text', text: '' };
    case 'tool_call':
    case 'tool_result':
      // Never grouped into a message item (itemsOf); here for the exhaustive switch.
      return { type: 'input_text', text: '' };
  }
}

function roleOut(extras: JsonObject | undefined, role: MessageRole): OpenAiRole {
  const named = extras?.role;
  return typeof named === 'string' && (OPENAI_ROLES as readonly string[]).includes(named)
    ? (named as OpenAiRole)
    : role;
}

function messageItem(m: Message, id: string, parts: ContentPart[]): Item {
  const extras = parts[0]?.openai?.item;
  return {
    id,
    type: 'message',
    status: itemStatus(m),
    role: roleOut(extras, m.role),
    content: parts.map((p) => partOut(p, m.role)),
    ...without(extras ?? {}, [...ITEM_FIELDS, 'role', 'content']),
  };
}

function singleItem(m: Message, id: string, part: ContentPart): Item {
  const extras = part.openai?.item ?? {};
  switch (part.type) {
    case 'tool_call':
      return {
        id,
        type: 'function_call',
        status: itemStatus(m),
        call_id: part.callId,
        name: part.name,
        arguments: argumentsOut(part.arguments),
        ...without(extras, [...ITEM_FIELDS, 'call_id', 'name', 'arguments']),
      };
    case 'tool_result':
      return {
        id,
        type: 'function_call_output',
        status: itemStatus(m),
        call_id: part.callId,
        output: outputOut(part.output),
        ...without(extras, [...ITEM_FIELDS, 'call_id', 'output']),
      };
    default: {
      // A whole item kept opaque: as sent, with this gateway's id.
      const kind = kindOf(extras) ?? 'message';
      return { id, type: kind, ...without(extras, ['id', 'type']) };
    }
  }
}

/** A part that is an item on its own: a tool call, a tool result, a whole opaque item. */
const standsAlone = (p: ContentPart) => p.type === 'tool_call' || p.type === 'tool_result' || isWholeItem(p);

/** The content ranges `[start, end)` of a message's items, in order: one per lone part, one per run of others. */
function groupsOf(content: readonly ContentPart[]): { start: number; end: number }[] {
  const groups: { start: number; end: number }[] = [];
  for (const [i, part] of content.entries()) {
    const last = groups.at(-1);
    if (!standsAlone(part) && last && !standsAlone(content[last.start]!)) last.end = i + 1;
    else groups.push({ start: i, end: i + 1 });
  }
  return groups;
}

/**
 * The items a message reads as, in content order: each tool call, tool result and whole opaque
 * item on its own, every run of other parts as one message item. None for a deleted message.
 */
export function itemsOf(m: Message): Item[] {
  if (m.deletedAt !== null) return [];
  return groupsOf(m.content).map(({ start, end }, k) => {
    const first = m.content[start]!;
    const id = itemIdOf(m.id, k);
    return standsAlone(first) ? singleItem(m, id, first) : messageItem(m, id, m.content.slice(start, end));
  });
}

/** The content range of `m`'s item at `index` (to delete one item of several), or undefined. */
export function partsOfItem(m: Message, index: number): { start: number; end: number } | undefined {
  return m.deletedAt === null ? groupsOf(m.content)[index] : undefined;
}

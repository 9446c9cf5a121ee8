/**
 * The chat domain shared by every backend. Timestamps are `Date` values with millisecond
 * precision (UTC); JSON-valued fields (content parts, metadata, audit diffs) must round-trip
 * exactly through every adapter.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** String→string map: at most 16 keys, key ≤ 64 chars, value ≤ 512 chars. */
export type Metadata = Record<string, string>;

export interface User {
  /** The identity provider's subject (`sub`). */
  id: string;
  /** Unique, lower-case. */
  handle: string;
  displayName: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface Conversation {
  id: string;
  title: string | null;
  metadata: Metadata;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  /** Null until the first message. */
  lastMessageAt: Date | null;
  /** Messages that arrived (soft-deleted ones still count). */
  messageCount: number;
  version: number;
}

export type ParticipantRole = 'owner' | 'member';

export interface Participant {
  conversationId: string;
  userId: string;
  role: ParticipantRole;
  joinedAt: Date;
}

export type MessageRole = 'user' | 'assistant' | 'system' | 'tool';

export type JsonObject = { [key: string]: JsonValue };

/**
 * What OpenAI's Conversations API says about a part that the part's own fields do not: `part`
 * holds the fields of the OpenAI content part that the domain part has no field for (its `type`
 * among them when it is not the default), `item` those of the OpenAI item that the message has
 * none for (kept on the item's first part: a `developer` role, `phase`, a function call's
 * `namespace`…). Written and read by the OpenAI-compatible API (src/http/openai/mapping.ts, where
 * the mapping table is), passed through unchanged by /v1; the table is also in README.md,
 * "OpenAI-compatible API".
 */
export interface OpenAiExtras {
  part?: JsonObject;
  item?: JsonObject;
}

export interface TextPart {
  type: 'text';
  text: string;
  openai?: OpenAiExtras;
}
export interface ToolCallPart {
  type: 'tool_call';
  callId: string;
  name: string;
  arguments: JsonValue;
  openai?: OpenAiExtras;
}
export interface ToolResultPart {
  type: 'tool_result';
  callId: string;
  output: JsonValue;
  openai?: OpenAiExtras;
}
export interface FilePart {
  type: 'file';
  url?: string;
  fileId?: string;
  mimeType: string;
  name?: string;
  openai?: OpenAiExtras;
}
/**
 * Something this domain has no part kind for (an OpenAI image or file input, a reasoning item, a
 * web search call…), kept exactly as sent: `openai.part` is a content part, `openai.item` a whole
 * item; the one present names its kind in `type`.
 */
export interface OpaquePart {
  type: 'opaque';
  openai: OpenAiExtras;
}
export type ContentPart = TextPart | ToolCallPart | ToolResultPart | FilePart | OpaquePart;

/**
 * Where a message stands: `completed` (every message posted whole, and every message before
 * streaming existed), `in_progress` (its author is still appending to it: src/services/streams.ts)
 * or `incomplete` (it ended before it was whole; `statusReason` says why).
 */
export type MessageStatus = 'completed' | 'in_progress' | 'incomplete';
export const MESSAGE_STATUSES: readonly MessageStatus[] = ['completed', 'in_progress', 'incomplete'];

export interface Message {
  id: string;
  conversationId: string;
  authorId: string;
  role: MessageRole;
  /** Ordered typed parts. Empty for a tombstone (a soft-deleted message). */
  content: ContentPart[];
  metadata: Metadata;
  /** Client-chosen idempotency key, unique per conversation. */
  clientMessageId: string | null;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  version: number;
  status: MessageStatus;
  /** Why an `incomplete` message ended (`interrupted`, `max_tokens`, `error`, …); null otherwise. */
  statusReason: string | null;
}

export type AuditAction = 'create' | 'update' | 'delete';
export type AuditEntity = 'user' | 'conversation' | 'participant' | 'message';

export interface AuditEntry {
  id: string;
  actorId: string;
  action: AuditAction;
  entity: AuditEntity;
  /** For participants: `<conversationId>/<userId>`. */
  entityId: string;
  at: Date;
  diff: { [key: string]: JsonValue };
}

/** The time a conversation last saw activity: its last message, or its creation. */
export function activityAt(conversation: Pick<Conversation, 'createdAt' | 'lastMessageAt'>): Date {
  return conversation.lastMessageAt ?? conversation.createdAt;
}

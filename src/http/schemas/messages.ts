import { Type, type TSchema } from 'typebox';
import type { ContentPart } from '../../domain/models.js';
import { CLIENT_MESSAGE_ID_PATTERN, LIMITS, STATUS_REASON_PATTERN } from '../../domain/limits.js';
import {
  closed,
  ExpectedVersion,
  ListQuery,
  Metadata,
  NullableTimestamp,
  Timestamp,
  UserId,
  Uuid,
  Version,
} from './common.js';

const Identifier = Type.String({ minLength: 1, maxLength: LIMITS.identifierMax });
const Json = Type.Unknown({ description: 'Any JSON value.' });
const JsonObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

/** See OpenAiExtras in src/domain/models.ts. */
const OpenAiExtras = Type.Object(
  { part: Type.Optional(JsonObject), item: Type.Optional(JsonObject) },
  {
    ...closed,
    title: 'OpenAiExtras',
    description:
      'What the OpenAI-compatible API (/openai/v1) keeps about this part that its own fields do not hold: `part`, fields of the OpenAI content part; `item`, fields of the OpenAI item (on its first part). Passed through unchanged here; see the README, "OpenAI-compatible API".',
  },
);
const openai = { openai: Type.Optional(OpenAiExtras) };

const TextPart = Type.Object(
  { type: Type.Literal('text'), text: Type.String({ maxLength: LIMITS.textMax }), ...openai },
  { ...closed, title: 'TextPart' },
);
const ToolCallPart = Type.Object(
  { type: Type.Literal('tool_call'), callId: Identifier, name: Identifier, arguments: Json, ...openai },
  { ...closed, title: 'ToolCallPart' },
);
const ToolResultPart = Type.Object(
  { type: Type.Literal('tool_result'), callId: Identifier, output: Json, ...openai },
  { ...closed, title: 'ToolResultPart' },
);
const FilePart = Type.Object(
  {
    type: Type.Literal('file'),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: LIMITS.urlMax,
        description: 'Absolute URL (exactly one of url, fileId).',
      }),
    ),
    fileId: Type.Optional(Identifier),
    mimeType: Type.String({ minLength: 1, maxLength: LIMITS.mimeTypeMax, pattern: '^[\\w.+-]+/[\\w.+-]+$' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.fileNameMax })),
    ...openai,
  },
  { ...closed, title: 'FilePart' },
);
const OpaquePart = Type.Object(
  { type: Type.Literal('opaque'), openai: OpenAiExtras },
  {
    ...closed,
    title: 'OpaquePart',
    description:
      'A part of a kind this API has none for (an OpenAI image or file input, a reasoning item, …), kept exactly: `openai.part` or `openai.item` holds it, naming its kind in `type`.',
  },
);
const PARTS: TSchema[] = [TextPart, ToolCallPart, ToolResultPart, FilePart, OpaquePart];

/** In requests: checked against the one schema its `type` names (Ajv discriminator), so errors name the right field. */
const ContentPartIn = Type.Unsafe<ContentPart>({
  type: 'object',
  required: ['type'],
  oneOf: PARTS,
  discriminator: { propertyName: 'type' },
});
/** In responses: a plain union, which the serializer understands. */
const ContentPartOut = Type.Unsafe<ContentPart>({ anyOf: PARTS });

const Content = <T extends TSchema>(part: T, doc: string) =>
  Type.Array(part, { minItems: 1, maxItems: LIMITS.contentPartsMax, description: doc });

const Role = Type.Enum(['user', 'assistant', 'system', 'tool']);
const ClientMessageId = Type.String({
  pattern: CLIENT_MESSAGE_ID_PATTERN.source,
  description: 'Idempotency key, unique per conversation: a repeat returns the first message with 200.',
});

const Status = Type.Enum(['completed', 'in_progress', 'incomplete'], {
  description:
    '`completed` (the default); `in_progress` while its author streams it (appends, then finish); `incomplete` when it ended early (`statusReason` says why).',
});
const STATUS_REASON_DOC =
  'Why an incomplete message ended: a token such as `interrupted` (set by the idle sweep), `max_tokens`, `error`, `deleted`.';
const StatusReason = Type.String({
  pattern: STATUS_REASON_PATTERN.source,
  maxLength: LIMITS.statusReasonMax,
  description: STATUS_REASON_DOC,
});

export const MessageSchema = Type.Object(
  {
    id: Uuid,
    conversationId: Uuid,
    authorId: UserId,
    role: Role,
    content: Type.Array(ContentPartOut, { description: 'Ordered parts; empty for a deleted message.' }),
    metadata: Metadata(),
    clientMessageId: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    createdAt: Timestamp,
    editedAt: NullableTimestamp,
    deletedAt: NullableTimestamp,
    version: Version(),
    status: Status,
    statusReason: Type.Unsafe<string | null>({ type: ['string', 'null'], description: STATUS_REASON_DOC }),
  },
  closed,
);

export const MessageCreateBody = Type.Object(
  {
    role: Role,
    content: Content(ContentPartIn, `1–${LIMITS.contentPartsMax} typed parts.`),
    metadata: Type.Optional(Metadata()),
    clientMessageId: Type.Optional(ClientMessageId),
    status: Type.Optional(Status),
    statusReason: Type.Optional(Type.Union([StatusReason, Type.Null()])),
  },
  closed,
);

export const AppendBody = Type.Object(
  {
    offset: Type.Integer({
      minimum: 0,
      maximum: LIMITS.integerMax,
      description:
        'Where `text` starts in the streamed text, in Unicode code points (Python `len()`, JavaScript `[...s].length`). Text before it must be there already (else 409 `offset_gap` with `details.expectedOffset`); text it overlaps must be the same (else 409 `offset_conflict`).',
    }),
    text: Type.String({
      maxLength: LIMITS.appendTextMax,
      description: 'The text to add (may be empty: keeps the stream alive).',
    }),
  },
  closed,
);

export const AppendResultSchema = Type.Object(
  {
    messageId: Uuid,
    offset: Type.Integer({ description: 'Where the streamed text ends now: the offset of the next append.' }),
    appended: Type.Integer({ description: 'Code points this append added; 0 for a retry of text already there.' }),
  },
  closed,
);

export const FinishBody = Type.Object(
  {
    status: Type.Enum(['completed', 'incomplete']),
    statusReason: Type.Optional(Type.Union([StatusReason, Type.Null()])),
    content: Type.Optional(
      Content(ContentPartIn, 'The whole final content, replacing what was streamed (to correct drift).'),
    ),
  },
  closed,
);

export const MessageUpdateBody = Type.Object(
  {
    content: Type.Optional(Content(ContentPartIn, 'Replaces the whole content.')),
    metadata: Type.Optional(Metadata(' Replaces the whole map.')),
    version: Type.Optional(ExpectedVersion()),
  },
  closed,
);

export const MessageParams = Type.Object({ id: Uuid, messageId: Uuid }, closed);

export const MessageListQuery = Type.Object(
  {
    direction: Type.Optional(
      Type.Enum(['older', 'newer'], {
        description: '`older` (default): newest first, back in time. `newer`: oldest first, forward in time.',
      }),
    ),
    ...ListQuery.properties,
  },
  closed,
);

import { Type, type TSchema } from 'typebox';
import type { ContentPart } from '../../domain/models.js';
import { CLIENT_MESSAGE_ID_PATTERN, LIMITS } from '../../domain/limits.js';
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
  },
  closed,
);

export const MessageCreateBody = Type.Object(
  {
    role: Role,
    content: Content(ContentPartIn, `1–${LIMITS.contentPartsMax} typed parts.`),
    metadata: Type.Optional(Metadata()),
    clientMessageId: Type.Optional(ClientMessageId),
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

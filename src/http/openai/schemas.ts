import { Type, type TSchema } from 'typebox';
import { closed, Metadata } from '../schemas/common.js';
import { ITEMS_PAGE_DEFAULT, ITEMS_PAGE_MAX } from './conversations.js';
import { ITEMS_MAX } from './input.js';

/**
 * Request and response schemas of /openai/v1, as the `openai` SDK's types define them. Items are
 * checked by input.ts (so problems are named as OpenAI names them); the schemas here hold the
 * envelope and document the shapes. Responses are serialized with JSON.stringify (routes.ts), so
 * these response schemas only document.
 */

const NullableMetadata = Type.Unsafe<Record<string, string> | null>({
  ...Metadata(' Null clears it.'),
  type: ['object', 'null'],
});

const InputItem = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  description:
    'An item as the SDK sends it (`ResponseInputItem`): a message `{type?: "message", role, content: string | parts, status?}`, a `function_call` `{call_id, name, arguments}`, a `function_call_output` `{call_id, output}`, or another output item kind (kept as sent). An `id` is replaced by the gateway\'s.',
});

const Items = (min: number) =>
  Type.Array(InputItem, { minItems: min, maxItems: ITEMS_MAX, description: `${min}–${ITEMS_MAX} items.` });

export const ConversationCreateBody = Type.Object(
  {
    items: Type.Optional(Type.Unsafe<unknown[] | null>({ ...Items(0), type: ['array', 'null'] })),
    metadata: Type.Optional(NullableMetadata),
  },
  closed,
);

export const ConversationUpdateBody = Type.Object({ metadata: NullableMetadata }, closed);

export const ItemsCreateBody = Type.Object({ items: Items(1) }, closed);

export const ConversationParams = Type.Object(
  { conversation_id: Type.String({ minLength: 1, maxLength: 128, description: 'The conversation id (a UUID).' }) },
  closed,
);

export const ItemParams = Type.Object(
  {
    ...ConversationParams.properties,
    item_id: Type.String({
      minLength: 1,
      maxLength: 128,
      description: "An item id: the message's id, or `<message id>_<k>` for its k-th item after the first.",
    }),
  },
  closed,
);

const INCLUDABLE = [
  'file_search_call.results',
  'web_search_call.results',
  'web_search_call.action.sources',
  'message.input_image.image_url',
  'computer_call_output.output.image_url',
  'code_interpreter_call.outputs',
  'reasoning.encrypted_content',
  'message.output_text.logprobs',
];

const Include = Type.Unsafe<string | string[]>({
  anyOf: [
    { type: 'string', enum: INCLUDABLE },
    { type: 'array', items: { type: 'string', enum: INCLUDABLE }, maxItems: INCLUDABLE.length * 2 },
  ],
  description: 'Accepted and ignored: items are returned as stored, with everything they were given.',
});

/** The SDK sends arrays as `include[]=a&include[]=b`. */
const includeQuery = { include: Type.Optional(Include), 'include[]': Type.Optional(Include) };

export const IncludeQuery = Type.Object(includeQuery, closed);

export const ItemListQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'An item id: list the items after it.' }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: ITEMS_PAGE_MAX,
        description: `1–${ITEMS_PAGE_MAX}; default ${ITEMS_PAGE_DEFAULT}.`,
      }),
    ),
    order: Type.Optional(Type.Enum(['asc', 'desc'], { description: '`desc` (default): newest first.' })),
    ...includeQuery,
  },
  closed,
);

export const ConversationObject = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('conversation'),
    created_at: Type.Integer({ description: 'Unix seconds.' }),
    metadata: Metadata(),
  },
  closed,
);

export const ConversationDeleted = Type.Object(
  { id: Type.String(), object: Type.Literal('conversation.deleted'), deleted: Type.Literal(true) },
  closed,
);

export const ItemObject = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  required: ['id', 'type'],
  properties: { id: { type: 'string' }, type: { type: 'string' } },
  description:
    'A `message` `{id, type, status, role, content}`, `function_call` `{id, type, status, call_id, name, arguments}`, `function_call_output` `{id, type, status, call_id, output}`, or another item kind as it was sent.',
});

export const ItemList = Type.Object(
  {
    object: Type.Literal('list'),
    data: Type.Array(ItemObject),
    first_id: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'Null on an empty page.' }),
    last_id: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'Null on an empty page.' }),
    has_more: Type.Boolean(),
  },
  closed,
);

const OpenAiError = Type.Object(
  {
    error: Type.Object(
      {
        message: Type.String(),
        type: Type.String({ description: 'invalid_request_error, requests (429) or server_error.' }),
        param: Type.Unsafe<string | null>({
          type: ['string', 'null'],
          description: 'The field at fault, e.g. `items[0].content[1].text`.',
        }),
        code: Type.Unsafe<string | null>({
          type: ['string', 'null'],
          description:
            "invalid_api_key (401), rate_limit_exceeded (429), else the API's own code (validation_failed, not_found, forbidden, …).",
        }),
      },
      closed,
    ),
  },
  { ...closed, description: "OpenAI's error shape." },
);

/** Error responses of a route in OpenAI's shape; every route may also answer 429, 500 and 503. */
export function openAiErrors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries([...statuses, 429, 500, 503].map((status) => [status, OpenAiError]));
}

import { Type } from 'typebox';
import { EVENT_TYPES } from '../../domain/events.js';
import { LIMITS } from '../../domain/limits.js';
import { closed, Timestamp, UserId, Uuid } from './common.js';
import { ConversationSchema } from './conversations.js';
import { MessageSchema } from './messages.js';

const Seq = Type.Integer({ minimum: 0, maximum: LIMITS.integerMax, description: 'A position in the event log.' });

const ParticipantJson = Type.Object(
  { conversationId: Uuid, userId: UserId, role: Type.String(), joinedAt: Timestamp },
  closed,
);

/** Per type, what `data` holds. */
export const EVENT_DATA_DOC = [
  '`conversation.created`: `{conversation, participants}`',
  '`conversation.updated`: `{changes: {title?, metadata?}, updatedAt, version}`',
  '`conversation.deleted`: `{}` (the last event of the conversation; the stream ends)',
  '`participant.added`: `{participant}`',
  '`participant.removed`: `{userId}` (for that user the last event; their stream ends)',
  '`message.created`, `message.updated`, `message.deleted`: `{message}` as the messages routes return it (a tombstone for deleted)',
  '`reset` (never stored): `{reason: "expired" | "ahead", lastSeq}` — re-read the conversation and its messages, then continue after `lastSeq`',
  'on the SSE stream only, never stored and without an `id:` line (it does not move Last-Event-ID): `message.delta` `{type, conversationId, messageId, offset, text}`, text appended to an `in_progress` message at `offset` (code points); apply it when `offset` ≤ the length you hold, skipping what you have (README, "Streamed messages")',
].join('; ');

export const EventSchema = Type.Object(
  {
    seq: Seq,
    type: Type.Unsafe<string>({ type: 'string', enum: [...EVENT_TYPES, 'reset'], description: 'What happened.' }),
    conversationId: Uuid,
    at: Timestamp,
    actorId: Type.Union([UserId, Type.Null()], { description: 'Who made the change (null for reset).' }),
    data: Type.Unsafe<unknown>({
      anyOf: [
        Type.Object({ conversation: ConversationSchema, participants: Type.Array(ParticipantJson) }, closed),
        Type.Object({ message: MessageSchema }, closed),
        Type.Object({ participant: ParticipantJson }, closed),
        Type.Object({ userId: UserId }, closed),
        Type.Object(
          {
            changes: Type.Object({}, { additionalProperties: true }),
            updatedAt: Timestamp,
            version: Type.Integer(),
          },
          closed,
        ),
        Type.Object({ reason: Type.Union([Type.Literal('expired'), Type.Literal('ahead')]), lastSeq: Seq }, closed),
        Type.Object({}, closed),
      ],
      description: EVENT_DATA_DOC,
    }),
  },
  closed,
);

export const EventPageSchema = Type.Object(
  {
    events: Type.Array(EventSchema),
    lastSeq: Type.Integer({ minimum: 0, description: 'Pass as `after` (or Last-Event-ID) to continue.' }),
    hasMore: Type.Boolean({ description: 'More events are ready now: ask again at once.' }),
    ended: Type.Boolean({ description: 'The feed is over for you (removed, or the conversation deleted).' }),
  },
  closed,
);

export const EventQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,10}$', description: 'The last seq you saw (default 0: from the start).' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.pageMax, description: 'JSON only; default 50.' })),
    ticket: Type.Optional(
      Type.String({ maxLength: 1024, description: 'A stream ticket, instead of Authorization (EventSource).' }),
    ),
  },
  closed,
);

export const TicketBody = Type.Object(
  {
    conversationId: Type.Optional(Uuid),
    stream: Type.Optional(
      Type.Literal('inbox', { description: 'For the inbox stream (GET /v1/events) instead of a conversation.' }),
    ),
  },
  { ...closed, description: 'Exactly one of `conversationId` (that conversation’s events) and `stream: "inbox"`.' },
);
export const TicketSchema = Type.Object(
  {
    ticket: Type.String({ description: 'Use once as `?ticket=` on the stream it was issued for.' }),
    expiresAt: Timestamp,
  },
  closed,
);

/** A position in the caller's inbox feed, as the previous answer gave it. */
const InboxCursor = Type.String({
  pattern: '^[0-9]{1,15}(\\.[0-9a-f-]{36})?$',
  description: 'Opaque: pass back as `after` (or Last-Event-ID) to continue.',
});

export const INBOX_ITEM_DOC = [
  '`conversation`: `{type, at, conversation}` — a conversation you take part in, as it is now, after its activity, title or metadata changed or you joined it',
  '`removed`: `{type, at, conversationId, reason: "removed" | "deleted"}` — you left it, or it was deleted',
].join('; ');

export const InboxItemSchema = Type.Union(
  [
    Type.Object(
      { type: Type.Literal('conversation'), at: Timestamp, conversation: ConversationSchema },
      { ...closed, description: 'A conversation of yours as it is now.' },
    ),
    Type.Object(
      {
        type: Type.Literal('removed'),
        at: Timestamp,
        conversationId: Uuid,
        reason: Type.Union([Type.Literal('removed'), Type.Literal('deleted')]),
      },
      { ...closed, description: 'You no longer take part in the conversation.' },
    ),
  ],
  { description: INBOX_ITEM_DOC },
);

export const InboxPageSchema = Type.Object(
  {
    items: Type.Array(InboxItemSchema),
    cursor: InboxCursor,
    hasMore: Type.Boolean({ description: 'More items are ready now: ask again at once.' }),
    reset: Type.Boolean({
      description:
        'Your position is older than the retention: re-read GET /v1/conversations, then continue from `cursor`.',
    }),
  },
  closed,
);

export const InboxQuery = Type.Object(
  {
    after: Type.Optional(InboxCursor),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.pageMax, description: 'JSON only; default 50.' })),
    ticket: Type.Optional(
      Type.String({
        maxLength: 1024,
        description: 'A stream ticket for the inbox, instead of Authorization (EventSource).',
      }),
    ),
  },
  closed,
);

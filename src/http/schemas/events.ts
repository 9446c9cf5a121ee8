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

export const TicketBody = Type.Object({ conversationId: Uuid }, closed);
export const TicketSchema = Type.Object(
  {
    ticket: Type.String({ description: 'Use once as `?ticket=` on the events route of that conversation.' }),
    expiresAt: Timestamp,
  },
  closed,
);

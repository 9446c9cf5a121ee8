import { Type } from 'typebox';
import { LIMITS } from '../../domain/limits.js';
import { closed, ExpectedVersion, Metadata, NullableTimestamp, Timestamp, UserId, Uuid, Version } from './common.js';

const Title = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  maxLength: LIMITS.titleMax,
  description: `Up to ${LIMITS.titleMax} characters, or null.`,
});

export const ConversationSchema = Type.Object(
  {
    id: Uuid,
    title: Title,
    metadata: Metadata(),
    createdBy: UserId,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastMessageAt: NullableTimestamp,
    messageCount: Type.Integer({
      minimum: 0,
      maximum: LIMITS.integerMax,
      description: 'Messages posted, soft-deleted ones included.',
    }),
    version: Version(),
  },
  closed,
);

export const ConversationCreateBody = Type.Object(
  {
    title: Type.Optional(Title),
    metadata: Type.Optional(Metadata()),
    participantIds: Type.Optional(
      Type.Array(UserId, {
        maxItems: LIMITS.participantsPerCreate,
        description: 'Existing users to add as members; the caller becomes the owner.',
      }),
    ),
  },
  closed,
);

export const ConversationUpdateBody = Type.Object(
  {
    title: Type.Optional(Title),
    metadata: Type.Optional(Metadata(' Replaces the whole map.')),
    version: Type.Optional(ExpectedVersion()),
  },
  closed,
);

export const ConversationParams = Type.Object({ id: Uuid }, closed);

export const ParticipantSchema = Type.Object(
  {
    conversationId: Uuid,
    userId: UserId,
    role: Type.Enum(['owner', 'member']),
    joinedAt: Timestamp,
  },
  closed,
);

export const ParticipantAddBody = Type.Object(
  {
    userId: UserId,
    role: Type.Optional(Type.Enum(['member'], { description: 'Only member: the creator is the one owner.' })),
  },
  closed,
);

export const ParticipantParams = Type.Object({ id: Uuid, userId: UserId }, closed);

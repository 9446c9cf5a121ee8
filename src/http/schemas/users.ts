import { Type } from 'typebox';
import { HANDLE_PATTERN, LIMITS } from '../../domain/limits.js';
import { closed, ExpectedVersion, Timestamp, UserId, Version } from './common.js';

export const Handle = Type.String({
  pattern: HANDLE_PATTERN.source,
  maxLength: LIMITS.handleMax,
  description: 'Unique, lower-case: letters, digits and _.- (not starting with . or -).',
});
export const DisplayName = (description?: string) =>
  Type.String({ minLength: 1, maxLength: LIMITS.displayNameMax, ...(description ? { description } : {}) });

export const UserSchema = Type.Object(
  {
    id: UserId,
    handle: Handle,
    displayName: DisplayName(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    version: Version(),
  },
  { ...closed, description: 'A user. `id` is the identity provider subject.' },
);

export const UserCreateBody = Type.Object(
  {
    handle: Handle,
    displayName: Type.Optional(DisplayName("Default: the token's `name` claim, else the handle.")),
  },
  closed,
);

export const UserUpdateBody = Type.Object(
  {
    handle: Type.Optional(Handle),
    displayName: Type.Optional(DisplayName()),
    version: Type.Optional(ExpectedVersion()),
  },
  closed,
);

export const UserParams = Type.Object({ id: UserId }, closed);

import { NotFoundError } from '../domain/errors.js';
import type { Participant } from '../domain/models.js';
import { checkUserId, checkUuid } from '../domain/validation.js';
import type { Store } from '../repositories/ports.js';

/**
 * Visibility rule: a conversation — with its messages and participants — exists only for the
 * users who take part in it. Everyone else gets NotFoundError (404, never 403), so an id tells an
 * outsider nothing about whether the conversation exists. Every use case on a conversation passes
 * here first, so this is also where its id is checked.
 */
export async function requireParticipant(store: Store, conversationId: string, userId: string): Promise<Participant> {
  checkAccess(conversationId, userId);
  const participant = await store.conversations.findParticipant(conversationId, userId);
  if (!participant) throw new NotFoundError('conversation', conversationId);
  return participant;
}

/**
 * The checks of `requireParticipant` without its query, for use cases whose repository call
 * applies the visibility rule itself, in the same query or statement (`viewerId` on reads, the
 * author of a post): one round trip instead of two.
 */
export function checkAccess(conversationId: string, userId: string): void {
  checkUuid(conversationId, 'conversationId');
  checkUserId(userId, 'actorId');
}

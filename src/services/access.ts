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
  checkUuid(conversationId, 'conversationId');
  checkUserId(userId, 'actorId');
  const participant = await store.conversations.findParticipant(conversationId, userId);
  if (!participant) throw new NotFoundError('conversation', conversationId);
  return participant;
}

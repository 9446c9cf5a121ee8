import { NotFoundError } from '../domain/errors.js';
import type { Participant } from '../domain/models.js';
import type { Store } from '../repositories/ports.js';

/**
 * Visibility rule: a conversation — with its messages and participants — exists only for the
 * users who take part in it. Everyone else gets NotFoundError (404, never 403), so an id tells an
 * outsider nothing about whether the conversation exists.
 */
export async function requireParticipant(store: Store, conversationId: string, userId: string): Promise<Participant> {
  const participant = await store.conversations.findParticipant(conversationId, userId);
  if (!participant) throw new NotFoundError('conversation', conversationId);
  return participant;
}

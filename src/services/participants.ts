import { ForbiddenError, NotFoundError, RuleViolationError, ValidationError } from '../domain/errors.js';
import type { Participant } from '../domain/models.js';
import { checkUserId } from '../domain/validation.js';
import type { Store } from '../repositories/ports.js';
import { requireParticipant } from './access.js';
import { auditEntry, participantEntityId } from './audit.js';
import type { UserService } from './users.js';

export interface ParticipantAddInput {
  userId: string;
  /** Only `member`: a conversation has exactly one owner, its creator. */
  role?: 'member' | undefined;
}

export class ParticipantService {
  constructor(
    private readonly store: Store,
    private readonly users: UserService,
  ) {}

  async list(actorId: string, conversationId: string): Promise<Participant[]> {
    await requireParticipant(this.store, conversationId, actorId);
    return this.store.conversations.listParticipants(conversationId);
  }

  /** Only the owner adds participants. */
  async add(actorId: string, conversationId: string, input: ParticipantAddInput): Promise<Participant> {
    const userId = checkUserId(input.userId, 'userId');
    if (input.role !== undefined && input.role !== 'member')
      throw ValidationError.field('role', 'must be member (a conversation has one owner)');
    const me = await requireParticipant(this.store, conversationId, actorId);
    if (me.role !== 'owner') throw new ForbiddenError('only the owner of a conversation may add participants');
    if (!(await this.users.existing([userId])).has(userId)) {
      throw ValidationError.field('userId', `no user with id ${userId} exists`);
    }
    const now = new Date();
    const participant: Participant = { conversationId, userId, role: 'member', joinedAt: now };
    const audit = auditEntry(actorId, 'create', 'participant', participantEntityId(conversationId, userId), now, {
      role: 'member',
      joinedAt: now,
    });
    return this.store.conversations.addParticipant(participant, audit);
  }

  /**
   * Anyone may leave; only the owner removes others; the owner cannot leave (they delete the
   * conversation instead, so a conversation never loses its owner).
   */
  async remove(actorId: string, conversationId: string, userId: string): Promise<void> {
    checkUserId(userId, 'userId');
    const me = await requireParticipant(this.store, conversationId, actorId);
    if (userId === actorId) {
      if (me.role === 'owner')
        throw new RuleViolationError('the owner cannot leave their own conversation; delete the conversation instead');
    } else {
      if (me.role !== 'owner')
        throw new ForbiddenError('only the owner of a conversation may remove other participants');
      const target = await this.store.conversations.findParticipant(conversationId, userId);
      if (!target) throw new NotFoundError('participant', participantEntityId(conversationId, userId));
    }
    const now = new Date();
    await this.store.conversations.removeParticipant(
      conversationId,
      userId,
      auditEntry(actorId, 'delete', 'participant', participantEntityId(conversationId, userId), now, {
        removedAt: now,
      }),
    );
  }
}

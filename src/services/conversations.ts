import { conversationJson } from '../domain/encoding.js';
import { ForbiddenError, ValidationError, type FieldIssue } from '../domain/errors.js';
import { uuidv7 } from '../domain/ids.js';
import { LIMITS } from '../domain/limits.js';
import { activityAt, type Conversation, type Metadata, type Participant } from '../domain/models.js';
import { checkMetadata, checkTitle, checkUserId } from '../domain/validation.js';
import type { ConversationPatch, Store } from '../repositories/ports.js';
import { checkAccess, requireParticipant } from './access.js';
import { auditEntry } from './audit.js';
import { applyGuarded, type VersionGuard } from './guard.js';
import type { ServiceLimits } from './limits.js';
import { encodedWithinBudget, readPageRequest, toPaged, type PageRequest, type Paged } from './pagination.js';
import type { UserService } from './users.js';

export interface ConversationCreateInput {
  title?: string | null | undefined;
  metadata?: Metadata | undefined;
  /** Users to add as members; the creator becomes the owner and may be listed or not. */
  participantIds?: string[] | undefined;
}

export interface ConversationUpdateInput {
  title?: string | null | undefined;
  metadata?: Metadata | undefined;
}

export class ConversationService {
  constructor(
    private readonly store: Store,
    private readonly users: UserService,
    private readonly limits: Pick<ServiceLimits, 'pageMaxBytes'>,
  ) {}

  async create(actorId: string, input: ConversationCreateInput): Promise<Conversation> {
    checkUserId(actorId, 'actorId');
    const title = input.title === undefined ? null : checkTitle(input.title);
    const metadata = input.metadata === undefined ? {} : checkMetadata(input.metadata);
    const memberIds = await this.checkParticipantIds(actorId, input.participantIds ?? []);

    const now = new Date();
    const conversation: Conversation = {
      id: uuidv7(now.getTime()),
      title,
      metadata,
      createdBy: actorId,
      createdAt: now,
      updatedAt: now,
      lastMessageAt: null,
      messageCount: 0,
      version: 1,
    };
    const participants: Participant[] = [
      { conversationId: conversation.id, userId: actorId, role: 'owner', joinedAt: now },
      ...memberIds.map(
        (userId): Participant => ({ conversationId: conversation.id, userId, role: 'member', joinedAt: now }),
      ),
    ];
    const audit = auditEntry(actorId, 'create', 'conversation', conversation.id, now, {
      title,
      metadata,
      createdAt: now,
      participants: participants.map((p) => ({ userId: p.userId, role: p.role })),
    });
    return this.store.conversations.create(conversation, participants, audit);
  }

  /**
   * Validates every id, drops duplicates and the creator, then looks the rest up in one query and
   * reports unknown users by position (`participantIds[i]`).
   */
  private async checkParticipantIds(actorId: string, ids: unknown[]): Promise<string[]> {
    if (!Array.isArray(ids)) throw ValidationError.field('participantIds', 'must be an array of user ids');
    if (ids.length > LIMITS.participantsPerCreate) {
      throw ValidationError.field('participantIds', `may list at most ${LIMITS.participantsPerCreate} users`);
    }
    const issues: { at: number; issue: FieldIssue }[] = [];
    /** Each member once, with the position it was first listed at. */
    const members = new Map<string, number>();
    for (const [i, raw] of ids.entries()) {
      let id: string;
      try {
        id = checkUserId(raw, `participantIds[${i}]`);
      } catch (error) {
        if (error instanceof ValidationError) issues.push(...error.issues.map((issue) => ({ at: i, issue })));
        continue;
      }
      if (id !== actorId && !members.has(id)) members.set(id, i);
    }
    const existing = members.size === 0 ? new Set<string>() : await this.users.existing([...members.keys()]);
    for (const [id, i] of members) {
      if (existing.has(id)) continue;
      issues.push({ at: i, issue: { field: `participantIds[${i}]`, message: `no user with id ${id} exists` } });
    }
    if (issues.length > 0) throw new ValidationError(issues.sort((a, b) => a.at - b.at).map((x) => x.issue));
    return [...members.keys()];
  }

  async get(actorId: string, id: string): Promise<Conversation> {
    checkAccess(id, actorId);
    return this.store.conversations.get(id, actorId);
  }

  /**
   * The caller's conversations, most recent activity first. Listing runs in that one direction
   * only (activity keeps moving), so pages carry no prevCursor.
   */
  async list(actorId: string, request: PageRequest): Promise<Paged<Conversation>> {
    checkUserId(actorId, 'actorId');
    const { after, limit } = readPageRequest(request);
    const read = await this.store.conversations.listForUser({ userId: actorId, limit, ...(after ? { after } : {}) });
    const { page, encoded } = encodedWithinBudget(read, conversationJson, this.limits.pageMaxBytes);
    return { ...toPaged(page, (c) => ({ at: activityAt(c), id: c.id }), { reversible: false }), encoded };
  }

  /** Any participant may change the title and metadata. */
  async update(
    actorId: string,
    id: string,
    input: ConversationUpdateInput,
    guard: VersionGuard = {},
  ): Promise<Conversation> {
    const patch: ConversationPatch = {};
    if (input.title !== undefined) patch.title = checkTitle(input.title);
    if (input.metadata !== undefined) patch.metadata = checkMetadata(input.metadata);
    if (Object.keys(patch).length === 0)
      throw ValidationError.field('body', 'must change at least one of title, metadata');
    await requireParticipant(this.store, id, actorId);
    return applyGuarded(
      'conversation',
      id,
      guard,
      async () => (await this.store.conversations.get(id)).version,
      (expected, current) => {
        const now = new Date();
        // Unguarded changes pin the version they read too, so a lost race is retried (see applyGuarded).
        const audit = auditEntry(actorId, 'update', 'conversation', id, now, { ...patch, updatedAt: now });
        const expectedVersion = expected ?? current;
        return this.store.conversations.update({ id, expectedVersion, patch, updatedAt: now, audit });
      },
    );
  }

  /** Only the owner deletes; messages and participants go with the conversation. */
  async delete(actorId: string, id: string): Promise<void> {
    const me = await requireParticipant(this.store, id, actorId);
    if (me.role !== 'owner') throw new ForbiddenError('only the owner of a conversation may delete it');
    const now = new Date();
    await this.store.conversations.delete(
      id,
      auditEntry(actorId, 'delete', 'conversation', id, now, { deletedAt: now }),
    );
  }
}

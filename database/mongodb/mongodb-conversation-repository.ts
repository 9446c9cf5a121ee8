import type { Filter } from 'mongodb';
import { DuplicateError, NotFoundError, VersionConflictError } from '../../src/domain/errors.js';
import {
  conversationCreated,
  conversationDeleted,
  conversationUpdated,
  participantAdded,
  participantRemoved,
} from '../../src/domain/events.js';
import type { AuditEntry, Conversation, Participant } from '../../src/domain/models.js';
import type {
  ConversationListQuery,
  ConversationRepository,
  ConversationUpdate,
  Page,
} from '../../src/repositories/ports.js';
import type { AuditOutbox } from './audit-outbox.js';
import {
  CONVERSATION_FIELDS,
  fromConversationDoc,
  fromParticipantDoc,
  intOf,
  LIVE,
  metadataDoc,
  toConversationDoc,
  toParticipantDoc,
  withParticipants,
  type ConversationDoc,
  type ParticipantDoc,
} from './document-mapper.js';
import { checkDocumentSize } from './document-size.js';
import { compareCodePoints } from './keys.js';
import type { MongoContext } from './mongodb-context.js';
import { insertEvent } from './mongodb-event-repository.js';
import { insertRemovals } from './mongodb-inbox-repository.js';
import type { Recovery } from './recovery.js';

/** The conversation's own fields plus its event seq (for updates that claim one). */
const WITH_SEQ = { participants: 0, shared: 0, _outbox: 0, _pendingPosts: 0, _recentPosts: 0, _deletingAt: 0 } as const;

/** The claim of the next event seq, inside an update pipeline. */
const NEXT_SEQ = { eventSeq: { $add: [{ $ifNull: ['$eventSeq', 0] }, 1] } } as const;

/** (activityAt, _id) descending: the order of a user's list, ids in code-point order. */
const byActivityDesc = (a: ConversationDoc, b: ConversationDoc) =>
  b.activityAt.getTime() - a.activityAt.getTime() || compareCodePoints(b._id, a._id);

/**
 * Conversations embed their participants (`participants: [{userId, role, joinedAt}]`): creating a
 * conversation with its members is one atomic insert. A user's list merges two index reads: their
 * small conversations from the per-member index (participants.userId, activityAt, _id), in order,
 * and their shared ones (more than SHARED_ABOVE members), whose posts leave every per-member key
 * alone. See DESIGN.md, "The inbox".
 */
export class MongoConversationRepository implements ConversationRepository {
  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
    private readonly recovery: Recovery,
  ) {}

  create(conversation: Conversation, participants: Participant[], audit: AuditEntry): Promise<Conversation> {
    return this.ctx.guard('conversation', async () => {
      const doc = toConversationDoc(conversation, participants);
      // The users exist: the service checked (see ConversationRepository.create).
      if (new Set(participants.map((p) => p.userId)).size !== participants.length) {
        // As on every backend, a taken conversation id is reported first.
        if (await this.ctx.conversations.countDocuments({ _id: doc._id }, { limit: 1, ...this.ctx.opts() }))
          throw new DuplicateError('conversation', 'id');
        throw new DuplicateError('participant', 'userId');
      }
      // The conversation is born with its first event's seq claimed (eventSeq: 1).
      const stored = { ...doc, eventSeq: 1, _outbox: [this.outbox.push(audit)._outbox] };
      checkDocumentSize('conversation', 'participants', stored);
      await this.ctx.atomically(async (session) => {
        await this.ctx.conversations.insertOne(stored, this.ctx.opts(session));
        await insertEvent(this.ctx, conversationCreated(conversation, participants, audit), 1, session);
      });
      await this.outbox.deliverAfterWrite('conversations', conversation.id, audit);
      return fromConversationDoc(doc);
    });
  }

  get(id: string, viewerId?: string): Promise<Conversation> {
    return this.ctx.guard('conversation', async () => {
      await this.recovery.maybeSweep();
      const viewer = viewerId === undefined ? {} : { 'participants.userId': viewerId };
      const doc = await this.ctx.conversations.findOne(
        { _id: id, ...LIVE, ...viewer },
        { projection: CONVERSATION_FIELDS, ...this.ctx.opts() },
      );
      if (!doc) throw new NotFoundError('conversation', id);
      return fromConversationDoc(doc);
    });
  }

  update({ id, expectedVersion, patch, updatedAt, audit }: ConversationUpdate): Promise<Conversation> {
    return this.ctx.guard('conversation', async () => {
      const set: Partial<ConversationDoc> = { updatedAt: updatedAt };
      if (patch.title !== undefined) set.title = patch.title;
      if (patch.metadata !== undefined) set.metadata = metadataDoc(patch.metadata);
      // The change claims its event seq in the same single-document update.
      const doc = await this.ctx.atomically(async (session) => {
        const changed = await this.ctx.conversations.findOneAndUpdate(
          { _id: id, ...LIVE, ...(expectedVersion === undefined ? {} : { version: expectedVersion }) },
          { $set: set, $inc: { version: 1, eventSeq: 1 }, $push: this.outbox.push(audit) },
          { returnDocument: 'after', projection: WITH_SEQ, ...this.ctx.opts(session) },
        );
        if (changed) {
          const event = conversationUpdated(id, patch, changed.updatedAt, intOf(changed.version), audit);
          await insertEvent(this.ctx, event, changed.eventSeq ?? 0, session);
        }
        return changed;
      });
      if (!doc) {
        const current = await this.ctx.conversations.findOne(
          { _id: id, ...LIVE },
          { projection: { version: 1 }, ...this.ctx.opts() },
        );
        if (!current || expectedVersion === undefined) throw new NotFoundError('conversation', id);
        throw new VersionConflictError('conversation', id, expectedVersion, intOf(current.version));
      }
      await this.outbox.deliverAfterWrite('conversations', id, audit);
      return fromConversationDoc(doc);
    });
  }

  /**
   * Marking the conversation (with its audit entry, in one update) is the delete: from then on no
   * reader finds it. Removing its messages and the document follows, and is finished by recovery
   * if interrupted. No transaction even where available: the mark is already atomic, and a large
   * conversation would only push a transaction towards its size and time limits.
   */
  delete(id: string, audit: AuditEntry): Promise<void> {
    return this.ctx.guard('conversation', async () => {
      const marked = await this.ctx.atomically(async (session) => {
        const doc = await this.ctx.conversations.findOneAndUpdate(
          { _id: id, ...LIVE },
          { $set: { _deletingAt: new Date() }, $inc: { eventSeq: 1 }, $push: this.outbox.push(audit) },
          {
            returnDocument: 'after',
            projection: { _outbox: 1, eventSeq: 1, 'participants.userId': 1 },
            ...this.ctx.opts(session),
          },
        );
        // The final event; the events collection keeps it after the document is gone.
        if (doc) {
          await insertEvent(this.ctx, conversationDeleted(id, audit), doc.eventSeq ?? 0, session);
          const members = (doc.participants ?? []).map((p) => p.userId);
          await insertRemovals(this.ctx, id, members, audit.at, 'deleted', session);
        }
        return doc;
      });
      if (!marked) throw new NotFoundError('conversation', id);
      try {
        await this.recovery.finishDelete(id, marked._outbox ?? []);
      } catch (error) {
        this.ctx.log.warn(
          { err: error, conversationId: id },
          'conversation deleted; removing its messages continues in recovery',
        );
      }
    });
  }

  /**
   * Two index reads with the same keyset range, merged: the user's small conversations come from
   * `conversations_inbox_small` already in (activityAt, _id) order; their shared ones from
   * `conversations_inbox_shared`, sorted by the server (a top-k sort over the shared conversations
   * the user is in, which are few: a user is in few conversations of more than 32 members). Each
   * read returns at most limit + 1, so the merged page is exact and knows whether more follow.
   */
  listForUser(query: ConversationListQuery): Promise<Page<Conversation>> {
    return this.ctx.guard('conversation', async () => {
      await this.recovery.maybeSweep();
      const { userId, after, limit } = query;
      const part = (shared: boolean) => {
        const filter: Filter<ConversationDoc> = { 'participants.userId': userId, shared, ...LIVE };
        if (after) filter.$or = [{ activityAt: { $lt: after.at } }, { activityAt: after.at, _id: { $lt: after.id } }];
        return this.ctx.conversations
          .find(filter, {
            projection: CONVERSATION_FIELDS,
            sort: { activityAt: -1, _id: -1 },
            limit: limit + 1,
            ...this.ctx.opts(),
          })
          .toArray();
      };
      const [small, shared] = await Promise.all([part(false), part(true)]);
      // The two reads are not one snapshot: a conversation crossing the bound meanwhile may be in both.
      const smallIds = new Set(small.map((d) => d._id));
      const docs = [...small, ...shared.filter((d) => !smallIds.has(d._id))].sort(byActivityDesc);
      return { items: docs.slice(0, limit).map(fromConversationDoc), hasMore: docs.length > limit };
    });
  }

  /** The embedded participants of a live conversation, or null when there is none. */
  private async participantsOf(conversationId: string): Promise<ParticipantDoc[] | null> {
    await this.recovery.maybeSweep();
    const doc = await this.ctx.conversations.findOne(
      { _id: conversationId, ...LIVE },
      { projection: { participants: 1 }, ...this.ctx.opts() },
    );
    return doc ? doc.participants : null;
  }

  findParticipant(conversationId: string, userId: string): Promise<Participant | null> {
    return this.ctx.guard('participant', async () => {
      const p = (await this.participantsOf(conversationId))?.find((x) => x.userId === userId);
      return p ? fromParticipantDoc(conversationId, p) : null;
    });
  }

  listParticipants(conversationId: string): Promise<Participant[]> {
    return this.ctx.guard('participant', async () => {
      const list = await this.participantsOf(conversationId);
      if (!list) throw new NotFoundError('conversation', conversationId);
      return [...list]
        .sort((a, b) => a.joinedAt.getTime() - b.joinedAt.getTime() || compareCodePoints(a.userId, b.userId))
        .map((p) => fromParticipantDoc(conversationId, p));
    });
  }

  addParticipant(participant: Participant, audit: AuditEntry): Promise<Participant> {
    return this.ctx.guard('participant', async () => {
      const { conversationId, userId } = participant;
      const joined = toParticipantDoc(participant);
      const result = await this.ctx.atomically(async (session) => {
        // A pipeline, so the join and the switch to shared at the 33rd member are one update.
        const doc = await this.ctx.conversations.findOneAndUpdate(
          { _id: conversationId, ...LIVE, 'participants.userId': { $ne: userId } },
          withParticipants(
            { $concatArrays: ['$participants', { $literal: [joined] }] },
            { ...this.outbox.append(audit), ...NEXT_SEQ },
          ),
          { returnDocument: 'after', projection: { eventSeq: 1 }, ...this.ctx.opts(session) },
        );
        if (doc) await insertEvent(this.ctx, participantAdded(participant, audit), doc.eventSeq ?? 0, session);
        return doc;
      });
      if (!result) {
        if (!(await this.exists(conversationId))) throw new NotFoundError('conversation', conversationId);
        throw new DuplicateError('participant', 'userId');
      }
      await this.outbox.deliverAfterWrite('conversations', conversationId, audit);
      return fromParticipantDoc(conversationId, joined);
    });
  }

  removeParticipant(conversationId: string, userId: string, audit: AuditEntry): Promise<void> {
    return this.ctx.guard('participant', async () => {
      const result = await this.ctx.atomically(async (session) => {
        // As for a join: leaving and the switch back to small (at 32 members) are one update.
        const doc = await this.ctx.conversations.findOneAndUpdate(
          { _id: conversationId, ...LIVE, 'participants.userId': userId },
          withParticipants(
            { $filter: { input: '$participants', cond: { $ne: ['$$this.userId', { $literal: userId }] } } },
            { ...this.outbox.append(audit), ...NEXT_SEQ },
          ),
          { returnDocument: 'after', projection: { eventSeq: 1 }, ...this.ctx.opts(session) },
        );
        if (doc) {
          await insertEvent(this.ctx, participantRemoved(conversationId, userId, audit), doc.eventSeq ?? 0, session);
          await insertRemovals(this.ctx, conversationId, [userId], audit.at, 'removed', session);
        }
        return doc;
      });
      if (!result) throw new NotFoundError('participant', `${conversationId}/${userId}`);
      await this.outbox.deliverAfterWrite('conversations', conversationId, audit);
    });
  }

  private async exists(conversationId: string): Promise<boolean> {
    return (
      (await this.ctx.conversations.countDocuments(
        { _id: conversationId, ...LIVE },
        { limit: 1, ...this.ctx.opts() },
      )) > 0
    );
  }
}

import { messageJson } from '../domain/encoding.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.js';
import { uuidv7 } from '../domain/ids.js';
import { LIMITS } from '../domain/limits.js';
import type { ContentPart, Message, MessageRole, Metadata } from '../domain/models.js';
import {
  checkClientMessageId,
  checkContent,
  checkMessageSize,
  checkMessageRole,
  checkMetadata,
  checkUuid,
} from '../domain/validation.js';
import type { Direction, MessagePatch, PostResult, Store } from '../repositories/ports.js';
import { checkAccess, requireParticipant } from './access.js';
import { auditEntry } from './audit.js';
import { applyGuarded, type VersionGuard } from './guard.js';
import type { ServiceLimits } from './limits.js';
import { jsonBytes, readPageRequest, toPaged, withinBudget, type PageRequest, type Paged } from './pagination.js';

export interface MessagePostInput {
  role: MessageRole;
  content: ContentPart[];
  metadata?: Metadata | undefined;
  /** Idempotency key: a repeat returns the first message (created: false) and changes nothing. */
  clientMessageId?: string | undefined;
}

/** A message of a batch (postMany): batches are not idempotent, so there is no clientMessageId. */
export type MessageDraftInput = Omit<MessagePostInput, 'clientMessageId'>;

/** A draft that passed every check. */
export interface CheckedDraft {
  role: MessageRole;
  content: ContentPart[];
  metadata: Metadata;
}

export interface MessageUpdateInput {
  content?: ContentPart[] | undefined;
  metadata?: Metadata | undefined;
}

export interface MessageListRequest extends PageRequest {
  /** `older` (default): newest first, going back in time; `newer`: oldest first. */
  direction?: Direction | undefined;
}

export class MessageService {
  constructor(
    private readonly store: Store,
    private readonly limits: ServiceLimits,
  ) {}

  /**
   * Posts a message as the caller. Not audited: the message itself, with its author and time, is
   * the record of the post; edits and deletions are audited.
   */
  async post(actorId: string, conversationId: string, input: MessagePostInput): Promise<PostResult> {
    const role = checkMessageRole(input.role);
    const content = checkContent(input.content);
    const metadata = input.metadata === undefined ? {} : checkMetadata(input.metadata);
    const clientMessageId = input.clientMessageId === undefined ? null : checkClientMessageId(input.clientMessageId);
    checkMessageSize(content, metadata, this.limits.messageMaxBytes);
    // The post checks that the author takes part (404 otherwise), in its own statement.
    checkAccess(conversationId, actorId);
    const now = new Date();
    const message: Message = {
      id: uuidv7(now.getTime()),
      conversationId,
      authorId: actorId,
      role,
      content,
      metadata,
      clientMessageId,
      createdAt: now,
      editedAt: null,
      deletedAt: null,
      version: 1,
    };
    return this.store.messages.post(message);
  }

  /**
   * Checks a batch for postMany without writing anything, so a caller can refuse it before other
   * writes (the OpenAI API creates a conversation with its first items). A problem names the
   * message: `messages[2].content`.
   */
  checkMany(inputs: readonly MessageDraftInput[]): CheckedDraft[] {
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > LIMITS.messagesPerBatch)
      throw ValidationError.field('messages', `must be 1–${LIMITS.messagesPerBatch} messages`);
    return inputs.map((input, i) => {
      const field = `messages[${i}]`;
      const role = checkMessageRole(input.role, `${field}.role`);
      const content = checkContent(input.content, `${field}.content`);
      const metadata = input.metadata === undefined ? {} : checkMetadata(input.metadata, `${field}.metadata`);
      checkMessageSize(content, metadata, this.limits.messageMaxBytes, `${field}.content`);
      return { role, content, metadata };
    });
  }

  /**
   * Posts a batch as the caller, all of it or nothing (store.messages.postMany): one instant, ids
   * in the order given, so the batch reads back in that order. Not audited, like `post`.
   */
  async postMany(actorId: string, conversationId: string, inputs: readonly MessageDraftInput[]): Promise<Message[]> {
    const drafts = this.checkMany(inputs);
    await requireParticipant(this.store, conversationId, actorId);
    const now = new Date();
    const messages = drafts.map(
      (draft): Message => ({
        id: uuidv7(now.getTime()),
        conversationId,
        authorId: actorId,
        ...draft,
        clientMessageId: null,
        createdAt: now,
        editedAt: null,
        deletedAt: null,
        version: 1,
      }),
    );
    return this.store.messages.postMany(conversationId, messages);
  }

  /** A message of a conversation the caller takes part in; tombstones included. */
  async get(actorId: string, conversationId: string, messageId: string): Promise<Message> {
    checkUuid(messageId, 'messageId');
    checkAccess(conversationId, actorId);
    return this.store.messages.get(conversationId, messageId, actorId);
  }

  async list(actorId: string, conversationId: string, request: MessageListRequest): Promise<Paged<Message>> {
    const direction = request.direction ?? 'older';
    if (direction !== 'older' && direction !== 'newer')
      throw ValidationError.field('direction', 'must be older or newer');
    const { after, limit } = readPageRequest(request);
    checkAccess(conversationId, actorId);
    const query = { conversationId, direction, limit, viewerId: actorId };
    const read = await this.store.messages.list({ ...query, ...(after ? { after } : {}) });
    const page = withinBudget(read, (m) => jsonBytes(messageJson(m)), this.limits.pageMaxBytes);
    return toPaged(page, (m) => ({ at: m.createdAt, id: m.id }), { reversible: true });
  }

  /** Only the author edits; a deleted message cannot be edited. */
  async update(
    actorId: string,
    conversationId: string,
    messageId: string,
    input: MessageUpdateInput,
    guard: VersionGuard = {},
  ): Promise<Message> {
    const patch: MessagePatch = {};
    if (input.content !== undefined) patch.content = checkContent(input.content);
    if (input.metadata !== undefined) patch.metadata = checkMetadata(input.metadata);
    if (Object.keys(patch).length === 0)
      throw ValidationError.field('body', 'must change at least one of content, metadata');
    // What the patch brings is refused before any read; the edited message as a whole once it is read.
    checkMessageSize(patch.content ?? [], patch.metadata ?? {}, this.limits.messageMaxBytes);
    return applyGuarded(
      'message',
      messageId,
      guard,
      async () => {
        const current = await this.requireAuthor(actorId, conversationId, messageId, 'edit');
        checkMessageSize(
          patch.content ?? current.content,
          patch.metadata ?? current.metadata,
          this.limits.messageMaxBytes,
        );
        return current.version;
      },
      (expected) => {
        const now = new Date();
        const audit = auditEntry(actorId, 'update', 'message', messageId, now, { ...patch, editedAt: now });
        const change = { conversationId, messageId, expectedVersion: expected };
        return this.store.messages.update({ ...change, patch, editedAt: now, audit });
      },
    );
  }

  /** Soft delete by the author: content and metadata are erased, the tombstone keeps its place. */
  async delete(actorId: string, conversationId: string, messageId: string, guard: VersionGuard = {}): Promise<Message> {
    return applyGuarded(
      'message',
      messageId,
      guard,
      async () => (await this.requireAuthor(actorId, conversationId, messageId, 'delete')).version,
      (expected) => {
        const now = new Date();
        const audit = auditEntry(actorId, 'delete', 'message', messageId, now, { deletedAt: now });
        const deletion = { conversationId, messageId, expectedVersion: expected };
        return this.store.messages.softDelete({ ...deletion, deletedAt: now, audit });
      },
    );
  }

  private async requireAuthor(
    actorId: string,
    conversationId: string,
    messageId: string,
    verb: string,
  ): Promise<Message> {
    checkUuid(messageId, 'messageId');
    checkAccess(conversationId, actorId);
    const message = await this.store.messages.get(conversationId, messageId, actorId);
    if (message.deletedAt !== null) throw new NotFoundError('message', messageId);
    if (message.authorId !== actorId) throw new ForbiddenError(`only the author of a message may ${verb} it`);
    return message;
  }
}

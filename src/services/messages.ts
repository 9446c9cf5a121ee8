import { messageJson } from '../domain/encoding.js';
import { ForbiddenError, NotFoundError, StreamError, ValidationError } from '../domain/errors.js';
import { uuidv7 } from '../domain/ids.js';
import { LIMITS } from '../domain/limits.js';
import type { ContentPart, Message, MessageRole, MessageStatus, Metadata } from '../domain/models.js';
import {
  checkClientMessageId,
  checkContent,
  checkMessageSize,
  checkMessageRole,
  checkMessageStatus,
  checkMetadata,
  checkStatusFields,
  checkUuid,
} from '../domain/validation.js';
import type { Direction, MessagePatch, PostResult, Store } from '../repositories/ports.js';
import { checkAccess, requireParticipant } from './access.js';
import { auditEntry } from './audit.js';
import { applyGuarded, type VersionGuard } from './guard.js';
import type { ServiceLimits } from './limits.js';
import { encodedWithinBudget, readPageRequest, toPaged, type PageRequest, type Paged } from './pagination.js';

export interface MessagePostInput {
  role: MessageRole;
  content: ContentPart[];
  metadata?: Metadata | undefined;
  /** Idempotency key: a repeat returns the first message (created: false) and changes nothing. */
  clientMessageId?: string | undefined;
  /**
   * `completed` (default); `in_progress` to stream the rest with appends (src/services/streams.ts);
   * `incomplete` (with `statusReason`) for a message that ended before it was whole.
   */
  status?: MessageStatus | undefined;
  statusReason?: string | null | undefined;
}

/** A message of a batch (postMany): batches are not idempotent, so there is no clientMessageId. */
export type MessageDraftInput = Omit<MessagePostInput, 'clientMessageId' | 'statusReason'>;

/** A draft that passed every check. */
export interface CheckedDraft {
  role: MessageRole;
  content: ContentPart[];
  metadata: Metadata;
  status: MessageStatus;
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
    /** Told when a delete ended a stream, so the instance stops taking its appends at once. */
    private readonly streamEnded: (conversationId: string, messageId: string) => void = () => {},
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
    const status = input.status === undefined ? 'completed' : checkMessageStatus(input.status);
    const statusReason = checkStatusFields(status, input.statusReason);
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
      status,
      statusReason,
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
      const status = input.status === undefined ? 'completed' : checkMessageStatus(input.status, `${field}.status`);
      return { role, content, metadata, status };
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
        statusReason: null,
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
    const { page, encoded } = encodedWithinBudget(read, messageJson, this.limits.pageMaxBytes);
    return { ...toPaged(page, (m) => ({ at: m.createdAt, id: m.id }), { reversible: true }), encoded };
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
        // Its content belongs to the stream until it ends, and a change of version would make the
        // instance taking its appends lose its place: an in_progress message is finished first.
        if (current.status === 'in_progress')
          throw new StreamError(
            'message_in_progress',
            'the message is still streaming (in_progress); finish it before editing it',
            { status: current.status },
          );
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

  /**
   * Soft delete by the author: content and metadata are erased, the tombstone keeps its place. An
   * in_progress message is ended first (incomplete, reason `deleted`, its own message.updated
   * event), so the tombstone is never left streaming and its stream stops taking appends.
   */
  async delete(actorId: string, conversationId: string, messageId: string, guard: VersionGuard = {}): Promise<Message> {
    let streaming = false;
    return applyGuarded(
      'message',
      messageId,
      guard,
      async () => {
        const current = await this.requireAuthor(actorId, conversationId, messageId, 'delete');
        streaming = current.status === 'in_progress';
        return current.version;
      },
      async (expected) => {
        const now = new Date();
        let expectedVersion = expected;
        if (streaming) {
          const ended = await this.store.streams.finish({
            conversationId,
            messageId,
            expectedVersion: expected,
            status: 'incomplete',
            statusReason: 'deleted',
            content: (await this.store.messages.get(conversationId, messageId)).content,
            audit: auditEntry(actorId, 'update', 'message', messageId, now, {
              status: 'incomplete',
              statusReason: 'deleted',
            }),
          });
          expectedVersion = ended.version;
          this.streamEnded(conversationId, messageId);
        }
        const audit = auditEntry(actorId, 'delete', 'message', messageId, now, { deletedAt: now });
        const deletion = { conversationId, messageId, expectedVersion };
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

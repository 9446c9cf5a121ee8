import { encodeCursor } from '../../domain/cursor.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import type { Conversation, Message, Metadata } from '../../domain/models.js';
import type { Services } from '../../services/index.js';
import { jsonBytes } from '../../services/pagination.js';
import { checkItems, type CheckedItem } from './input.js';
import { draftOf, itemsOf, parseItemId, partsOfItem, type Item } from './mapping.js';

/**
 * OpenAI's conversation and item operations, over the services every other route uses (so the
 * authorization rules and the event log are the same as on /v1): conversations are polystore's
 * conversations, items are read from and written as their messages (mapping.ts).
 */

export interface ItemList {
  object: 'list';
  data: Item[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface ItemListQuery {
  after?: string | undefined;
  limit?: number | undefined;
  order?: 'asc' | 'desc' | undefined;
}

export const ITEMS_PAGE_DEFAULT = 20;
export const ITEMS_PAGE_MAX = 100;

const listOf = (data: Item[], hasMore: boolean): ItemList => ({
  object: 'list',
  data,
  first_id: data[0]?.id ?? null,
  last_id: data.at(-1)?.id ?? null,
  has_more: hasMore,
});

/** A null metadata (which the SDK's types allow) is an empty one. */
const metadataOf = (value: Metadata | null | undefined): Metadata | undefined =>
  value === undefined ? undefined : (value ?? {});

export class OpenAiConversations {
  constructor(
    private readonly services: Services,
    private readonly pageMaxBytes: number,
  ) {}

  /**
   * A conversation with up to 20 first items. Everything is checked before the first write; the
   * conversation and its items are then two writes, so should the second fail (the database went
   * away) the new, empty conversation is removed again where it can be.
   */
  async create(
    actorId: string,
    input: { items?: unknown[] | null | undefined; metadata?: Metadata | null | undefined },
  ): Promise<Conversation> {
    const items = input.items == null ? [] : checkItems(input.items, 'items', 0);
    const drafts = items.map(draftOf);
    if (drafts.length > 0) this.services.messages.checkMany(drafts);
    const metadata = metadataOf(input.metadata);
    const conversation = await this.services.conversations.create(actorId, metadata ? { metadata } : {});
    if (drafts.length === 0) return conversation;
    try {
      await this.services.messages.postMany(actorId, conversation.id, drafts);
    } catch (error) {
      await this.services.conversations.delete(actorId, conversation.id).catch(() => undefined);
      throw error;
    }
    return conversation;
  }

  get(actorId: string, id: string): Promise<Conversation> {
    return this.services.conversations.get(actorId, id);
  }

  /** Replaces the metadata, as OpenAI does; any participant may (as on /v1). */
  update(actorId: string, id: string, metadata: Metadata | null): Promise<Conversation> {
    return this.services.conversations.update(actorId, id, { metadata: metadataOf(metadata) ?? {} });
  }

  /** Owner only (as on /v1); unlike OpenAI, the conversation's items go with it. */
  delete(actorId: string, id: string): Promise<void> {
    return this.services.conversations.delete(actorId, id);
  }

  /** Up to 20 items, all or none (one postMany). */
  async addItems(actorId: string, id: string, raw: unknown[]): Promise<ItemList> {
    const drafts = checkItems(raw, 'items', 1).map((item: CheckedItem) => draftOf(item));
    const messages = await this.services.messages.postMany(actorId, id, drafts);
    return listOf(messages.flatMap(itemsOf), false);
  }

  async getItem(actorId: string, id: string, itemId: string): Promise<Item> {
    const { message, index } = await this.messageOf(actorId, id, itemId, 'item_id');
    const item = itemsOf(message)[index];
    if (!item) throw new NotFoundError('message', itemId);
    return item;
  }

  /**
   * Deletes the message an item is (a tombstone stays for /v1); an item that is one of several of
   * a message posted through /v1 leaves the message with its other parts. Author only, as on /v1.
   */
  async deleteItem(actorId: string, id: string, itemId: string): Promise<Conversation> {
    const { message, index } = await this.messageOf(actorId, id, itemId, 'item_id');
    const range = partsOfItem(message, index);
    if (!range) throw new NotFoundError('message', itemId);
    const rest = [...message.content.slice(0, range.start), ...message.content.slice(range.end)];
    if (rest.length === 0) await this.services.messages.delete(actorId, id, message.id);
    else await this.services.messages.update(actorId, id, message.id, { content: rest });
    return this.services.conversations.get(actorId, id);
  }

  /**
   * A page of items, newest first by default. Messages are read a page at a time and expanded
   * into their items (deleted messages have none) until the page is full; it also ends once its
   * items would serialize to more than PAGE_MAX_BYTES, as every page of the API does.
   */
  async listItems(actorId: string, id: string, query: ItemListQuery): Promise<ItemList> {
    const limit = query.limit ?? ITEMS_PAGE_DEFAULT;
    if (!Number.isInteger(limit) || limit < 1 || limit > ITEMS_PAGE_MAX)
      throw ValidationError.field('limit', `must be an integer from 1 to ${ITEMS_PAGE_MAX}`);
    const ascending = query.order === 'asc';
    const items: Item[] = [];
    let cursor: string | undefined;
    if (query.after !== undefined) {
      const { message, index } = await this.messageOf(actorId, id, query.after, 'after');
      const own = itemsOf(message);
      items.push(...(ascending ? own.slice(index + 1) : own.slice(0, index).reverse()));
      cursor = encodeCursor({ at: message.createdAt, id: message.id });
    }
    let more = true;
    while (items.length <= limit && more) {
      const page = await this.services.messages.list(actorId, id, {
        direction: ascending ? 'newer' : 'older',
        limit: Math.min(limit + 1, 200),
        ...(cursor ? { cursor } : {}),
      });
      for (const m of page.items) items.push(...(ascending ? itemsOf(m) : itemsOf(m).reverse()));
      more = page.hasMore;
      cursor = page.nextCursor ?? cursor;
    }
    const data: Item[] = [];
    let bytes = 0;
    for (const item of items.slice(0, limit)) {
      bytes += jsonBytes(item);
      if (bytes > this.pageMaxBytes && data.length > 0) return listOf(data, true);
      data.push(item);
    }
    return listOf(data, items.length > limit);
  }

  /** The message an item id names, in a conversation the caller takes part in; 400 for an id never given out. */
  private async messageOf(
    actorId: string,
    id: string,
    itemId: string,
    field: string,
  ): Promise<{ message: Message; index: number }> {
    const parsed = parseItemId(itemId);
    if (!parsed) throw ValidationError.field(field, 'is not an item id of this API');
    try {
      return { message: await this.services.messages.get(actorId, id, parsed.messageId), index: parsed.index };
    } catch (error) {
      // A cursor naming no item of the conversation is the client's mistake, not a missing page.
      if (field === 'after' && error instanceof NotFoundError && error.entity === 'message')
        throw ValidationError.field('after', 'names no item of this conversation');
      throw error;
    }
  }
}

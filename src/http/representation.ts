import type { Conversation, Message, Participant, User } from '../domain/models.js';
import type { Paged } from '../services/pagination.js';

/**
 * Domain objects as the API shows them: dates as ISO-8601 with milliseconds, everything else as
 * stored. Kept explicit (rather than relying on Date#toJSON in the serializer) so the wire format
 * is visible in one place.
 */

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

export const userJson = (u: User) => ({ id: u.id, handle: u.handle, displayName: u.displayName, createdAt: iso(u.createdAt), updatedAt: iso(u.updatedAt), version: u.version });

export const conversationJson = (c: Conversation) => ({
  id: c.id,
  title: c.title,
  metadata: c.metadata,
  createdBy: c.createdBy,
  createdAt: iso(c.createdAt),
  updatedAt: iso(c.updatedAt),
  lastMessageAt: isoOrNull(c.lastMessageAt),
  messageCount: c.messageCount,
  version: c.version,
});

export const participantJson = (p: Participant) => ({ conversationId: p.conversationId, userId: p.userId, role: p.role, joinedAt: iso(p.joinedAt) });

export const messageJson = (m: Message) => ({
  id: m.id,
  conversationId: m.conversationId,
  authorId: m.authorId,
  role: m.role,
  content: m.content,
  metadata: m.metadata,
  clientMessageId: m.clientMessageId,
  createdAt: iso(m.createdAt),
  editedAt: isoOrNull(m.editedAt),
  deletedAt: isoOrNull(m.deletedAt),
  version: m.version,
});

export function pageJson<T, J>(page: Paged<T>, toJson: (item: T) => J) {
  return { data: page.items.map(toJson), nextCursor: page.nextCursor, prevCursor: page.prevCursor, hasMore: page.hasMore };
}

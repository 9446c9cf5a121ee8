import type { AuditEntry, Conversation, Message, Participant, User } from './models.js';

/**
 * Domain objects as JSON: dates as ISO-8601 UTC with milliseconds, fields in a fixed order,
 * everything else as stored. The API's representation and the export format are both this, so a
 * record reads the same over HTTP and in a file, and encodes to the same bytes on every backend
 * (the order is set here, not by whatever a driver returned).
 */

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

export const userJson = (u: User) => ({
  id: u.id,
  handle: u.handle,
  displayName: u.displayName,
  createdAt: iso(u.createdAt),
  updatedAt: iso(u.updatedAt),
  version: u.version,
});

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

export const participantJson = (p: Participant) => ({
  conversationId: p.conversationId,
  userId: p.userId,
  role: p.role,
  joinedAt: iso(p.joinedAt),
});

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
  status: m.status,
  statusReason: m.statusReason,
});

export const auditJson = (a: AuditEntry) => ({
  id: a.id,
  actorId: a.actorId,
  action: a.action,
  entity: a.entity,
  entityId: a.entityId,
  at: iso(a.at),
  diff: a.diff,
});

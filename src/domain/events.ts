import { conversationJson, messageJson, participantJson } from './encoding.js';
import type { AuditEntry, Conversation, JsonValue, Message, Participant } from './models.js';

/**
 * The per-conversation event log. Every change inside a conversation is written, in the change's
 * own transaction, as an event with the conversation's next `seq` (1, 2, 3, … without gaps). The
 * log is the truth that live feeds read; a notifier only wakes readers. Payloads are built here,
 * once, for every backend, from the values the change stored: an event carries what a client
 * needs to apply the change without another request (the message or participant exactly as the
 * API returns it, or the changed fields).
 */

export const EVENT_TYPES = [
  'conversation.created',
  'conversation.updated',
  'conversation.deleted',
  'participant.added',
  'participant.removed',
  'message.created',
  'message.updated',
  'message.deleted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type EventData = { [key: string]: JsonValue };

export interface ConversationEvent {
  conversationId: string;
  /** Position in the conversation's log: 1 for its first event, then +1 per event. */
  seq: number;
  type: EventType;
  at: Date;
  /** Who made the change. */
  actorId: string;
  /** What it is about: a message id, a user id (participants) or the conversation id. */
  subject: string;
  data: EventData;
}

/** An event before its adapter gave it a seq. */
export type NewEvent = Omit<ConversationEvent, 'seq'>;

const json = (value: unknown) => value as JsonValue;

export function conversationCreated(c: Conversation, participants: Participant[], audit: AuditEntry): NewEvent {
  return {
    conversationId: c.id,
    type: 'conversation.created',
    at: audit.at,
    actorId: audit.actorId,
    subject: c.id,
    data: { conversation: json(conversationJson(c)), participants: json(participants.map(participantJson)) },
  };
}

/** The changed fields, with the version and updatedAt the change gave the conversation. */
export function conversationUpdated(
  conversationId: string,
  changes: { title?: string | null | undefined; metadata?: Record<string, string> | undefined },
  updatedAt: Date,
  version: number,
  audit: AuditEntry,
): NewEvent {
  const changed: EventData = {};
  if (changes.title !== undefined) changed.title = changes.title;
  if (changes.metadata !== undefined) changed.metadata = changes.metadata;
  return {
    conversationId,
    type: 'conversation.updated',
    at: audit.at,
    actorId: audit.actorId,
    subject: conversationId,
    data: { changes: changed, updatedAt: updatedAt.toISOString(), version },
  };
}

export function conversationDeleted(conversationId: string, audit: AuditEntry): NewEvent {
  return {
    conversationId,
    type: 'conversation.deleted',
    at: audit.at,
    actorId: audit.actorId,
    subject: conversationId,
    data: {},
  };
}

export function participantAdded(p: Participant, audit: AuditEntry): NewEvent {
  return {
    conversationId: p.conversationId,
    type: 'participant.added',
    at: audit.at,
    actorId: audit.actorId,
    subject: p.userId,
    data: { participant: json(participantJson(p)) },
  };
}

export function participantRemoved(conversationId: string, userId: string, audit: AuditEntry): NewEvent {
  return {
    conversationId,
    type: 'participant.removed',
    at: audit.at,
    actorId: audit.actorId,
    subject: userId,
    data: { userId },
  };
}

export function messageCreated(m: Message): NewEvent {
  return {
    conversationId: m.conversationId,
    type: 'message.created',
    at: m.createdAt,
    actorId: m.authorId,
    subject: m.id,
    data: { message: json(messageJson(m)) },
  };
}

/** An edit (`message.updated`) or a soft delete (`message.deleted`), with the message as stored afterwards. */
export function messageChanged(type: 'message.updated' | 'message.deleted', m: Message, audit: AuditEntry): NewEvent {
  return {
    conversationId: m.conversationId,
    type,
    at: audit.at,
    actorId: audit.actorId,
    subject: m.id,
    data: { message: json(messageJson(m)) },
  };
}

export const eventJson = (e: ConversationEvent) => ({
  seq: e.seq,
  type: e.type,
  conversationId: e.conversationId,
  at: e.at.toISOString(),
  actorId: e.actorId,
  data: e.data,
});

/** Events that end a participant's feed: their own removal, or the conversation's deletion. */
export function endsFeedOf(e: ConversationEvent, userId: string): boolean {
  return e.type === 'conversation.deleted' || (e.type === 'participant.removed' && e.subject === userId);
}

import type { Store, StoreLogger } from '../repositories/ports.js';
import { ConversationService } from './conversations.js';
import { EventService } from './events.js';
import { InboxService } from './inbox.js';
import { DEFAULT_SERVICE_LIMITS, type ServiceLimits } from './limits.js';
import { MessageService } from './messages.js';
import { notifyingStore, type Notifier } from './notifier.js';
import { ParticipantService } from './participants.js';
import { sharedEventReads } from './shared-reads.js';
import { DEFAULT_STREAM_OPTIONS, StreamService, type StreamOptions } from './streams.js';
import { UserService } from './users.js';

export { DEFAULT_SERVICE_LIMITS, type ServiceLimits } from './limits.js';

/**
 * The use cases, each taking the acting user's id first. They enforce the domain rules and the
 * authorization rules and reach the database only through the repository ports, so every way
 * into the domain (HTTP, CLI, tests) gets the same behaviour.
 */
export interface Services {
  users: UserService;
  conversations: ConversationService;
  participants: ParticipantService;
  messages: MessageService;
  events: EventService;
  inbox: InboxService;
  /** Streamed messages: appends, finish, the sweep (start/stop it with the app). */
  streams: StreamService;
}

/** How long feeds keep their history and how far behind the inbox feed reads (EVENTS_RETENTION_S, EVENTS_INBOX_SETTLE_MS). */
export interface FeedOptions {
  retentionMs: number;
  settleMs: number;
}

export const DEFAULT_FEED_OPTIONS: FeedOptions = { retentionMs: 7 * 86_400_000, settleMs: 30_000 };

/**
 * With a notifier, every write that appends an event wakes that conversation's stream readers,
 * and the readers one wake-up sets off share their reads of the log.
 */
export function createServices(
  base: Store,
  limits: ServiceLimits = DEFAULT_SERVICE_LIMITS,
  notifier?: Notifier,
  feeds: FeedOptions = DEFAULT_FEED_OPTIONS,
  streamOptions: Omit<StreamOptions, 'messageMaxBytes'> = DEFAULT_STREAM_OPTIONS,
  log?: StoreLogger,
): Services {
  const store = notifier ? notifyingStore(sharedEventReads(base), notifier) : base;
  const users = new UserService(store);
  const streams = new StreamService(
    store,
    notifier,
    { ...streamOptions, messageMaxBytes: limits.messageMaxBytes },
    log,
  );
  return {
    users,
    conversations: new ConversationService(store, users, limits),
    participants: new ParticipantService(store, users),
    messages: new MessageService(store, limits, (conversationId, messageId) => streams.drop(conversationId, messageId)),
    events: new EventService(store),
    inbox: new InboxService(store, feeds),
    streams,
  };
}

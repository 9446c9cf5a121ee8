import type { ConversationRepository, MessageRepository, Store, StreamRepository } from '../repositories/ports.js';

/**
 * What wakes the readers of a conversation's event log after a write. It carries no payload:
 * woken readers read the log from their last seq, so a lost or duplicated wake-up only delays or
 * repeats a read (streams also poll, EVENTS_POLL_MS). `local` reaches this process only; the
 * notifiers for several instances (src/notifiers: PostgreSQL LISTEN/NOTIFY, Redis, NATS) implement
 * the same interface over a LocalNotifier of their own.
 */
export interface Notifier {
  /** Wakes the readers of a topic: a conversation id, or `user:<id>` (userTopic) for a user's inbox. */
  notify(topic: string): void;
  /** Calls `wake` after writes that notify the topic; returns the unsubscribe function. */
  subscribe(topic: string, wake: () => void): () => void;
  /**
   * Delivers `message` (JSON text, at most BROADCAST_MAX_BYTES) to the listeners of `topic` on
   * every instance: this one at once, the others through the broker. Unlike wake-ups it is the
   * payload itself, not a pointer into the log — streamed-message deltas (src/services/streams.ts),
   * which are never written to the database. Best effort: a broker that is away loses them.
   */
  broadcast(topic: string, message: string): void;
  /** Calls `deliver` with every message broadcast to the topic; returns the unsubscribe function. */
  listen(topic: string, deliver: (message: string) => void): () => void;
}

/** The largest message `broadcast` takes (a PostgreSQL NOTIFY payload stays under 8000 bytes with its envelope). */
export const BROADCAST_MAX_BYTES = 6000;

export class LocalNotifier implements Notifier {
  private readonly subscribers = new Map<string, Set<() => void>>();
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  /** Synchronously, in subscription order: deltas of one stream reach a listener in the order sent. */
  broadcast(topic: string, message: string): void {
    for (const deliver of this.listeners.get(topic) ?? []) deliver(message);
  }

  listen(topic: string, deliver: (message: string) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(deliver);
    return () => {
      set.delete(deliver);
      if (set.size === 0) this.listeners.delete(topic);
    };
  }

  notify(conversationId: string): void {
    for (const wake of this.subscribers.get(conversationId) ?? []) queueMicrotask(wake);
  }

  subscribe(conversationId: string, wake: () => void): () => void {
    let set = this.subscribers.get(conversationId);
    if (!set) {
      set = new Set();
      this.subscribers.set(conversationId, set);
    }
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.subscribers.delete(conversationId);
    };
  }

  /** Wakes every subscriber (after wake-ups may have been missed: a broker that was unreachable). */
  wakeAll(): void {
    for (const set of this.subscribers.values()) for (const wake of set) queueMicrotask(wake);
  }

  /** Subscriptions open now (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.subscribers.values()) n += set.size;
    return n;
  }
}

/** For each method of a repository, how its arguments name the conversation it changes. */
type ConversationOf<R> = {
  [M in keyof R]?: R[M] extends (...args: infer A) => unknown ? (...args: A) => string : never;
};

/**
 * The port methods that append events, each with where it finds its conversation id; typed against
 * the ports, so a changed signature is a compile error here rather than a silent missed wake-up.
 */
const MUTATIONS: {
  conversations: ConversationOf<ConversationRepository>;
  messages: ConversationOf<MessageRepository>;
  streams: ConversationOf<StreamRepository>;
} = {
  conversations: {
    create: (conversation) => conversation.id,
    update: (change) => change.id,
    delete: (id) => id,
    addParticipant: (participant) => participant.conversationId,
    removeParticipant: (conversationId) => conversationId,
  },
  messages: {
    post: (message) => message.conversationId,
    postMany: (conversationId) => conversationId,
    update: (change) => change.conversationId,
    softDelete: (deletion) => deletion.conversationId,
  },
  // flush appends no event (its deltas travel by broadcast); finish appends message.updated.
  streams: {
    finish: (change) => change.conversationId,
  },
};

/** The topic that wakes one user's inbox stream (conversation ids are UUIDs, so they never clash). */
export const userTopic = (userId: string) => `user:${userId}`;

/**
 * The mutations that change who takes part, with the users whose inbox streams must learn of it
 * (they are not subscribed to a conversation they were not in yet). Other changes wake inbox
 * streams through their conversation's topic, to which each member's stream is subscribed.
 */
const MEMBERSHIP: { conversations: UsersOf<ConversationRepository> } = {
  conversations: {
    create: (_conversation, participants) => participants.map((p) => p.userId),
    addParticipant: (participant) => [participant.userId],
    removeParticipant: (_conversationId, userId) => [userId],
  },
};

type UsersOf<R> = {
  [M in keyof R]?: R[M] extends (...args: infer A) => unknown ? (...args: A) => string[] : never;
};

/** The store with every event-appending mutation followed by a wake-up of its conversation's readers. */
export function notifyingStore(store: Store, notifier: Notifier): Store {
  // Each method is bound (or wrapped) once, on first use: every request goes through here, and a
  // fresh bound function per call is garbage per call.
  const methods = <T extends object>(
    object: T,
    make: (value: (...args: unknown[]) => unknown, property: PropertyKey) => unknown,
  ) => {
    const made = new Map<PropertyKey, unknown>();
    return (property: PropertyKey) => {
      const value = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      let method = made.get(property);
      if (method === undefined) {
        method = make(value as (...args: unknown[]) => unknown, property);
        made.set(property, method);
      }
      return method;
    };
  };
  const wrap = <T extends object>(repo: T, mutations: ConversationOf<T>, members: UsersOf<T> = {}): T => {
    const method = methods(repo, (value, property) => {
      const conversationOf = mutations[property as keyof T] as ((...args: unknown[]) => string) | undefined;
      if (!conversationOf) return value.bind(repo);
      const usersOf = members[property as keyof T] as ((...args: unknown[]) => string[]) | undefined;
      return async (...args: unknown[]) => {
        const result = await value.apply(repo, args);
        notifier.notify(conversationOf(...args));
        for (const userId of usersOf?.(...args) ?? []) notifier.notify(userTopic(userId));
        return result;
      };
    });
    return new Proxy(repo, { get: (_object, property) => method(property) });
  };
  const conversations = wrap(store.conversations, MUTATIONS.conversations, MEMBERSHIP.conversations);
  const messages = wrap(store.messages, MUTATIONS.messages);
  const streams = wrap(store.streams, MUTATIONS.streams);
  const method = methods(store, (value) => value.bind(store));
  return new Proxy(store, {
    get(_object, property) {
      if (property === 'conversations') return conversations;
      if (property === 'messages') return messages;
      if (property === 'streams') return streams;
      return method(property);
    },
  });
}

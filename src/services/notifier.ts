import type { Store } from '../repositories/ports.js';

/**
 * What wakes the readers of a conversation's event log after a write. It carries no payload:
 * woken readers read the log from their last seq, so a lost or duplicated wake-up only delays or
 * repeats a read (streams also poll, EVENTS_POLL_MS). `local` reaches this process only; a
 * notifier for several instances (PostgreSQL LISTEN/NOTIFY, Redis) implements the same interface.
 */
export interface Notifier {
  notify(conversationId: string): void;
  /** Calls `wake` after writes to the conversation; returns the unsubscribe function. */
  subscribe(conversationId: string, wake: () => void): () => void;
}

export class LocalNotifier implements Notifier {
  private readonly subscribers = new Map<string, Set<() => void>>();

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

  /** Subscriptions open now (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.subscribers.values()) n += set.size;
    return n;
  }
}

type Mutations = {
  conversations: readonly string[];
  messages: readonly string[];
};

/** The port methods that append events, and where each finds its conversation id. */
const MUTATIONS: Mutations = {
  conversations: ['create', 'update', 'delete', 'addParticipant', 'removeParticipant'],
  messages: ['post', 'update', 'softDelete'],
};

function conversationIdOf(method: string, args: unknown[]): string | undefined {
  const first = args[0] as { id?: string; conversationId?: string } | string | undefined;
  if (typeof first === 'string') return first; // delete(id), removeParticipant(conversationId, …)
  if (method === 'update' && first?.id !== undefined) return first.id; // conversation update
  return first?.conversationId ?? first?.id; // posts, message changes, participants, create
}

/** The store with every event-appending mutation followed by a wake-up of its conversation's readers. */
export function notifyingStore(store: Store, notifier: Notifier): Store {
  const wrap = <T extends object>(repo: T, methods: readonly string[]): T =>
    new Proxy(repo, {
      get(object, property) {
        const value = Reflect.get(object, property);
        if (typeof value !== 'function') return value;
        if (typeof property !== 'string' || !methods.includes(property)) return value.bind(object);
        return async (...args: unknown[]) => {
          const result = await value.apply(object, args);
          const id = conversationIdOf(property, args);
          if (id !== undefined) notifier.notify(id);
          return result;
        };
      },
    });
  const conversations = wrap(store.conversations, MUTATIONS.conversations);
  const messages = wrap(store.messages, MUTATIONS.messages);
  return new Proxy(store, {
    get(object, property) {
      if (property === 'conversations') return conversations;
      if (property === 'messages') return messages;
      const value = Reflect.get(object, property);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

import type { EventRepository, Store } from '../repositories/ports.js';

/**
 * The store with identical event-log reads of one wake-up answered by one query. A write wakes
 * every stream of its conversation on this instance in one batch of microtasks (the notifier
 * queues them together), and those streams, being at the same seq, each ask the log the same
 * question: with ten readers of a conversation that was ten queries per event. Calls with the
 * same arguments made within one batch of microtasks share the first one's query; the sharing
 * ends with that batch. Every caller of a batch was woken by a write that had committed before
 * the batch began, and the shared query is sent from within it, so each sees what it was woken for.
 * Results are shared: callers only read them.
 */
export function sharedEventReads(store: Store): Store {
  const events = store.events;
  const inFlight = new Map<string, Promise<unknown>>();
  const shared = <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) => {
    return (...args: A): Promise<R> => {
      const key = `${name}\u0000${args.join('\u0000')}`;
      const running = inFlight.get(key) as Promise<R> | undefined;
      if (running) return running;
      const started = call(...args);
      inFlight.set(key, started);
      // Queued after the wake-ups already waiting in this batch, so they all find the entry.
      queueMicrotask(() => {
        if (inFlight.get(key) === started) inFlight.delete(key);
      });
      return started;
    };
  };
  const reads: EventRepository = {
    list: shared('list', (conversationId: string, afterSeq: number, limit: number) =>
      events.list(conversationId, afterSeq, limit),
    ),
    latestSeq: shared('latest', (conversationId: string) => events.latestSeq(conversationId)),
    joinedSeq: (conversationId, userId) => events.joinedSeq(conversationId, userId),
    prune: (before) => events.prune(before),
  };
  return new Proxy(store, {
    get(object, property) {
      if (property === 'events') return reads;
      const value = Reflect.get(object, property);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

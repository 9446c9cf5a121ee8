import { randomBytes } from 'node:crypto';
import { LocalNotifier, type Notifier } from '../services/notifier.js';

/** How a notifier stands: `connected` wakes other instances; `degraded` polls until the broker is back. */
export type NotifierState = 'connected' | 'degraded';

export interface NotifierStatus {
  type: 'local' | 'postgres' | 'redis' | 'nats';
  state: NotifierState;
  /** When it entered this state. */
  since: Date;
}

/** The notifier a gateway runs: wakes readers, says how it stands, and is started and closed with the app. */
export interface LiveNotifier extends Notifier {
  status(): NotifierStatus;
  /** The first connection attempt; never throws (an unreachable broker means polling, not a failed start). */
  start(): Promise<void>;
  /** Releases every connection and timer. */
  close(): Promise<void>;
}

export interface NotifierLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** One open connection (or pair) to a broker, subscribed to the deployment's channel. */
export interface Link {
  /** Sends each payload to every instance on the channel; rejects when the broker did not take them. */
  publish(payloads: string[]): Promise<void>;
  /** A round trip to the broker: rejects (or never settles) when it does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface LinkHandlers {
  /** A payload another instance (or this one) published. */
  message(payload: string): void;
  /** The link failed after open() resolved; called at most once, never after close(). */
  lost(error: Error): void;
}

/** How one kind of broker is reached: a few lines over its official client (postgres.ts, redis.ts, nats.ts). */
export interface Transport {
  type: 'postgres' | 'redis' | 'nats';
  /** Where it connects, password hidden, for logs. */
  where: string;
  /** Connects and subscribes; resolves once payloads published from then on are received. */
  open(handlers: LinkHandlers): Promise<Link>;
}

export interface BrokerOptions {
  /** While degraded, every local subscriber is woken this often (EVENTS_DEGRADED_POLL_MS). */
  degradedPollMs: number;
  /** Reconnection backoff: the first wait, doubled per failure up to `maxBackoffMs` (plus jitter). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A link whose ping or publish has not answered within this long is given up and reopened. */
  timeoutMs?: number;
  /** How often the link is pinged, so a broker that stopped answering is noticed. */
  pingEveryMs?: number;
}

/** A PostgreSQL NOTIFY payload must stay under 8000 bytes; the others take more, one limit serves all. */
const MAX_PAYLOAD_BYTES = 7000;

/**
 * A payload: this instance's origin, then conversation ids, as a JSON array (ids may hold any
 * character). Splits the ids over several payloads when one would be too long.
 */
export function encodePayloads(origin: string, ids: Iterable<string>): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const id of ids) {
    const size = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (batch.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      payloads.push(JSON.stringify([origin, ...batch]));
      batch = [];
      bytes = 0;
    }
    batch.push(id);
    bytes += size;
  }
  if (batch.length > 0) payloads.push(JSON.stringify([origin, ...batch]));
  return payloads;
}

/**
 * A broadcast (Notifier.broadcast) on the channel: a JSON object, so that builds that know only
 * wake-ups (arrays) skip it. `o`: origin, `t`: topic, `m`: the message.
 */
export function encodeBroadcast(origin: string, topic: string, message: string): string {
  return JSON.stringify({ o: origin, t: topic, m: message });
}

export function decodeBroadcast(payload: string): { origin: string; topic: string; message: string } | undefined {
  if (!payload.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const { o, t, m } = (value ?? {}) as Record<string, unknown>;
  if (typeof o !== 'string' || typeof t !== 'string' || typeof m !== 'string') return undefined;
  return { origin: o, topic: t, message: m };
}

/** The origin and ids of a payload; undefined for anything else on the channel. */
export function decodePayload(payload: string): { origin: string; ids: string[] } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length < 2 || !value.every((item) => typeof item === 'string')) return undefined;
  const [origin, ...ids] = value as string[];
  return { origin: origin!, ids };
}

/** `work`, or a rejection naming `what` once `ms` passed without an answer. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/**
 * A notifier for several instances over one broker. A write wakes this instance's readers at
 * once (no round trip) and is published to the others after the write committed (the store
 * wrapper calls notify after the repository resolved); the ids of one tick, and of everything
 * written while a publish is in flight, go out together in as few payloads as fit. Own
 * payloads coming back are skipped by their origin; anything else wakes the named conversations.
 *
 * When the broker cannot be reached — at start or later — the notifier is `degraded`: it logs one
 * warning, wakes every local reader each `degradedPollMs` (they read the log, the truth, so
 * nothing is lost), and reconnects with backoff. Back `connected`, it wakes every local reader
 * once, for the wake-ups other instances sent meanwhile.
 */
export class BrokerNotifier implements LiveNotifier {
  private readonly local = new LocalNotifier();
  private readonly origin = randomBytes(9).toString('base64url');
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly pingEveryMs: number;

  private state: NotifierState = 'degraded';
  private since = new Date();
  private announced = false;
  private link: Link | undefined;
  private closed = false;
  private failures = 0;
  private pending = new Set<string>();
  /** Broadcasts waiting for the link, in the order sent (published before the wake-ups of the same round). */
  private outbox: string[] = [];
  private flushing = false;
  private flushScheduled = false;
  private retry: NodeJS.Timeout | undefined;
  private degradedPoll: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly log: NotifierLogger,
    private readonly options: BrokerOptions,
  ) {
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.pingEveryMs = options.pingEveryMs ?? 5000;
  }

  notify(conversationId: string): void {
    this.local.notify(conversationId);
    if (this.state !== 'connected') return; // Others find it by polling; nothing queues up meanwhile.
    this.pending.add(conversationId);
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  subscribe(conversationId: string, wake: () => void): () => void {
    return this.local.subscribe(conversationId, wake);
  }

  broadcast(topic: string, message: string): void {
    this.local.broadcast(topic, message);
    if (this.state !== 'connected') return; // Best effort: nothing queues while the broker is away.
    this.outbox.push(encodeBroadcast(this.origin, topic, message));
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  listen(topic: string, deliver: (message: string) => void): () => void {
    return this.local.listen(topic, deliver);
  }

  status(): NotifierStatus {
    return { type: this.transport.type, state: this.state, since: this.since };
  }

  /** Subscriptions open on this instance. */
  get size(): number {
    return this.local.size;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.degradedPoll);
    clearInterval(this.pinger);
    await this.connecting;
    const link = this.link;
    this.link = undefined;
    // A broker that stopped answering must not hold up the app's close.
    if (link) await within(link.close(), this.timeoutMs, 'close').catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.attempt().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async attempt(): Promise<void> {
    let link: Link | undefined;
    let lostEarly: Error | undefined;
    const handlers: LinkHandlers = {
      message: (payload) => this.receive(payload),
      lost: (error) => {
        if (link === undefined) lostEarly = error;
        else if (link === this.link) this.fail(error);
      },
    };
    const opened = this.transport.open(handlers);
    try {
      link = await within(opened, this.timeoutMs, 'connect');
    } catch (error) {
      // One that answers after all is closed at once.
      void opened.then((late) => late.close()).catch(() => undefined);
      if (!this.closed) this.fail(asError(error));
      return;
    }
    if (this.closed || lostEarly) {
      await link.close().catch(() => undefined);
      if (lostEarly && !this.closed) this.fail(lostEarly);
      return;
    }
    this.link = link;
    this.failures = 0;
    clearInterval(this.degradedPoll);
    this.degradedPoll = undefined;
    this.pinger = setInterval(() => void this.check(link), this.pingEveryMs);
    this.pinger.unref();
    this.setState('connected');
    // Wake-ups other instances sent while this one was away are lost; the log is not.
    this.local.wakeAll();
  }

  /** The link stopped working (or never did): degrade, drop it, and try again after a backoff. */
  private fail(error: Error): void {
    if (this.closed) return;
    const link = this.link;
    this.link = undefined;
    clearInterval(this.pinger);
    void link?.close().catch(() => undefined);
    this.pending.clear();
    this.outbox = [];
    this.setState('degraded', error);
    if (this.degradedPoll === undefined) {
      this.degradedPoll = setInterval(() => this.local.wakeAll(), this.options.degradedPollMs);
      this.degradedPoll.unref();
    }
    const backoff = Math.min(this.minBackoffMs * 2 ** this.failures, this.maxBackoffMs);
    this.failures++;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), backoff + Math.floor(Math.random() * (backoff / 4)));
    this.retry.unref();
  }

  private setState(next: NotifierState, error?: Error): void {
    if (this.announced && next === this.state) return;
    const first = !this.announced;
    this.announced = true;
    this.state = next;
    this.since = new Date();
    const context = { notifier: this.transport.type, where: this.transport.where };
    if (next === 'degraded') {
      this.log.warn(
        { ...context, err: error, pollMs: this.options.degradedPollMs },
        `event notifier degraded: ${this.transport.type} cannot be reached; streams read the log every ${this.options.degradedPollMs} ms until it is back`,
      );
    } else {
      this.log.info(context, first ? 'event notifier connected' : 'event notifier connected again');
    }
  }

  private receive(payload: string): void {
    const broadcast = decodeBroadcast(payload);
    if (broadcast) {
      if (broadcast.origin !== this.origin) this.local.broadcast(broadcast.topic, broadcast.message);
      return;
    }
    const decoded = decodePayload(payload);
    if (!decoded || decoded.origin === this.origin) return;
    for (const id of decoded.ids) this.local.notify(id);
  }

  /** Publishes what accumulated; whatever arrives meanwhile goes out with the next round. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while ((this.pending.size > 0 || this.outbox.length > 0) && this.link) {
        const link = this.link;
        const ids = this.pending;
        const broadcasts = this.outbox;
        this.pending = new Set();
        this.outbox = [];
        try {
          const payloads = [...broadcasts, ...(ids.size > 0 ? encodePayloads(this.origin, ids) : [])];
          await within(link.publish(payloads), this.timeoutMs, 'publish');
        } catch (error) {
          if (link === this.link) this.fail(asError(error));
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async check(link: Link): Promise<void> {
    try {
      await within(link.ping(), this.timeoutMs, 'ping');
    } catch (error) {
      if (link === this.link) this.fail(asError(error));
    }
  }
}

/** EVENTS_NOTIFY=local: one instance; always connected (there is nothing to reach). */
export class LocalLiveNotifier extends LocalNotifier implements LiveNotifier {
  private readonly since = new Date();

  status(): NotifierStatus {
    return { type: 'local', state: 'connected', since: this.since };
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}

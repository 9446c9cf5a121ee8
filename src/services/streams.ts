import {
  ForbiddenError,
  NotFoundError,
  StreamCapacityError,
  StreamError,
  ValidationError,
  VersionConflictError,
} from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { ContentPart, Message, MessageStatus, TextPart } from '../domain/models.js';
import {
  checkContent,
  checkMessageSize,
  checkStatusFields,
  checkUuid,
  messageBytes,
  unstorableReason,
} from '../domain/validation.js';
import type { Store, StoreLogger } from '../repositories/ports.js';
import { requireParticipant } from './access.js';
import { auditEntry } from './audit.js';
import { BROADCAST_MAX_BYTES, type Notifier } from './notifier.js';

/**
 * Streamed messages: a message posted `in_progress` grows by appends of text and ends
 * `completed` or `incomplete` (README, "Streamed messages").
 *
 * Offsets count Unicode code points of the message's streamed text (what Python's `len()`
 * counts): the text of its last part when that is a text part, else of a text part the first
 * append adds at the end. An append names the offset it starts at; the text before it must be
 * there (else `offset_gap`), text it overlaps must be the same (else `offset_conflict`), and
 * only what lies beyond the current end is added: a retried append changes nothing.
 *
 * The instance that takes a message's appends keeps its text in memory (a `Live` stream) and
 * writes it at most every `flushIntervalMs`, or at once when `flushBytes` of it are unwritten,
 * and at the finish. Each write is conditional on the version this instance wrote last
 * (StreamRepository.flush), so an instance that lost its place — another one wrote the message —
 * notices on its next write and answers the producer's next append with `offset_gap` naming the
 * offset the database holds; the appends it took since its last write are not in the message.
 *
 * Deltas go to live subscribers at once (Notifier.broadcast on `deltaTopic`), never to the
 * database: one `message.delta` per append with the text it added, and one after each write
 * with the text from the offset the previous write had stored up to the end. That second kind
 * is what makes "subscribe, then read" gap-free: a reader who subscribed before reading the
 * message (content up to offset P, the last write before the read) receives, from the next write
 * on, deltas that start at or before P, and every append's delta after it.
 */

export interface StreamOptions {
  flushIntervalMs: number;
  flushBytes: number;
  idleTimeoutMs: number;
  sweepIntervalMs: number;
  maxActive: number;
  messageMaxBytes: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  flushIntervalMs: 250,
  flushBytes: 4096,
  idleTimeoutMs: 60_000,
  sweepIntervalMs: 5000,
  maxActive: 1000,
  messageMaxBytes: 256 * 1024,
};

/** In_progress messages the sweep ends per look. */
export const SWEEP_BATCH = 100;

/** The topic on which a conversation's deltas travel (never a conversation id or `user:` topic). */
export const deltaTopic = (conversationId: string) => `delta:${conversationId}`;

/** One delta as subscribers receive it (SSE `event: message.delta`). */
export interface MessageDelta {
  type: 'message.delta';
  conversationId: string;
  messageId: string;
  /** Code-point offset in the streamed text where `text` starts. */
  offset: number;
  text: string;
}

export interface AppendInput {
  offset?: unknown;
  text?: unknown;
}

export interface AppendResult {
  messageId: string;
  /** Where the streamed text ends now (code points): the offset of the next append. */
  offset: number;
  /** Code points this append added (0 for a retry of text already there). */
  appended: number;
}

export interface FinishInput {
  status?: unknown;
  statusReason?: unknown;
  /** The whole final content, replacing what was streamed (to correct drift). */
  content?: unknown;
}

/** Code points in a well-formed string. */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      n--;
      i++;
    }
  }
  return n;
}

/** The UTF-16 index of code point `cp` of `s` (cp ≤ its code-point length `total`), scanning from the nearer end. */
function unitIndex(s: string, cp: number, total: number): number {
  if (cp <= total - cp) {
    let i = 0;
    for (let k = 0; k < cp; k++) {
      const c = s.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    return i;
  }
  let i = s.length;
  for (let k = total; k > cp; k--) {
    const c = s.charCodeAt(i - 1);
    i -= c >= 0xdc00 && c <= 0xdfff ? 2 : 1;
  }
  return i;
}

/** Bytes a piece of text adds to the message's JSON (escapes included). */
const jsonTextBytes = (s: string) => Buffer.byteLength(JSON.stringify(s)) - 2;

/** UTF-16 units per broadcast delta: even escaped twice (\u0001 → \\u0001) it stays below BROADCAST_MAX_BYTES. */
const DELTA_UNITS = Math.floor((BROADCAST_MAX_BYTES - 400) / 7);

/** A stream this instance takes appends for. */
interface Live {
  conversationId: string;
  messageId: string;
  authorId: string;
  metadata: Message['metadata'];
  /** The parts before the streamed text part, as stored. */
  head: ContentPart[];
  /** The streamed text part without its text (keeps its `openai` extras). */
  part: Omit<TextPart, 'text'>;
  text: string;
  /** Code points of `text`. */
  length: number;
  /** What the message takes as JSON besides the streamed text (MESSAGE_MAX_BYTES). */
  baseBytes: number;
  textBytes: number;
  /** The version this instance last read or wrote. */
  version: number;
  /** How far the database holds the text (code points and UTF-16 units). */
  stored: number;
  storedUnits: number;
  unflushedBytes: number;
  lastAppendAt: number;
  lastWriteAt: number;
  /** When the caller's participation was last confirmed. */
  checkedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Appends and the finish of one stream run one after another. */
  queue: Promise<unknown>;
  /** The write in flight (at most one per stream); appends go on while it runs. */
  writing: Promise<void> | undefined;
  /** A finish has begun: no write starts any more. */
  closing: boolean;
  /** A membership re-check is in flight. */
  checking: boolean;
  /** The re-check found the author no longer takes part: the answer to their next append. */
  revoked: Error | undefined;
  /** Set once a write found another version: the stream is forgotten and reloaded. */
  lost: boolean;
}

/**
 * How often an open stream re-checks that its author still takes part in the conversation. The
 * check runs beside the appends, not before one: an author who left is refused from the first
 * append after the check saw it, so at most about RECHECK_MS (and a query) later.
 */
const RECHECK_MS = 1000;

const contentOf = (s: Live): ContentPart[] => [...s.head, { ...s.part, text: s.text } as TextPart];

export class StreamService {
  private readonly live = new Map<string, Live>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly store: Store,
    private readonly notifier: Notifier | undefined,
    private readonly options: StreamOptions = DEFAULT_STREAM_OPTIONS,
    private readonly log?: StoreLogger,
  ) {}

  /**
   * Forgets the stream of a message that ended elsewhere (a delete): its next append reads the
   * database. On other instances the next write finds the changed version and does the same.
   */
  drop(conversationId: string, messageId: string): void {
    const s = this.live.get(`${conversationId}/${messageId}`);
    if (s) {
      s.lost = true;
      this.forget(s);
    }
  }

  /** Streams held in memory now (metrics, tests). */
  get active(): number {
    return this.live.size;
  }

  /**
   * Appends `text` at `offset` to the caller's in_progress message. Only its author appends;
   * other participants get 403 (as for edits), everyone else 404.
   */
  async append(actorId: string, conversationId: string, messageId: string, input: AppendInput): Promise<AppendResult> {
    const { offset, text } = checkAppend(input);
    checkUuid(messageId, 'messageId');
    const key = `${conversationId}/${messageId}`;
    let stream = this.live.get(key);
    // Someone else's stream: the same answer as for an edit (404 or 403), and the stream stays.
    if (stream && stream.authorId !== actorId) await this.readAuthored(actorId, conversationId, messageId);
    if (stream?.lost) throw await this.lostError(stream);
    stream ??= await this.load(actorId, conversationId, messageId);
    const s = stream;
    return this.serial(s, async () => {
      if (s.lost) throw await this.lostError(s);
      if (s.revoked) {
        // What was accepted before the check saw it is kept: written, then the stream let go.
        await s.writing?.catch(() => undefined);
        if (s.unflushedBytes > 0) await this.write(s).catch(() => undefined);
        this.forget(s);
        throw s.revoked;
      }
      this.recheck(s);
      const result = this.apply(s, offset, text);
      s.lastAppendAt = Date.now();
      // The write runs beside the appends that follow: none waits for the database.
      if (s.unflushedBytes >= this.options.flushBytes) this.writeInBackground(s);
      else this.schedule(s);
      return result;
    });
  }

  /**
   * Ends the caller's in_progress message as `completed` or `incomplete` (with an optional
   * reason), with `content` (the whole of it) replacing the streamed content when given. A
   * retried finish of a message already in that status returns it unchanged.
   */
  async finish(actorId: string, conversationId: string, messageId: string, input: FinishInput): Promise<Message> {
    const status = input.status;
    if (status !== 'completed' && status !== 'incomplete')
      throw ValidationError.field('status', 'must be completed or incomplete');
    const statusReason = checkStatusFields(status, input.statusReason);
    const content = input.content === undefined ? undefined : checkContent(input.content);
    checkUuid(messageId, 'messageId');
    await requireParticipant(this.store, conversationId, actorId);
    const key = `${conversationId}/${messageId}`;
    const s = this.live.get(key);
    const run = async (): Promise<Message> => {
      if (s) {
        s.closing = true;
        clearTimeout(s.timer);
        s.timer = undefined;
        await s.writing?.catch(() => undefined);
      }
      const local = s && !s.lost && s.authorId === actorId ? s : undefined;
      let version: number;
      let base: ContentPart[];
      let metadata: Message['metadata'];
      if (local) {
        version = local.version;
        base = contentOf(local);
        metadata = local.metadata;
      } else {
        const stored = await this.readAuthored(actorId, conversationId, messageId);
        if (stored.status !== 'in_progress') return this.alreadyEnded(stored, status, statusReason);
        version = stored.version;
        base = stored.content;
        metadata = stored.metadata;
      }
      const final = content ?? base;
      if (content) checkMessageSize(content, metadata, this.options.messageMaxBytes);
      const at = new Date();
      const audit = auditEntry(actorId, 'update', 'message', messageId, at, {
        status,
        statusReason,
        ...(content ? { content } : {}),
      });
      try {
        const message = await this.store.streams.finish({
          conversationId,
          messageId,
          expectedVersion: version,
          status,
          statusReason,
          content: final,
          audit,
        });
        if (s) this.forget(s);
        return message;
      } catch (error) {
        if (s) this.forget(s);
        // This instance had lost its place: finish what the database holds instead.
        if (local && error instanceof VersionConflictError)
          return this.finish(actorId, conversationId, messageId, input);
        if (error instanceof StreamError && error.code === 'message_not_in_progress')
          return this.alreadyEnded(await this.store.messages.get(conversationId, messageId), status, statusReason);
        throw error;
      }
    };
    return s ? this.serial(s, run) : run();
  }

  /**
   * Ends every in_progress message idle longer than `idleTimeoutMs` as incomplete/`interrupted`
   * (each with its message.updated event), at most SWEEP_BATCH per call; returns how many it
   * ended. Safe on every instance at once: each finish is conditional on the version the sweep
   * read, so a message ends once. Streams of this instance idle as long are forgotten first.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    const now = Date.now();
    for (const s of [...this.live.values()])
      if (now - s.lastAppendAt > this.options.idleTimeoutMs) await this.serial(s, async () => this.forget(s));
    const stale = await this.store.streams.stale(new Date(now - this.options.idleTimeoutMs), SWEEP_BATCH);
    let ended = 0;
    for (const m of stale) {
      // A stream this instance holds was touched in memory since: its next write moves the time.
      const held = this.live.get(`${m.conversationId}/${m.messageId}`);
      if (held && !held.lost && now - held.lastAppendAt <= this.options.idleTimeoutMs) continue;
      const at = new Date();
      const audit = auditEntry(m.authorId, 'update', 'message', m.messageId, at, {
        status: 'incomplete',
        statusReason: 'interrupted',
      });
      try {
        await this.store.streams.finish({
          conversationId: m.conversationId,
          messageId: m.messageId,
          expectedVersion: m.version,
          status: 'incomplete',
          statusReason: 'interrupted',
          content: m.content,
          audit,
        });
        ended++;
      } catch (error) {
        // Another instance (or the author) got there first, or the stream moved on: not ours to end.
        if (error instanceof VersionConflictError || error instanceof StreamError || error instanceof NotFoundError)
          continue;
        throw error;
      }
    }
    return ended;
  }

  /** Starts the periodic sweep (the app does, on ready). */
  start(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      this.sweep().catch((error: unknown) => this.log?.warn({ err: error }, 'stream sweep failed; it runs again'));
    }, this.options.sweepIntervalMs);
    this.sweeper.unref();
  }

  /** Stops the sweep and writes what every held stream has not written yet (graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweeping?.catch(() => undefined);
    await Promise.all(
      [...this.live.values()].map((s) =>
        this.serial(s, async () => {
          await s.writing?.catch(() => undefined);
          if (s.unflushedBytes > 0 && !s.lost) await this.write(s).catch(() => undefined);
          this.forget(s);
        }),
      ),
    );
  }

  // --- internals -------------------------------------------------------------------------------

  private async readAuthored(actorId: string, conversationId: string, messageId: string): Promise<Message> {
    await requireParticipant(this.store, conversationId, actorId);
    const message = await this.store.messages.get(conversationId, messageId);
    if (message.deletedAt !== null) throw new NotFoundError('message', messageId);
    if (message.authorId !== actorId) throw new ForbiddenError('only the author of a message may stream or finish it');
    return message;
  }

  private alreadyEnded(stored: Message, status: MessageStatus, statusReason: string | null): Message {
    if (stored.status === status && stored.statusReason === statusReason) return stored;
    throw new StreamError('message_not_in_progress', `message ${stored.id} is ${stored.status}`, {
      status: stored.status,
    });
  }

  private async load(actorId: string, conversationId: string, messageId: string): Promise<Live> {
    const key = `${conversationId}/${messageId}`;
    const m = await this.readAuthored(actorId, conversationId, messageId);
    const old = this.live.get(key);
    if (old?.lost) this.forget(old);
    if (m.status !== 'in_progress')
      throw new StreamError('message_not_in_progress', `message ${messageId} is ${m.status}; nothing appends to it`, {
        status: m.status,
      });
    const raced = this.live.get(key);
    if (raced && !raced.lost) return raced; // a concurrent append loaded it meanwhile
    if (this.live.size >= this.options.maxActive) throw new StreamCapacityError(this.options.maxActive);
    const last = m.content.at(-1);
    const streamed = last?.type === 'text' ? last : undefined;
    const head = streamed ? m.content.slice(0, -1) : m.content;
    const { text: _text, ...part } = streamed ?? ({ type: 'text', text: '' } satisfies TextPart);
    const text = streamed?.text ?? '';
    const length = codePointLength(text);
    const now = Date.now();
    const s: Live = {
      conversationId,
      messageId,
      authorId: m.authorId,
      metadata: m.metadata,
      head,
      part,
      text,
      length,
      baseBytes: messageBytes([...head, { ...part, text: '' } as TextPart], m.metadata),
      textBytes: jsonTextBytes(text),
      version: m.version,
      stored: length,
      storedUnits: text.length,
      unflushedBytes: 0,
      lastAppendAt: now,
      lastWriteAt: now,
      checkedAt: now,
      timer: undefined,
      queue: Promise.resolve(),
      writing: undefined,
      closing: false,
      checking: false,
      revoked: undefined,
      lost: false,
    };
    this.live.set(key, s);
    return s;
  }

  private apply(s: Live, offset: number, text: string): AppendResult {
    if (offset > s.length)
      throw new StreamError(
        'offset_gap',
        `the append starts at ${offset}, but the text ends at ${s.length}: send from ${s.length}`,
        { expectedOffset: s.length },
      );
    const n = codePointLength(text);
    let added = text;
    if (offset < s.length) {
      const overlap = Math.min(n, s.length - offset);
      const from = unitIndex(s.text, offset, s.length);
      const overlapUnits = unitIndex(text, overlap, n);
      if (s.text.slice(from, from + overlapUnits) !== text.slice(0, overlapUnits))
        throw new StreamError(
          'offset_conflict',
          `the append overlaps text already there (from ${offset}) with different text`,
          { offset, expectedOffset: s.length },
        );
      added = text.slice(overlapUnits);
    }
    if (added === '') return { messageId: s.messageId, offset: s.length, appended: 0 };
    if (s.text.length + added.length > LIMITS.textMax)
      throw ValidationError.field(
        'text',
        `the streamed text may be at most ${LIMITS.textMax} characters (UTF-16 units)`,
      );
    const bytes = jsonTextBytes(added);
    const total = s.baseBytes + s.textBytes + bytes;
    if (total > this.options.messageMaxBytes)
      throw ValidationError.field(
        'text',
        `the message would serialize to ${total} bytes of JSON; at most ${this.options.messageMaxBytes} (MESSAGE_MAX_BYTES)`,
      );
    const start = s.length;
    s.text += added;
    s.length += n - (start - offset);
    s.textBytes += bytes;
    s.unflushedBytes += Buffer.byteLength(added);
    this.deliver(s, start, added);
    return { messageId: s.messageId, offset: s.length, appended: s.length - start };
  }

  /** Broadcasts text at `offset`, in pieces small enough for every broker. */
  private deliver(s: Live, offset: number, text: string): void {
    if (!this.notifier || text === '') return;
    let at = offset;
    for (let i = 0; i < text.length; ) {
      let end = Math.min(text.length, i + DELTA_UNITS);
      const c = text.charCodeAt(end - 1);
      if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--; // never split a surrogate pair
      const piece = text.slice(i, end);
      const delta: MessageDelta = {
        type: 'message.delta',
        conversationId: s.conversationId,
        messageId: s.messageId,
        offset: at,
        text: piece,
      };
      this.notifier.broadcast(deltaTopic(s.conversationId), JSON.stringify(delta));
      at += codePointLength(piece);
      i = end;
    }
  }

  /** A write is due within the interval if text is unwritten, or to keep the stream's touch fresh. */
  private schedule(s: Live): void {
    if (s.timer || s.lost) return;
    const keepAlive = s.lastAppendAt - s.lastWriteAt > this.options.idleTimeoutMs / 4;
    if (s.unflushedBytes === 0 && !keepAlive) return;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      this.writeInBackground(s);
    }, this.options.flushIntervalMs);
    s.timer.unref();
  }

  private writeInBackground(s: Live): void {
    this.write(s).catch((error: unknown) =>
      this.log?.warn({ err: error, messageId: s.messageId }, 'writing a streamed message failed; retried'),
    );
  }

  /**
   * Writes the accumulated content; while a write is in flight, returns it (one at a time per
   * stream, so versions follow each other). When appends reached `flushBytes` during a write, the
   * next one starts as it ends.
   */
  private write(s: Live): Promise<void> {
    s.writing ??= this.writeOnce(s).then(
      (again) => {
        s.writing = undefined;
        if (again) this.writeInBackground(s);
      },
      (error: unknown) => {
        s.writing = undefined;
        throw error;
      },
    );
    return s.writing;
  }

  /** Starts a re-check of the author's membership when one is due (see RECHECK_MS). */
  private recheck(s: Live): void {
    if (s.checking || Date.now() - s.checkedAt <= RECHECK_MS) return;
    s.checking = true;
    requireParticipant(this.store, s.conversationId, s.authorId)
      .then(
        () => {
          s.checkedAt = Date.now();
        },
        (error: unknown) => {
          if (error instanceof NotFoundError || error instanceof ForbiddenError) s.revoked = error;
          // Anything else (the database away): the next append tries again.
        },
      )
      .finally(() => {
        s.checking = false;
      });
  }

  /** One write; says whether another is due at once (appends reached `flushBytes` meanwhile). */
  private async writeOnce(s: Live): Promise<boolean> {
    clearTimeout(s.timer);
    s.timer = undefined;
    if (s.lost || s.closing) return false;
    const length = s.length;
    const units = s.text.length;
    const bytes = s.unflushedBytes;
    const touchedAt = new Date();
    let stored: Message | null;
    try {
      stored = await this.store.streams.flush({
        conversationId: s.conversationId,
        messageId: s.messageId,
        expectedVersion: s.version,
        content: contentOf(s),
        touchedAt,
      });
    } catch (error) {
      this.schedule(s); // the database may be back by the next interval
      throw error;
    }
    if (!stored) {
      // Kept, marked, until the producer's next append, which it answers with where the stored
      // text ends (lostError); appends this instance took since its last write are not in it.
      s.lost = true;
      clearTimeout(s.timer);
      s.timer = undefined;
      this.log?.warn(
        { conversationId: s.conversationId, messageId: s.messageId },
        'a streamed message changed under this instance (another instance, a finish or a delete); its next append is refused with the stored offset',
      );
      return false;
    }
    const before = s.storedUnits;
    const previous = s.stored;
    s.version = stored.version;
    s.stored = length;
    s.storedUnits = units;
    s.unflushedBytes -= bytes;
    s.lastWriteAt = touchedAt.getTime();
    // From the previous write's end: a reader of the database before this write has no gap.
    // Text appended while the write ran went out with its append and goes again with the next write.
    this.deliver(s, previous, s.text.slice(before, units));
    if (s.closing) return false;
    if (s.unflushedBytes >= this.options.flushBytes) return true;
    this.schedule(s);
    return false;
  }

  /**
   * The answer to an append on a stream this instance lost (a write found another version): what
   * the database holds decides — the offset its text ends at, or that the message ended.
   */
  private async lostError(s: Live): Promise<Error> {
    this.forget(s);
    let m: Message;
    try {
      m = await this.store.messages.get(s.conversationId, s.messageId);
    } catch (error) {
      return error as Error;
    }
    if (m.deletedAt !== null) return new NotFoundError('message', s.messageId);
    if (m.status !== 'in_progress')
      return new StreamError('message_not_in_progress', `message ${s.messageId} is ${m.status}`, { status: m.status });
    const last = m.content.at(-1);
    const expectedOffset = last?.type === 'text' ? codePointLength(last.text) : 0;
    return new StreamError(
      'offset_gap',
      `the message changed under this instance (appends reached another one); its text ends at ${expectedOffset}: send from there`,
      { expectedOffset },
    );
  }

  private forget(s: Live): void {
    clearTimeout(s.timer);
    s.timer = undefined;
    const key = `${s.conversationId}/${s.messageId}`;
    if (this.live.get(key) === s) this.live.delete(key);
  }

  private serial<T>(s: Live, work: () => Promise<T>): Promise<T> {
    const run = s.queue.then(work, work);
    s.queue = run.catch(() => undefined);
    return run;
  }
}

function checkAppend(input: AppendInput): { offset: number; text: string } {
  const { offset, text } = input ?? {};
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > LIMITS.integerMax)
    throw ValidationError.field('offset', `must be an integer from 0 to ${LIMITS.integerMax}`);
  if (typeof text !== 'string') throw ValidationError.field('text', 'must be a string');
  const reason = unstorableReason(text);
  if (reason) throw ValidationError.field('text', reason);
  if (text.length > LIMITS.appendTextMax)
    throw ValidationError.field('text', `must be at most ${LIMITS.appendTextMax} characters`);
  return { offset, text };
}

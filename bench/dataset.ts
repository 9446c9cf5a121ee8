import { encodeCursor } from '../src/domain/cursor.js';
import { formatUuidv7 } from '../src/domain/ids.js';
import type { ContentPart, Conversation, Message, Metadata, Participant, User } from '../src/domain/models.js';

/**
 * The benchmark's dataset, computed rather than stored: every user, conversation and message is a
 * pure function of its index and the parameters, so the seeder, the L0 bodies, the L1 memory
 * server and the workload (which ids to ask for, the deep cursor) agree without reading the
 * database back.
 *
 * Layout: `conversations` regular conversations share `messages` messages round-robin (message g
 * belongs to conversation g % conversations), plus one hot conversation of `hot` messages. Each
 * conversation has an owner and one member; user 0 owns the hot one. Timestamps lie in January
 * 2025, so anything the benchmark itself writes is newer and can be told apart.
 */

export interface DatasetParams {
  /** Messages over the regular conversations. */
  messages: number;
  conversations: number;
  /** Messages in the hot conversation. */
  hot: number;
  users: number;
  /** The scale table's own records (see ScaleParams). */
  scale: ScaleParams;
}

/**
 * The scale table's records, apart from everything else: for each entry of `inboxes` a user in
 * that many conversations (no messages, so only the list's cost grows); for each entry of
 * `crowds`, CROWD_CONVERSATIONS conversations of that many participants (posted into
 * round-robin by their owner); for each entry of `sizes`, a conversation of PAGE + 1 messages
 * of that many bytes of text (its newest page is read; see textParts).
 */
export interface ScaleParams {
  inboxes: number[];
  crowds: number[];
  sizes: number[];
}

export const CROWD_CONVERSATIONS = 10;
/** Messages per size conversation: a full page and the one that tells hasMore. */
const SIZE_MESSAGES = 51;

/** Bump when the generator changes, so a stored dataset of the old shape is reseeded. */
export const GENERATOR_VERSION = 2;

const T0 = Date.UTC(2025, 0, 1);
const CONVERSATIONS_AT = T0 + 1_000;
const MESSAGES_AT = T0 + 3_600_000;
/** Everything seeded happened before this; later rows were written by a benchmark run. */
export const SEEDED_BEFORE = new Date(T0 + 30 * 86_400_000);

/** The user who creates conversations in the create-conversation operation (seeded, owns nothing). */
export const CREATOR_ID = 'bench-creator';

export function usersFor(conversations: number): number {
  return Math.min(100, Math.max(2, Math.floor(conversations / 10)));
}

// ---- deterministic randomness ----------------------------------------------------------------

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: a small, fast PRNG; good enough for filler text and id bits. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUIDv7 whose timestamp is `ms` and whose other bits come from `seed`. */
function uuidAt(ms: number, seed: number): string {
  const r = rng(seed);
  // Bytes 0–5 are the timestamp; the generator supplies the other ten, in the order it always has.
  return formatUuidv7(
    ms,
    Uint8Array.from({ length: 16 }, (_, i) => (i < 6 ? 0 : Math.floor(r() * 256))),
  );
}

const WORDS = (
  'the a to of and in that is for it on with as was at by an be this from or have not are but ' +
  'message reply model context token stream query result answer database index cursor page latency ' +
  'request server client connection schema migration conversation participant assistant function ' +
  'search weather report summary draft review deploy build test error retry timeout cache write read'
).split(' ');

/** ASCII filler of exactly `length` characters. */
function text(r: () => number, length: number): string {
  let out = '';
  let sentence = 0;
  while (out.length < length) {
    let w = WORDS[Math.floor(r() * WORDS.length)]!;
    if (sentence === 0) w = w[0]!.toUpperCase() + w.slice(1);
    sentence += 1;
    out += w;
    if (sentence > 6 && r() < 0.2) {
      out += '. ';
      sentence = 0;
    } else out += ' ';
  }
  return out.slice(0, length).trimEnd().padEnd(length, '.');
}

// ---- entities ---------------------------------------------------------------------------------

export const userId = (i: number) => `bench-u${String(i).padStart(4, '0')}`;

export function user(i: number): User {
  const at = new Date(T0);
  return {
    id: userId(i),
    handle: `bench_u${String(i).padStart(4, '0')}`,
    displayName: `Bench User ${i}`,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

export function creator(): User {
  const at = new Date(T0);
  return {
    id: CREATOR_ID,
    handle: 'bench_creator',
    displayName: 'Bench Creator',
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

/** A user of the scale records only (their ids never meet the regular users'). */
function scaleUser(id: string): User {
  const at = new Date(T0);
  return { id, handle: id.replaceAll('-', '_'), displayName: id, createdAt: at, updatedAt: at, version: 1 };
}

export const inboxUserId = (n: number) => `bench-inbox-${n}`;
export const crowdUserId = (i: number) => `bench-crowd-${String(i).padStart(4, '0')}`;
export const SIZES_OWNER = 'bench-sizes';

/** Every user of the dataset: the regular ones, the creator, then the scale records' users. */
export function allUsers(p: DatasetParams): User[] {
  const crowd = Math.max(0, ...p.scale.crowds);
  return [
    ...Array.from({ length: p.users }, (_, i) => user(i)),
    creator(),
    ...p.scale.inboxes.map((n) => scaleUser(inboxUserId(n))),
    ...Array.from({ length: crowd }, (_, i) => scaleUser(crowdUserId(i))),
    ...(p.scale.sizes.length > 0 ? [scaleUser(SIZES_OWNER)] : []),
  ];
}

/** Who takes part in conversation `k` (k = p.conversations is the hot one). */
export function membersOf(p: DatasetParams, k: number): { owner: string; member: string } {
  if (k === p.conversations) return { owner: userId(0), member: userId(1) };
  return { owner: userId(k % p.users), member: userId((k + 1) % p.users) };
}

const regularTime = (g: number) => MESSAGES_AT + g * 2;
const hotTime = (h: number) => MESSAGES_AT + h * 10 + 1;

/** Messages in regular conversation k. */
export function countOf(p: DatasetParams, k: number): number {
  return k < p.messages ? Math.floor((p.messages - 1 - k) / p.conversations) + 1 : 0;
}

export const conversationId = (p: DatasetParams, k: number) =>
  uuidAt(CONVERSATIONS_AT + k, mix(k === p.conversations ? 3 : 2, k));
export const hotId = (p: DatasetParams) => conversationId(p, p.conversations);

export function conversation(p: DatasetParams, k: number): Conversation {
  const hot = k === p.conversations;
  const createdAt = new Date(CONVERSATIONS_AT + k);
  const count = hot ? p.hot : countOf(p, k);
  const last = count === 0 ? null : new Date(hot ? hotTime(count - 1) : regularTime(k + (count - 1) * p.conversations));
  return {
    id: conversationId(p, k),
    title: hot ? 'The hot conversation' : `Bench conversation ${k}`,
    metadata: hot ? { project: 'bench', kind: 'hot' } : { project: 'bench', topic: WORDS[k % WORDS.length]! },
    createdBy: membersOf(p, k).owner,
    createdAt,
    updatedAt: createdAt,
    lastMessageAt: last,
    messageCount: count,
    version: 1,
  };
}

export function participants(p: DatasetParams, k: number): Participant[] {
  const { owner, member } = membersOf(p, k);
  const conversationId_ = conversationId(p, k);
  const joinedAt = new Date(CONVERSATIONS_AT + k);
  return [
    { conversationId: conversationId_, userId: owner, role: 'owner', joinedAt },
    { conversationId: conversationId_, userId: member, role: 'member', joinedAt },
  ];
}

/**
 * Message j of a conversation: users and an assistant taking turns, every tenth exchange a tool
 * call and its result; text parts of 100–500 bytes.
 */
function message(
  conversationId_: string,
  members: { owner: string; member: string },
  j: number,
  ms: number,
  seed: number,
): Message {
  const r = rng(seed);
  const phase = j % 10;
  let role: Message['role'];
  let content: ContentPart[];
  let metadata: Metadata = {};
  if (phase === 3) {
    role = 'assistant';
    content = [
      { type: 'text', text: text(r, 100 + Math.floor(r() * 200)) },
      {
        type: 'tool_call',
        callId: `call_${j}`,
        name: 'search',
        arguments: { query: text(r, 24), limit: 5, filters: { lang: 'en' } },
      },
    ];
    metadata = { model: 'bench-model-1', tokens: String(50 + Math.floor(r() * 900)) };
  } else if (phase === 4) {
    role = 'tool';
    content = [
      { type: 'tool_result', callId: `call_${j - 1}`, output: { results: [text(r, 60), text(r, 60)], total: 2 } },
    ];
    metadata = { tool: 'search' };
  } else if (j % 2 === 0) {
    role = 'user';
    content = [{ type: 'text', text: text(r, 100 + Math.floor(r() * 401)) }];
    if (phase === 0) metadata = { client: 'web' };
  } else {
    role = 'assistant';
    content = [{ type: 'text', text: text(r, 100 + Math.floor(r() * 401)) }];
    metadata = { model: 'bench-model-1', tokens: String(50 + Math.floor(r() * 900)) };
  }
  return {
    id: uuidAt(ms, seed),
    conversationId: conversationId_,
    authorId: role === 'user' ? members.owner : members.member,
    role,
    content,
    metadata,
    clientMessageId: role === 'user' && j % 4 === 0 ? `bench-${j}` : null,
    createdAt: new Date(ms),
    editedAt: null,
    deletedAt: null,
    version: 1,
    status: 'completed',
    statusReason: null,
  };
}

/** Regular message g (0 ≤ g < messages). */
export function regularMessage(p: DatasetParams, g: number, ids?: string[]): Message {
  const k = g % p.conversations;
  const id = ids?.[k] ?? conversationId(p, k);
  return message(id, membersOf(p, k), Math.floor(g / p.conversations), regularTime(g), mix(5, g));
}

/** Message h of the hot conversation, oldest first. */
export function hotMessage(p: DatasetParams, h: number, hot = hotId(p)): Message {
  return message(hot, membersOf(p, p.conversations), h, hotTime(h), mix(7, h));
}

/** Regular conversation ids by index, computed once (they are needed per message). */
export function conversationIds(p: DatasetParams): string[] {
  return Array.from({ length: p.conversations }, (_, k) => conversationId(p, k));
}

/**
 * Every message in batches, each conversation's messages in time order: the regular ones by g,
 * then the hot conversation's, then the size conversations'.
 */
export function* messageBatches(p: DatasetParams, size: number): Generator<Message[]> {
  const ids = conversationIds(p);
  let batch: Message[] = [];
  for (let g = 0; g < p.messages; g++) {
    batch.push(regularMessage(p, g, ids));
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  const hot = hotId(p);
  for (let h = 0; h < p.hot; h++) {
    batch.push(hotMessage(p, h, hot));
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
  // The size conversations' messages are large (up to 51 × 200 KB): a batch of their own each 10.
  const large = sizeMessages(p);
  for (let i = 0; i < large.length; i += 10) yield large.slice(i, i + 10);
}

export const totalMessages = (p: DatasetParams) => p.messages + p.hot + p.scale.sizes.length * SIZE_MESSAGES;

// ---- the scale table's records ------------------------------------------------------------------

/** After the regular and hot conversations' creation times, before SEEDED_BEFORE. */
const SCALE_AT = CONVERSATIONS_AT + 1_000_000;
const SIZES_AT = T0 + 20 * 86_400_000;

export interface ScaleConversation {
  conversation: Conversation;
  participants: Participant[];
}

/** Conversation `j` of the scale records, with its members (the first is the owner). */
function scaleConversation(j: number, title: string, members: string[], last: Date | null, count: number) {
  const createdAt = new Date(SCALE_AT + j);
  const id = uuidAt(createdAt.getTime(), mix(11, j));
  return {
    conversation: {
      id,
      title,
      metadata: { project: 'bench', kind: 'scale' },
      createdBy: members[0]!,
      createdAt,
      updatedAt: createdAt,
      lastMessageAt: last,
      messageCount: count,
      version: 1,
    },
    participants: members.map((userId, i) => ({
      conversationId: id,
      userId,
      role: i === 0 ? ('owner' as const) : ('member' as const),
      joinedAt: createdAt,
    })),
  };
}

const sizeTime = (s: number, i: number) => SIZES_AT + s * 1000 + i;

/** Characters per text part of a large message: the API takes at most LIMITS.textMax (64 Ki) per part. */
const PART_CHARS = 50_000;

/** `bytes` of ASCII text as text parts of at most PART_CHARS each (a 200 KB message is four parts). */
export function textParts(bytes: number, fill: (length: number) => string): ContentPart[] {
  const parts: ContentPart[] = [];
  for (let done = 0; done < bytes; done += PART_CHARS)
    parts.push({ type: 'text', text: fill(Math.min(PART_CHARS, bytes - done)) });
  return parts;
}

/** Every scale conversation, in a fixed order: the inboxes, the crowds, the size conversations. */
export function scaleConversations(p: DatasetParams): ScaleConversation[] {
  const out: ScaleConversation[] = [];
  let j = 0;
  for (const n of p.scale.inboxes)
    for (let i = 0; i < n; i++) out.push(scaleConversation(j++, `Inbox ${n} #${i}`, [inboxUserId(n)], null, 0));
  for (const n of p.scale.crowds) {
    const members = Array.from({ length: n }, (_, i) => crowdUserId(i));
    for (let i = 0; i < CROWD_CONVERSATIONS; i++)
      out.push(scaleConversation(j++, `Crowd ${n} #${i}`, members, null, 0));
  }
  p.scale.sizes.forEach((size, s) => {
    const last = new Date(sizeTime(s, SIZE_MESSAGES - 1));
    out.push(scaleConversation(j++, `Size ${size}`, [SIZES_OWNER], last, SIZE_MESSAGES));
  });
  return out;
}

/** The messages of the size conversations: each exactly `size` bytes of text (see textParts). */
export function sizeMessages(p: DatasetParams, ids = scaleConversations(p)): Message[] {
  const out: Message[] = [];
  const first = ids.length - p.scale.sizes.length;
  p.scale.sizes.forEach((size, s) => {
    const conversationId_ = ids[first + s]!.conversation.id;
    for (let i = 0; i < SIZE_MESSAGES; i++) {
      const ms = sizeTime(s, i);
      const seed = mix(17 + s, i);
      out.push({
        id: uuidAt(ms, seed),
        conversationId: conversationId_,
        authorId: SIZES_OWNER,
        role: 'user',
        content: textParts(size, (length) => text(rng(seed + length), length)),
        metadata: {},
        clientMessageId: null,
        createdAt: new Date(ms),
        editedAt: null,
        deletedAt: null,
        version: 1,
        status: 'completed',
        statusReason: null,
      });
    }
  });
  return out;
}

/** What the scale table's runs address. */
export interface ScalePlan {
  /** Per entry of `inboxes`: the user in that many conversations. */
  inboxUsers: Map<number, string>;
  /** Per entry of `crowds`: that size's conversations, each posted to by its owner. */
  crowdTargets: Map<number, Target[]>;
  /** Per entry of `sizes`: the size conversation and its owner. */
  sizeTargets: Map<number, Target>;
}

export function scalePlan(p: DatasetParams): ScalePlan {
  const all = scaleConversations(p);
  const inboxUsers = new Map(p.scale.inboxes.map((n) => [n, inboxUserId(n)]));
  const crowdTargets = new Map<number, Target[]>();
  let j = p.scale.inboxes.reduce((a, n) => a + n, 0);
  for (const n of p.scale.crowds) {
    crowdTargets.set(
      n,
      all.slice(j, j + CROWD_CONVERSATIONS).map((c) => ({ conversationId: c.conversation.id, userId: crowdUserId(0) })),
    );
    j += CROWD_CONVERSATIONS;
  }
  const sizeTargets = new Map(
    p.scale.sizes.map((size, s) => [size, { conversationId: all[j + s]!.conversation.id, userId: SIZES_OWNER }]),
  );
  return { inboxUsers, crowdTargets, sizeTargets };
}

// ---- what the workload asks for ----------------------------------------------------------------

export interface Target {
  conversationId: string;
  userId: string;
}

export interface Plan {
  hotId: string;
  hotOwner: string;
  /** Cursor continuing `deep` messages below the newest seeded message of the hot conversation. */
  deepCursor: string;
  /** Regular conversations that receive posts, round-robin. */
  postTargets: Target[];
  /** Messages to read one at a time, round-robin. */
  getTargets: (Target & { messageId: string })[];
  /** Users whose conversation lists are read, round-robin. */
  listUsers: string[];
  /**
   * The `limit` of those reads (PAGE when absent). The scale table's inbox points all read the
   * smallest inbox's size, so each answer holds the same number of conversations and only the
   * inbox behind it grows.
   */
  listLimit?: number;
}

const TARGETS = 1000;

export function plan(p: DatasetParams, deep: number): Plan {
  const hot = hotId(p);
  const at = hotMessage(p, p.hot - deep, hot);
  const postTargets: Target[] = [];
  for (let k = 0; k < Math.min(TARGETS, p.conversations); k++)
    postTargets.push({ conversationId: conversationId(p, k), userId: membersOf(p, k).owner });
  const getTargets: Plan['getTargets'] = [];
  const step = Math.max(1, Math.floor(p.messages / TARGETS));
  for (let i = 0; i < Math.min(TARGETS, p.messages); i++) {
    const g = (i * step + ((i * 7919) % step)) % p.messages;
    const m = regularMessage(p, g);
    getTargets.push({
      conversationId: m.conversationId,
      userId: membersOf(p, g % p.conversations).owner,
      messageId: m.id,
    });
  }
  return {
    hotId: hot,
    hotOwner: membersOf(p, p.conversations).owner,
    deepCursor: encodeCursor({ at: at.createdAt, id: at.id }),
    postTargets,
    getTargets,
    listUsers: Array.from({ length: p.users }, (_, i) => userId(i)),
  };
}

/** Conversations user i takes part in, as seeded, most recent activity first. */
export function conversationsOfUser(p: DatasetParams, i: number): Conversation[] {
  const id = userId(i);
  const out: Conversation[] = [];
  for (let k = 0; k <= p.conversations; k++) {
    const m = membersOf(p, k);
    if (m.owner === id || m.member === id) out.push(conversation(p, k));
  }
  const at = (c: Conversation) => (c.lastMessageAt ?? c.createdAt).getTime();
  return out.sort((a, b) => at(b) - at(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

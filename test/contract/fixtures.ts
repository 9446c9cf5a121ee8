import { uuidv7 } from '../../src/domain/ids.js';
import type { AuditEntry, ContentPart, Conversation, Message, Participant, User } from '../../src/domain/models.js';
import type { Store } from '../../src/repositories/ports.js';

/** Builders for contract tests: every value explicit, so round trips can be compared exactly. */

let seq = 0;
const unique = () => `${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export const at = (iso: string) => new Date(iso);

export function audit(
  actorId: string,
  entity: AuditEntry['entity'],
  entityId: string,
  action: AuditEntry['action'] = 'create',
  diff: AuditEntry['diff'] = {},
): AuditEntry {
  return { id: uuidv7(), actorId, action, entity, entityId, at: new Date(), diff };
}

export function newUser(overrides: Partial<User> = {}): User {
  const n = unique();
  const now = new Date();
  return {
    id: `user|${n}`,
    handle: `h_${n}`,
    displayName: `User ${n}`,
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...overrides,
  };
}

export async function createUser(store: Store, overrides: Partial<User> = {}): Promise<User> {
  const user = newUser(overrides);
  return store.users.create(user, audit(user.id, 'user', user.id));
}

export function newConversation(createdBy: string, overrides: Partial<Conversation> = {}): Conversation {
  const now = overrides.createdAt ?? new Date();
  return {
    id: uuidv7(),
    title: 'A conversation',
    metadata: {},
    createdBy,
    createdAt: now,
    updatedAt: now,
    lastMessageAt: null,
    messageCount: 0,
    version: 1,
    ...overrides,
  };
}

/** Creates a conversation owned by `owner` with `members` as members. */
export async function createConversation(
  store: Store,
  owner: User,
  members: User[] = [],
  overrides: Partial<Conversation> = {},
): Promise<Conversation> {
  const c = newConversation(owner.id, overrides);
  const participants: Participant[] = [
    { conversationId: c.id, userId: owner.id, role: 'owner', joinedAt: c.createdAt },
    ...members.map((m) => ({ conversationId: c.id, userId: m.id, role: 'member' as const, joinedAt: c.createdAt })),
  ];
  return store.conversations.create(c, participants, audit(owner.id, 'conversation', c.id));
}

export function newMessage(conversationId: string, authorId: string, overrides: Partial<Message> = {}): Message {
  const createdAt = overrides.createdAt ?? new Date();
  return {
    id: uuidv7(createdAt.getTime()),
    conversationId,
    authorId,
    role: 'user',
    content: [{ type: 'text', text: 'hello' }],
    metadata: {},
    clientMessageId: null,
    createdAt,
    editedAt: null,
    deletedAt: null,
    version: 1,
    status: 'completed',
    statusReason: null,
    ...overrides,
  };
}

export const text = (s: string): ContentPart[] => [{ type: 'text', text: s }];

/** Content that trips up JSON columns: key order, unicode, emoji, nesting, empties, numbers. */
export const AWKWARD_CONTENT: ContentPart[] = [
  {
    type: 'text',
    text: 'Grüße, 世界! 👋🏽 — "quotes" \\ back\\slash \n new line \t tab, RTL: שלום, zero-width:\u200b.',
  },
  { type: 'text', text: '' },
  {
    type: 'tool_call',
    callId: 'call_1',
    name: 'search',
    arguments: {
      zeta: 1,
      alpha: { nested: [1, 2.5, -3e-7, { deep: [[], {}] }], empty: {} },
      list: [],
      flag: false,
      none: null,
      big: 9007199254740991,
      emoji: '🚀',
    },
  },
  { type: 'tool_result', callId: 'call_1', output: [{ b: 'second key first', a: 'first' }, 'plain', 0, true] },
  { type: 'tool_result', callId: 'call_2', output: 'just a string' },
  { type: 'file', url: 'https://example.com/a%20b.png?x=1&y=ü', mimeType: 'image/png', name: 'a b.png' },
  { type: 'file', fileId: 'file-123', mimeType: 'application/pdf' },
  // What the OpenAI-compatible API keeps: extras on a part, and a part of a kind the domain lacks.
  {
    type: 'text',
    text: 'cited',
    openai: {
      part: { type: 'output_text', annotations: [{ type: 'url_citation', url: 'https://x.test/$a.b', end_index: 5 }] },
      item: { role: 'developer', phase: 'final_answer', $set: { 'a.b': null } },
    },
  },
  { type: 'opaque', openai: { item: { type: 'reasoning', summary: [], encrypted_content: null, 'x.y$': [[{}]] } } },
];

export const AWKWARD_METADATA = {
  zKey: 'last key first',
  'app.version': '1.2.3',
  emoji: '🎉✨',
  empty: '',
  unicode: 'naïve café 日本',
};

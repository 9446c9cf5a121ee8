import type { Store } from '../../src/repositories/ports.js';
import {
  at,
  audit,
  AWKWARD_CONTENT,
  AWKWARD_METADATA,
  createConversation,
  createUser,
  newMessage,
  text,
} from '../contract/fixtures.js';

/**
 * A store with awkward data: unicode and emoji, empty and nested JSON, soft-deleted and edited
 * messages, clientMessageIds, many conversations, removed participants.
 */
export async function seedAwkwardStore(
  store: Store,
  options: { conversations?: number; messagesPer?: number } = {},
): Promise<void> {
  const conversations = options.conversations ?? 12;
  const messagesPer = options.messagesPer ?? 6;
  const owner = await createUser(store, { id: 'Owner|1', displayName: 'Øwner 👑 Ω' });
  const member = await createUser(store, { id: 'member@example.com', displayName: 'Mëmber' });
  const leaver = await createUser(store, { id: 'leaver', displayName: 'Leaver' });
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  for (let i = 0; i < conversations; i++) {
    const c = await createConversation(store, i % 2 ? member : owner, [i % 2 ? owner : member, leaver], {
      title: i % 3 === 0 ? null : `Conversation ${i} — ✨`,
      metadata: i % 4 === 0 ? {} : AWKWARD_METADATA,
      createdAt: new Date(base + i * 60_000),
      updatedAt: new Date(base + i * 60_000),
    });
    for (let j = 0; j < messagesPer; j++) {
      const { message } = await store.messages.post(
        newMessage(c.id, j % 2 ? member.id : owner.id, {
          role: (['user', 'assistant', 'system', 'tool'] as const)[j % 4],
          content: j % 3 === 0 ? AWKWARD_CONTENT : text(`message ${j} in ${i} 🧵`),
          metadata: j % 2 ? { k: `v${j}` } : {},
          clientMessageId: j % 2 ? `client-${i}-${j}` : null,
          createdAt: new Date(base + i * 60_000 + j * 1000 + (j % 3)),
          // Streamed messages: one still in progress, one that ended early, in every conversation.
          ...(j === 3 ? { status: 'in_progress' as const } : {}),
          ...(j === 4 ? { status: 'incomplete' as const, statusReason: 'max_tokens' } : {}),
        }),
      );
      if (j === 1)
        await store.messages.softDelete({
          conversationId: c.id,
          messageId: message.id,
          expectedVersion: 1,
          deletedAt: at('2026-02-01T00:00:00.001Z'),
          audit: audit(member.id, 'message', message.id, 'delete'),
        });
      if (j === 2)
        await store.messages.update({
          conversationId: c.id,
          messageId: message.id,
          expectedVersion: 1,
          patch: { content: text('edited ✏️'), metadata: { edited: 'yes' } },
          editedAt: at('2026-02-02T00:00:00.002Z'),
          audit: audit(owner.id, 'message', message.id, 'update'),
        });
    }
    if (i % 5 === 0)
      await store.conversations.removeParticipant(
        c.id,
        leaver.id,
        audit(leaver.id, 'participant', `${c.id}/${leaver.id}`, 'delete'),
      );
  }
}

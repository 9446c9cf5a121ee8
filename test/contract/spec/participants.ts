import { expect } from 'vitest';
import { DuplicateError, NotFoundError } from '../../../src/domain/errors.js';
import type { StoreTest } from '../harness.js';
import { at, audit, createConversation, createUser, newConversation } from '../fixtures.js';

export function participantsSpec(test: StoreTest): void {
  test('participants: the creator is the owner, members follow, in join order', async (store) => {
    const owner = await createUser(store);
    const m1 = await createUser(store);
    const m2 = await createUser(store);
    const c = await createConversation(store, owner, [m1, m2], { createdAt: at('2026-03-03T03:03:03.333Z') });
    const list = await store.conversations.listParticipants(c.id);
    const sameTime = [m1.id, m2.id, owner.id].sort();
    expect(list.map((p) => p.userId)).toEqual(sameTime);
    expect(list.find((p) => p.userId === owner.id)).toEqual({
      conversationId: c.id,
      userId: owner.id,
      role: 'owner',
      joinedAt: at('2026-03-03T03:03:03.333Z'),
    });
    expect(
      list
        .filter((p) => p.role === 'member')
        .map((p) => p.userId)
        .sort(),
    ).toEqual([m1.id, m2.id].sort());
    expect(await store.conversations.findParticipant(c.id, m1.id)).toMatchObject({ role: 'member' });
  });

  test('participants: add, find, list, remove, with audit entries', async (store) => {
    const owner = await createUser(store);
    const guest = await createUser(store);
    const c = await createConversation(store, owner, [], { createdAt: at('2026-01-01T00:00:00.000Z') });
    expect(await store.conversations.findParticipant(c.id, guest.id)).toBeNull();
    const joined = {
      conversationId: c.id,
      userId: guest.id,
      role: 'member' as const,
      joinedAt: at('2026-01-02T00:00:00.001Z'),
    };
    expect(
      await store.conversations.addParticipant(joined, audit(owner.id, 'participant', `${c.id}/${guest.id}`)),
    ).toEqual(joined);
    expect(await store.conversations.findParticipant(c.id, guest.id)).toEqual(joined);
    expect((await store.conversations.listParticipants(c.id)).map((p) => p.userId)).toEqual([owner.id, guest.id]);
    expect((await store.conversations.listForUser({ userId: guest.id, limit: 5 })).items.map((x) => x.id)).toEqual([
      c.id,
    ]);

    await store.conversations.removeParticipant(
      c.id,
      guest.id,
      audit(owner.id, 'participant', `${c.id}/${guest.id}`, 'delete'),
    );
    expect(await store.conversations.findParticipant(c.id, guest.id)).toBeNull();
    expect((await store.conversations.listForUser({ userId: guest.id, limit: 5 })).items).toEqual([]);
    expect((await store.audit.listForEntity('participant', `${c.id}/${guest.id}`)).map((a) => a.action)).toEqual([
      'create',
      'delete',
    ]);
  });

  test('participants: duplicates conflict, missing ones are NotFound', async (store) => {
    const owner = await createUser(store);
    const c = await createConversation(store, owner);
    const again = { conversationId: c.id, userId: owner.id, role: 'member' as const, joinedAt: new Date() };
    await expect(
      store.conversations.addParticipant(again, audit(owner.id, 'participant', `${c.id}/${owner.id}`)),
    ).rejects.toBeInstanceOf(DuplicateError);
    expect((await store.conversations.findParticipant(c.id, owner.id))!.role).toBe('owner');
    await expect(
      store.conversations.removeParticipant(
        c.id,
        'stranger',
        audit(owner.id, 'participant', `${c.id}/stranger`, 'delete'),
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
    const ghost = newConversation(owner.id).id;
    await expect(store.conversations.listParticipants(ghost)).rejects.toMatchObject({
      constructor: NotFoundError,
      entity: 'conversation',
    });
    await expect(
      store.conversations.addParticipant(
        { conversationId: ghost, userId: owner.id, role: 'member', joinedAt: new Date() },
        audit(owner.id, 'participant', `${ghost}/${owner.id}`),
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.audit.listForEntity('participant', `${ghost}/${owner.id}`)).toEqual([]);
  });
}

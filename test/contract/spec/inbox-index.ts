import { expect } from 'vitest';
import { NotFoundError } from '../../../src/domain/errors.js';
import type { Conversation, Participant, User } from '../../../src/domain/models.js';
import type { Store } from '../../../src/repositories/ports.js';
import type { StoreTest } from '../harness.js';
import { audit, createConversation, createUser, newConversation, newMessage } from '../fixtures.js';

/**
 * The conversation listing as a per-user inbox index serves it on the SQL backends (issue 13):
 * small conversations copy their activity onto each member's row, conversations over 32 members
 * are merged in from their own activity. Whatever a backend does inside, the listing must be the
 * exact (activityAt, id) descending order, page after page, through every change of the members.
 */

/** Every conversation of the user, page by page (cursor = the last item's activity and id). */
async function listAll(store: Store, userId: string, pageSize: number): Promise<Conversation[]> {
  const out: Conversation[] = [];
  let after: { at: Date; id: string } | undefined;
  for (let guard = 0; guard < 500; guard++) {
    const page = await store.conversations.listForUser({ userId, limit: pageSize, ...(after ? { after } : {}) });
    out.push(...page.items);
    if (!page.hasMore) return out;
    const last = page.items.at(-1)!;
    after = { at: last.lastMessageAt ?? last.createdAt, id: last.id };
  }
  throw new Error('the listing did not end');
}

/** The order the port promises, from the activity the test itself tracked. */
function expectedOrder(activity: Map<string, number>): string[] {
  return [...activity.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? 1 : a > b ? -1 : 0)).map(([id]) => id);
}

async function usersOf(store: Store, n: number): Promise<User[]> {
  const out: User[] = [];
  for (let i = 0; i < n; i++) out.push(await createUser(store));
  return out;
}

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

export function inboxIndexSpec(test: StoreTest): void {
  test('inbox index: many small and large conversations list in exact activity order, page by page, as posts move them', async (store) => {
    const crowd = await usersOf(store, 40);
    const [me, ...others] = crowd as [User, ...User[]];
    const activity = new Map<string, number>();
    const sizes = new Map<string, number>();
    // 30 conversations of me: every fifth has 33 or 40 members (shared), the rest 1–5; some
    // are created at the same instant so ties are broken by id.
    for (let i = 0; i < 30; i++) {
      const size = i % 10 === 4 ? 40 : i % 5 === 4 ? 33 : 1 + (i % 5);
      const created = at(Math.floor(i / 2));
      const c = await createConversation(store, me, others.slice(0, size - 1), {
        createdAt: created,
        updatedAt: created,
      });
      activity.set(c.id, created.getTime());
      sizes.set(c.id, size);
    }
    const ids = [...activity.keys()];
    expect([...sizes.values()].filter((n) => n > 32)).toHaveLength(6);
    for (const size of [1, 7, 30])
      expect((await listAll(store, me.id, size)).map((c) => c.id)).toEqual(expectedOrder(activity));

    // Posts move conversations to the top, large ones included; one lands on an existing
    // activity time (a tie with another conversation); one is older than the activity it meets
    // and does not move anything.
    const posts: [number, number][] = [
      [4, 100],
      [0, 101],
      [9, 102],
      [14, 102],
      [3, 103],
      [19, 50],
      [29, 104],
    ];
    for (const [i, seconds] of posts) {
      const id = ids[i]!;
      await store.messages.post(newMessage(id, me.id, { createdAt: at(seconds) }));
      activity.set(id, Math.max(activity.get(id)!, at(seconds).getTime()));
    }
    await store.messages.post(newMessage(ids[3]!, me.id, { createdAt: at(1) }));
    const listed = await listAll(store, me.id, 4);
    expect(listed.map((c) => c.id)).toEqual(expectedOrder(activity));
    // The items are the conversations as stored, not index rows.
    for (const c of listed.slice(0, 8)) expect(c).toEqual(await store.conversations.get(c.id));

    // Another member sees the same order for the conversations they are in.
    const member = others[35]!;
    const theirs = new Map([...activity].filter(([id]) => sizes.get(id)! > 36));
    expect((await listAll(store, member.id, 2)).map((c) => c.id)).toEqual(expectedOrder(theirs));
    // A post by that member to a 40-member conversation moves it for everyone in it.
    const large = ids[24]!;
    await store.messages.post(newMessage(large, member.id, { createdAt: at(200) }));
    activity.set(large, at(200).getTime());
    theirs.set(large, at(200).getTime());
    expect((await listAll(store, member.id, 1)).map((c) => c.id)).toEqual(expectedOrder(theirs));
    expect((await listAll(store, me.id, 5)).map((c) => c.id)).toEqual(expectedOrder(activity));
  }, 120_000);

  test('inbox index: crossing 32 members both ways keeps every member listing exact', async (store) => {
    const crowd = await usersOf(store, 35);
    const [owner, ...rest] = crowd as [User, ...User[]];
    const members = rest.slice(0, 31); // with the owner: 32, the largest per-user size
    const late = rest[31]!;
    const later = rest[32]!;
    const big = await createConversation(store, owner, members, { createdAt: at(10), updatedAt: at(10) });
    const small = await createConversation(store, owner, [late], { createdAt: at(20), updatedAt: at(20) });
    const mine = (user: User) => listAll(store, user.id, 1).then((list) => list.map((c) => c.id));
    expect(await mine(owner)).toEqual([small.id, big.id]);

    // The 33rd and 34th members: the conversation leaves the per-user mode in the same change.
    await store.conversations.addParticipant(
      { conversationId: big.id, userId: late.id, role: 'member', joinedAt: at(30) },
      audit(owner.id, 'participant', big.id),
    );
    expect(await mine(late)).toEqual([small.id, big.id]);
    await store.messages.post(newMessage(big.id, late.id, { createdAt: at(40) }));
    expect(await mine(owner)).toEqual([big.id, small.id]);
    expect(await mine(late)).toEqual([big.id, small.id]);
    expect(await mine(members[0]!)).toEqual([big.id]);
    await store.conversations.addParticipant(
      { conversationId: big.id, userId: later.id, role: 'member', joinedAt: at(45) },
      audit(owner.id, 'participant', big.id),
    );
    expect(await mine(later)).toEqual([big.id]);

    // Back to 32 members: the rows are current again, and posts keep moving the conversation.
    await store.messages.post(newMessage(small.id, owner.id, { createdAt: at(50) }));
    for (const gone of [later, members[5]!])
      await store.conversations.removeParticipant(big.id, gone.id, audit(owner.id, 'participant', big.id));
    expect(await mine(later)).toEqual([]);
    expect(await mine(members[5]!)).toEqual([]);
    expect(await mine(owner)).toEqual([small.id, big.id]);
    await store.messages.post(newMessage(big.id, owner.id, { createdAt: at(60) }));
    expect(await mine(owner)).toEqual([big.id, small.id]);
    expect(await mine(late)).toEqual([big.id, small.id]);
    expect(await mine(members[0]!)).toEqual([big.id]);
    // A member added after that sees its current activity (at 60), not its creation time.
    await store.conversations.addParticipant(
      { conversationId: big.id, userId: members[5]!.id, role: 'member', joinedAt: at(65) },
      audit(owner.id, 'participant', big.id),
    );
    await store.messages.post(newMessage(small.id, owner.id, { createdAt: at(55) }));
    expect(await mine(members[5]!)).toEqual([big.id]);
    expect(await mine(owner)).toEqual([big.id, small.id]);
    const [first] = (await store.conversations.listForUser({ userId: members[5]!.id, limit: 1 })).items;
    expect(first?.lastMessageAt).toEqual(at(60));
  });

  test('inbox index: repeated clientMessageIds and older messages do not move anything', async (store) => {
    const [me, you] = (await usersOf(store, 2)) as [User, User];
    const large = await usersOf(store, 33);
    const a = await createConversation(store, me, [you], { createdAt: at(10), updatedAt: at(10) });
    const b = await createConversation(store, me, large, { createdAt: at(20), updatedAt: at(20) });
    const c = await createConversation(store, me, [], { createdAt: at(30), updatedAt: at(30) });
    await store.messages.post(newMessage(a.id, me.id, { createdAt: at(40), clientMessageId: 'k1' }));
    await store.messages.post(newMessage(b.id, me.id, { createdAt: at(41), clientMessageId: 'k1' }));
    const before = (await listAll(store, me.id, 2)).map((x) => x.id);
    expect(before).toEqual([b.id, a.id, c.id]);
    // Repeats with later times: the stored messages come back and nothing moves.
    const again = await store.messages.post(newMessage(a.id, me.id, { createdAt: at(90), clientMessageId: 'k1' }));
    expect(again.created).toBe(false);
    expect(again.message.createdAt).toEqual(at(40));
    // Not a member of b: refused like a missing conversation, and nothing moves either.
    await expect(store.messages.post(newMessage(b.id, you.id, { createdAt: at(91) }))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(
      (await store.messages.post(newMessage(b.id, me.id, { createdAt: at(92), clientMessageId: 'k1' }))).created,
    ).toBe(false);
    expect((await listAll(store, me.id, 2)).map((x) => x.id)).toEqual(before);
    expect((await listAll(store, you.id, 2)).map((x) => x.id)).toEqual([a.id]);
    expect((await store.conversations.get(a.id)).lastMessageAt).toEqual(at(40));
    expect((await store.conversations.get(b.id)).messageCount).toBe(1);
  });

  test('inbox index: a batch moves the conversation like a post, and a deleted conversation leaves every list', async (store) => {
    const [me, you] = (await usersOf(store, 2)) as [User, User];
    const a = await createConversation(store, me, [you], { createdAt: at(10), updatedAt: at(10) });
    const b = await createConversation(store, me, [you], { createdAt: at(20), updatedAt: at(20) });
    await store.messages.postMany(a.id, [
      newMessage(a.id, me.id, { createdAt: at(30) }),
      newMessage(a.id, me.id, { createdAt: at(30) }),
    ]);
    expect((await listAll(store, you.id, 1)).map((x) => x.id)).toEqual([a.id, b.id]);
    await store.conversations.delete(a.id, audit(me.id, 'conversation', a.id, 'delete'));
    expect((await listAll(store, you.id, 1)).map((x) => x.id)).toEqual([b.id]);
    expect((await listAll(store, me.id, 1)).map((x) => x.id)).toEqual([b.id]);
  });

  test('inbox index: imported conversations and participants list by their stored activity, also when replaced', async (store) => {
    const crowd = await usersOf(store, 36);
    const [me, ...others] = crowd as [User, ...User[]];
    const convs = [0, 1, 2, 3].map((i) =>
      newConversation(me.id, { createdAt: at(i), updatedAt: at(i), lastMessageAt: at(100 - i * 10), messageCount: 1 }),
    );
    await store.bulk.insertBatch('conversations', convs, 'fail');
    // The second is large (36 members), the others small.
    const rows: Participant[] = convs.flatMap((c, i) =>
      [me, ...(i === 1 ? others : others.slice(0, 1))].map((u, j) => ({
        conversationId: c.id,
        userId: u.id,
        role: j === 0 ? ('owner' as const) : ('member' as const),
        joinedAt: c.createdAt,
      })),
    );
    await store.bulk.insertBatch('participants', rows, 'fail');
    const ids = convs.map((c) => c.id);
    expect((await listAll(store, me.id, 3)).map((c) => c.id)).toEqual(ids);
    expect((await listAll(store, others[20]!.id, 3)).map((c) => c.id)).toEqual([ids[1]]);
    // Replaced records bring their own activity: the last one moves to the top, the large one below it.
    await store.bulk.insertBatch(
      'conversations',
      [
        { ...convs[3]!, lastMessageAt: at(200) },
        { ...convs[1]!, lastMessageAt: at(150) },
      ],
      'replace',
    );
    expect((await listAll(store, me.id, 2)).map((c) => c.id)).toEqual([ids[3], ids[1], ids[0], ids[2]]);
    expect((await listAll(store, others[0]!.id, 1)).map((c) => c.id)).toEqual([ids[3], ids[1], ids[0], ids[2]]);
  });
}

import { expect } from 'vitest';
import type { User } from '../../src/domain/models.js';
import { toDate } from '../../database/typeorm/row-mapper.js';
import type { StoreInitializer } from '../support/initializer.js';
import { rawRows } from '../support/initializers/typeorm.js';
import { describeBackend } from './harness.js';
import { audit, createConversation, createUser, newConversation, newMessage } from './fixtures.js';

/**
 * The SQL backends' inbox index beyond what the port shows (database/typeorm/inbox-index.ts): the
 * listing is right in either mode, so only the stored columns tell whether a conversation
 * switched modes when it should — copies kept current up to 32 members, NULL and untouched by
 * posts beyond, in the same change as the add or removal.
 */
export function describeInboxMode(init: StoreInitializer): void {
  describeBackend('typeorm inbox index', init, (test) => {
    test('member rows copy the activity up to 32 members, hold NULL beyond, and switch with the change', async (store) => {
      const crowd: User[] = [];
      for (let i = 0; i < 34; i++) crowd.push(await createUser(store));
      const [owner, ...rest] = crowd as [User, ...User[]];
      const c = await createConversation(store, owner, rest.slice(0, 31));
      const state = async () => {
        const [conv] = await rawRows(store, `SELECT member_count, activity_at FROM conversations WHERE id = '${c.id}'`);
        const rows = await rawRows(store, `SELECT activity_at FROM participants WHERE conversation_id = '${c.id}'`);
        const copies = rows.map((r) => (r.activity_at === null ? null : toDate(r.activity_at).getTime()));
        return { members: Number(conv?.member_count), activity: toDate(conv?.activity_at).getTime(), copies };
      };
      const post = async (ms: number) =>
        store.messages.post(newMessage(c.id, owner.id, { createdAt: new Date(c.createdAt.getTime() + ms) }));

      await post(1000);
      let s = await state();
      expect(s.members).toBe(32);
      expect(s.copies).toEqual(Array(32).fill(s.activity));

      const add = (user: User) =>
        store.conversations.addParticipant(
          { conversationId: c.id, userId: user.id, role: 'member', joinedAt: new Date() },
          audit(owner.id, 'participant', c.id),
        );
      await add(rest[31]!);
      await post(2000);
      s = await state();
      expect(s).toEqual({ members: 33, activity: c.createdAt.getTime() + 2000, copies: Array(33).fill(null) });

      await store.conversations.removeParticipant(c.id, rest[0]!.id, audit(owner.id, 'participant', c.id));
      s = await state();
      expect(s).toEqual({ members: 32, activity: c.createdAt.getTime() + 2000, copies: Array(32).fill(s.activity) });
      await post(3000);
      expect((await state()).copies).toEqual(Array(32).fill(c.createdAt.getTime() + 3000));
    });

    test('imports fill the member count and the copies, which exports do not carry', async (store) => {
      const me = await createUser(store);
      const you = await createUser(store);
      const c = newConversation(me.id, { lastMessageAt: new Date(Date.now() + 5000), messageCount: 1 });
      await store.bulk.insertBatch('conversations', [c], 'fail');
      await store.bulk.insertBatch(
        'participants',
        [me, you].map((u) => ({ conversationId: c.id, userId: u.id, role: 'member' as const, joinedAt: c.createdAt })),
        'fail',
      );
      const [conv] = await rawRows(store, `SELECT member_count FROM conversations WHERE id = '${c.id}'`);
      const rows = await rawRows(store, `SELECT activity_at FROM participants WHERE conversation_id = '${c.id}'`);
      expect(Number(conv?.member_count)).toBe(2);
      expect(rows.map((r) => toDate(r.activity_at).getTime())).toEqual([0, 0].map(() => c.lastMessageAt!.getTime()));
      expect(await store.bulk.scan('participants', null, 10)).toHaveLength(2);
      expect(Object.keys((await store.bulk.scan('participants', null, 1))[0]!).sort()).toEqual([
        'conversationId',
        'joinedAt',
        'role',
        'userId',
      ]);
    });
  });
}

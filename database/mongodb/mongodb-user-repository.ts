import { NotFoundError, VersionConflictError } from '../../src/domain/errors.js';
import type { AuditEntry, User } from '../../src/domain/models.js';
import type { UserRepository, UserUpdate } from '../../src/repositories/ports.js';
import type { AuditOutbox } from './audit-outbox.js';
import { fromUserDoc, intOf, toUserDoc, USER_FIELDS, type UserDoc } from './document-mapper.js';
import type { MongoContext } from './mongodb-context.js';

export class MongoUserRepository implements UserRepository {
  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
  ) {}

  create(user: User, audit: AuditEntry): Promise<User> {
    return this.ctx.guard('user', async () => {
      // The unique _id and handle indexes decide duplicates (DuplicateError with field id/handle).
      await this.ctx.users.insertOne(
        { ...toUserDoc(user), _outbox: [this.outbox.push(audit)._outbox] },
        this.ctx.opts(),
      );
      await this.outbox.deliverAfterWrite('users', user.id, audit);
      return fromUserDoc(toUserDoc(user));
    });
  }

  get(id: string): Promise<User> {
    return this.ctx.guard('user', async () => {
      const user = await this.find(id);
      if (!user) throw new NotFoundError('user', id);
      return user;
    });
  }

  find(id: string): Promise<User | null> {
    return this.ctx.guard('user', async () => {
      const doc = await this.ctx.users.findOne({ _id: id }, { projection: USER_FIELDS, ...this.ctx.opts() });
      return doc ? fromUserDoc(doc) : null;
    });
  }

  findByHandle(handle: string): Promise<User | null> {
    return this.ctx.guard('user', async () => {
      const doc = await this.ctx.users.findOne({ handle: handle }, { projection: USER_FIELDS, ...this.ctx.opts() });
      return doc ? fromUserDoc(doc) : null;
    });
  }

  findExisting(ids: readonly string[]): Promise<Set<string>> {
    return this.ctx.guard('user', async () => {
      const wanted = [...new Set(ids)];
      if (wanted.length === 0) return new Set<string>();
      const found = await this.ctx.users
        .find({ _id: { $in: wanted } }, { projection: { _id: 1 }, ...this.ctx.opts() })
        .toArray();
      return new Set(found.map((u) => u._id));
    });
  }

  update({ id, expectedVersion, patch, updatedAt, audit }: UserUpdate): Promise<User> {
    return this.ctx.guard('user', async () => {
      const set: Partial<UserDoc> = { updatedAt: updatedAt };
      if (patch.handle !== undefined) set.handle = patch.handle;
      if (patch.displayName !== undefined) set.displayName = patch.displayName;
      const doc = await this.ctx.users.findOneAndUpdate(
        { _id: id, ...(expectedVersion === undefined ? {} : { version: expectedVersion }) },
        { $set: set, $inc: { version: 1 }, $push: this.outbox.push(audit) },
        { returnDocument: 'after', projection: USER_FIELDS, ...this.ctx.opts() },
      );
      if (!doc) {
        const current = await this.ctx.users.findOne({ _id: id }, { projection: { version: 1 }, ...this.ctx.opts() });
        if (!current || expectedVersion === undefined) throw new NotFoundError('user', id);
        throw new VersionConflictError('user', id, expectedVersion, intOf(current.version));
      }
      await this.outbox.deliverAfterWrite('users', id, audit);
      return fromUserDoc(doc);
    });
  }
}

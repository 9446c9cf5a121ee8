import { NotFoundError, VersionConflictError } from '../../src/domain/errors.js';
import type { AuditEntry, User } from '../../src/domain/models.js';
import type { UserPatch, UserRepository } from '../../src/repositories/ports.js';
import type { AuditOutbox } from './audit-outbox.js';
import { fromUserDoc, toUserDoc, USER_FIELDS, type UserDoc } from './document-mapper.js';
import { instant, text, wholeNumber } from './filter-values.js';
import type { MongoContext } from './mongodb-context.js';

export class MongoUserRepository implements UserRepository {
  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
  ) {}

  create(user: User, audit: AuditEntry): Promise<User> {
    return this.ctx.guard('user', async () => {
      // The unique _id and handle indexes decide duplicates (DuplicateError with field id/handle).
      await this.ctx.users.insertOne({ ...toUserDoc(user), _outbox: [this.outbox.push(audit)._outbox] }, this.ctx.opts());
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
      const doc = await this.ctx.users.findOne({ _id: text(id, 'id') }, { projection: USER_FIELDS, ...this.ctx.opts() });
      return doc ? fromUserDoc(doc) : null;
    });
  }

  findByHandle(handle: string): Promise<User | null> {
    return this.ctx.guard('user', async () => {
      const doc = await this.ctx.users.findOne({ handle: text(handle, 'handle') }, { projection: USER_FIELDS, ...this.ctx.opts() });
      return doc ? fromUserDoc(doc) : null;
    });
  }

  update(id: string, expectedVersion: number, patch: UserPatch, updatedAt: Date, audit: AuditEntry): Promise<User> {
    return this.ctx.guard('user', async () => {
      const set: Partial<UserDoc> = { updatedAt: instant(updatedAt, 'updatedAt') };
      if (patch.handle !== undefined) set.handle = text(patch.handle, 'handle');
      if (patch.displayName !== undefined) set.displayName = text(patch.displayName, 'displayName');
      const doc = await this.ctx.users.findOneAndUpdate(
        { _id: text(id, 'id'), version: wholeNumber(expectedVersion, 'version') },
        { $set: set, $inc: { version: 1 }, $push: this.outbox.push(audit) },
        { returnDocument: 'after', projection: USER_FIELDS, ...this.ctx.opts() },
      );
      if (!doc) {
        const current = await this.ctx.users.findOne({ _id: id }, { projection: { version: 1 }, ...this.ctx.opts() });
        if (!current) throw new NotFoundError('user', id);
        throw new VersionConflictError('user', id, expectedVersion, current.version);
      }
      await this.outbox.deliverAfterWrite('users', id, audit);
      return fromUserDoc(doc);
    });
  }
}

import { randomBytes } from 'node:crypto';
import { DuplicateError, ValidationError } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { User } from '../domain/models.js';
import { checkDisplayName, checkHandle, checkUserId, storableClaim } from '../domain/validation.js';
import type { Store, UserPatch } from '../repositories/ports.js';
import { auditEntry } from './audit.js';
import { applyGuarded, type VersionGuard } from './guard.js';

/** Who the identity provider says the caller is (claims of a verified token, or the dev header). */
export interface Identity {
  /** The subject: the user id. */
  sub: string;
  /** `preferred_username`, the seed of an auto-provisioned handle. */
  preferredUsername?: string | undefined;
  /** `name`, the seed of an auto-provisioned display name. */
  name?: string | undefined;
}

export interface RegisterInput {
  handle: string;
  displayName?: string | undefined;
}

export interface UserUpdateInput {
  handle?: string | undefined;
  displayName?: string | undefined;
}

/** Users the process has seen stored, so authentication does not read the user on every request. */
const KNOWN_USERS_MAX = 10_000;

export class UserService {
  private readonly known = new Set<string>();

  constructor(private readonly store: Store) {}

  /**
   * The caller registers themselves under their own `sub`, choosing a handle. A user who already
   * exists (registered earlier, or provisioned on first sight) gets a conflict.
   */
  async register(identity: Identity, input: RegisterInput): Promise<User> {
    const id = checkUserId(identity.sub, 'sub');
    const handle = checkHandle(input.handle);
    const displayName = checkDisplayName(input.displayName ?? displayNameFrom(storableClaim(identity.name)) ?? handle);
    if (await this.store.users.find(id)) {
      throw new DuplicateError(
        'user',
        'id',
        `user ${id} already exists (registered earlier, or created on their first authenticated request); ` +
          'update the user to change the handle or display name',
      );
    }
    if (await this.store.users.findByHandle(handle))
      throw new DuplicateError('user', 'handle', `the handle ${handle} is taken`);
    const now = new Date();
    const user: User = { id, handle, displayName, createdAt: now, updatedAt: now, version: 1 };
    const created = await this.store.users.create(
      user,
      auditEntry(id, 'create', 'user', id, now, { handle, displayName, createdAt: now }),
    );
    this.remember(id);
    return created;
  }

  async get(id: string): Promise<User> {
    return this.store.users.get(checkUserId(id));
  }

  async update(actorId: string, input: UserUpdateInput, guard: VersionGuard = {}): Promise<User> {
    checkUserId(actorId, 'actorId');
    const patch: UserPatch = {};
    if (input.handle !== undefined) patch.handle = checkHandle(input.handle);
    if (input.displayName !== undefined) patch.displayName = checkDisplayName(input.displayName);
    if (Object.keys(patch).length === 0)
      throw ValidationError.field('body', 'must change at least one of handle, displayName');
    try {
      return await applyGuarded(
        'user',
        actorId,
        guard,
        async () => (await this.store.users.get(actorId)).version,
        (expected, current) => {
          const now = new Date();
          // Unguarded changes pin the version they read too, so a lost race is retried (see applyGuarded).
          const audit = auditEntry(actorId, 'update', 'user', actorId, now, { ...patch, updatedAt: now });
          const expectedVersion = expected ?? current;
          return this.store.users.update({ id: actorId, expectedVersion, patch, updatedAt: now, audit });
        },
      );
    } catch (error) {
      if (error instanceof DuplicateError && error.field === 'handle')
        throw new DuplicateError('user', 'handle', `the handle ${patch.handle} is taken`);
      throw error;
    }
  }

  /**
   * Returns the user behind an authenticated identity, creating it on first sight: the handle comes
   * from `preferred_username` (else the sub), lower-cased, other characters replaced by `_`,
   * truncated, with a short random suffix when taken; the display name from `name`, else the handle.
   * A claim that is not text every backend can store (a NUL, a lone surrogate) is ignored as if
   * absent, so it falls back the same way on every backend and never fails the request.
   * Safe under concurrent first requests of the same user.
   */
  async provision(identity: Identity): Promise<User> {
    const id = checkUserId(identity.sub, 'sub');
    const existing = await this.store.users.find(id);
    if (existing) {
      this.remember(id);
      return existing;
    }
    const base = handleFrom(storableClaim(identity.preferredUsername) ?? id);
    for (let attempt = 0; attempt < 8; attempt++) {
      const handle = attempt === 0 ? base : withSuffix(base, attempt < 4 ? 4 : 8);
      if (await this.store.users.findByHandle(handle)) continue;
      const now = new Date();
      const displayName = displayNameFrom(storableClaim(identity.name)) ?? handle;
      const user: User = { id, handle, displayName, createdAt: now, updatedAt: now, version: 1 };
      try {
        const created = await this.store.users.create(
          user,
          auditEntry(id, 'create', 'user', id, now, { handle, displayName, createdAt: now }),
        );
        this.remember(id);
        return created;
      } catch (error) {
        if (error instanceof DuplicateError && error.field === 'id') return this.store.users.get(id);
        if (error instanceof DuplicateError && error.field === 'handle') continue;
        throw error;
      }
    }
    const hint = 'register with a chosen handle instead';
    throw new DuplicateError('user', 'handle', `no free handle derived from ${base}; ${hint}`);
  }

  /** Like provision, but answers from memory for users already seen by this process. */
  async ensure(identity: Identity): Promise<void> {
    if (this.known.has(identity.sub)) return;
    await this.provision(identity);
  }

  /** Which of `ids` name existing users (for participant checks): one query for those not seen before. */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set(ids.filter((id) => this.known.has(id)));
    const unknown = ids.filter((id) => !found.has(id));
    if (unknown.length > 0) for (const id of await this.store.users.findExisting(unknown)) found.add(id);
    return found;
  }

  private remember(id: string): void {
    if (this.known.size >= KNOWN_USERS_MAX) this.known.clear();
    this.known.add(id);
  }
}

/** Code-point-safe truncation (never splits a surrogate pair). */
function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/** A valid handle derived from any text: lower-cased, invalid characters → `_`, truncated. */
export function handleFrom(seed: string): string {
  let handle = seed.toLowerCase().replace(/[^a-z0-9_.-]/g, '_');
  if (handle.length === 0) handle = 'user';
  if (/^[.-]/.test(handle)) handle = `_${handle.slice(1)}`;
  return handle.slice(0, LIMITS.handleMax);
}

function withSuffix(base: string, length: number): string {
  const suffix = randomBytes(length).toString('hex').slice(0, length);
  return `${base.slice(0, LIMITS.handleMax - length - 1)}_${suffix}`;
}

function displayNameFrom(name: string | undefined): string | undefined {
  if (typeof name !== 'string') return undefined;
  const trimmed = truncate(name.trim(), LIMITS.displayNameMax).trim();
  return trimmed === '' ? undefined : trimmed;
}

import { NotFoundError } from '../../src/domain/errors.js';
import type { AuditEntry, User } from '../../src/domain/models.js';
import type { UserRepository, UserUpdate } from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { insertSql, type Codecs } from './row-mapper.js';
import { writeAudit } from './typeorm-audit-repository.js';
import { versionedUpdate } from './versioned-update.js';

export class TypeormUserRepository implements UserRepository {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
  ) {}

  async create(user: User, audit: AuditEntry): Promise<User> {
    // A taken id or handle fails the insert on its unique key → DuplicateError('user', 'id' | 'handle').
    await this.db.tx(async (sql) => {
      await sql.exec(insertSql(this.codecs.users), this.codecs.users.toParams(user));
      await writeAudit(sql, this.codecs, audit);
    });
    return structuredClone(user);
  }

  async get(id: string): Promise<User> {
    const user = await this.find(id);
    if (!user) throw new NotFoundError('user', id);
    return user;
  }

  find(id: string): Promise<User | null> {
    return this.db.read((sql) => this.selectOne(sql, 'id', id));
  }

  findByHandle(handle: string): Promise<User | null> {
    return this.db.read((sql) => this.selectOne(sql, 'handle', handle));
  }

  async findExisting(ids: readonly string[]): Promise<Set<string>> {
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return new Set();
    const query = `SELECT id FROM users WHERE id IN (${wanted.map(() => '?').join(', ')})`;
    const rows = await this.db.read((sql) => sql.rows<{ id: string }>(query, wanted));
    return new Set(rows.map((r) => String(r.id)));
  }

  async update({ id, expectedVersion, patch, updatedAt, audit }: UserUpdate): Promise<User> {
    return this.db.tx(async (sql) => {
      await versionedUpdate(sql, {
        table: 'users',
        entity: 'user',
        where: ['id = ?', [id]],
        id,
        expectedVersion,
        set: [
          ...(patch.handle !== undefined ? [['handle', patch.handle] as const] : []),
          ...(patch.displayName !== undefined ? [['display_name', patch.displayName] as const] : []),
          ['updated_at', this.db.dialect.time(updatedAt)],
        ],
      });
      await writeAudit(sql, this.codecs, audit);
      const user = await this.selectOne(sql, 'id', id);
      if (!user) throw new NotFoundError('user', id);
      return user;
    });
  }

  private async selectOne(sql: Sql, column: 'id' | 'handle', value: string): Promise<User | null> {
    const u = this.codecs.users;
    const [row] = await sql.rows(`SELECT ${u.select()} FROM users WHERE ${column} = ?`, [value]);
    return row ? u.fromRow(row) : null;
  }
}

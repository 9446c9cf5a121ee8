import { NotFoundError, VersionConflictError, type EntityName } from '../../src/domain/errors.js';
import type { Sql } from './db.js';

export interface VersionedUpdate {
  table: string;
  entity: EntityName;
  /** The id named in errors. */
  id: string;
  /** Condition and parameters that identify the row. */
  where: readonly [string, readonly unknown[]];
  /** Absent: change whatever version is stored. */
  expectedVersion?: number | undefined;
  set: ReadonlyArray<readonly [column: string, value: unknown]>;
  /** A condition the row must meet to count as existing (e.g. `deleted_at IS NULL`). */
  live?: string;
}

/**
 * Optimistic concurrency as one conditional UPDATE (`… WHERE version = ?`) that also bumps the
 * version. Only when it changes no row do we look again, to tell NotFound from VersionConflict.
 */
export async function versionedUpdate(sql: Sql, u: VersionedUpdate): Promise<void> {
  const [whereSql, whereParams] = u.where;
  const conditions = [
    whereSql,
    ...(u.live ? [u.live] : []),
    ...(u.expectedVersion !== undefined ? ['version = ?'] : []),
  ];
  const changed = await sql.exec(
    `UPDATE ${u.table} SET ${[...u.set.map(([column]) => `${column} = ?`), 'version = version + 1'].join(', ')} WHERE ${conditions.join(' AND ')}`,
    [
      ...u.set.map(([, value]) => value),
      ...whereParams,
      ...(u.expectedVersion !== undefined ? [u.expectedVersion] : []),
    ],
  );
  if (changed > 0) return;
  const live = u.live ? `CASE WHEN ${u.live} THEN 1 ELSE 0 END` : '1';
  const [row] = await sql.rows(`SELECT version, ${live} AS live FROM ${u.table} WHERE ${whereSql}`, whereParams);
  if (!row || Number(row.live) !== 1 || u.expectedVersion === undefined) throw new NotFoundError(u.entity, u.id);
  throw new VersionConflictError(u.entity, u.id, u.expectedVersion, Number(row.version));
}

import type { AuditEntry } from '../../src/domain/models.js';
import type { AuditRepository } from '../../src/repositories/ports.js';
import type { Db, Sql } from './db.js';
import { insertSql, type Codecs } from './row-mapper.js';

/** Writes the audit entry of a mutation inside the mutation's own transaction. */
export async function writeAudit(sql: Sql, codecs: Codecs, entry: AuditEntry): Promise<void> {
  await sql.exec(insertSql(codecs.audit), codecs.audit.toParams(entry));
}

export class TypeormAuditRepository implements AuditRepository {
  constructor(
    private readonly db: Db,
    private readonly codecs: Codecs,
  ) {}

  async listForEntity(entity: AuditEntry['entity'], entityId: string): Promise<AuditEntry[]> {
    const a = this.codecs.audit;
    // Index (entity, entity_id, at, id): id orders entries of the same millisecond (uuidv7, so by creation).
    const rows = await this.db.read((sql) =>
      sql.rows(`SELECT ${a.select()} FROM audit_entries WHERE entity = ? AND entity_id = ? ORDER BY at, id`, [
        entity,
        entityId,
      ]),
    );
    return rows.map(a.fromRow);
  }
}

import type { AuditEntry } from '../../src/domain/models.js';
import type { AuditRepository } from '../../src/repositories/ports.js';
import type { AuditOutbox } from './audit-outbox.js';
import { fromAuditDoc } from './document-mapper.js';
import { text } from './filter-values.js';
import type { MongoContext } from './mongodb-context.js';

export class MongoAuditRepository implements AuditRepository {
  constructor(
    private readonly ctx: MongoContext,
    private readonly outbox: AuditOutbox,
  ) {}

  /** Oldest first by (at, id), from the index {entity, entityId, at}; entries still in an outbox are delivered first. */
  listForEntity(entity: AuditEntry['entity'], entityId: string): Promise<AuditEntry[]> {
    return this.ctx.guard('audit', async () => {
      const filter = { entity: text(entity, 'entity') as AuditEntry['entity'], entityId: text(entityId, 'entityId') };
      await this.outbox.deliverFor(filter.entity, filter.entityId);
      const docs = await this.ctx.audit.find(filter, { sort: { at: 1, _id: 1 }, ...this.ctx.opts() }).toArray();
      return docs.map(fromAuditDoc);
    });
  }
}

import { uuidv7 } from '../domain/ids.js';
import type { AuditAction, AuditEntity, AuditEntry, JsonValue } from '../domain/models.js';

/**
 * Audit entries are built here and handed to the repository mutation, which stores them
 * atomically with the change. `diff` holds the fields the change set, as JSON (dates as ISO
 * strings); deletions record only what identifies the removal, so erased content does not live on
 * in the audit trail.
 */

/** Converts a plain value to JSON: dates become ISO strings, undefined fields are dropped. */
export function toJson(value: unknown): JsonValue {
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return null;
}

export function auditEntry(
  actorId: string,
  action: AuditAction,
  entity: AuditEntity,
  entityId: string,
  at: Date,
  diff: Record<string, unknown> = {},
): AuditEntry {
  return {
    id: uuidv7(at.getTime()),
    actorId,
    action,
    entity,
    entityId,
    at,
    diff: toJson(diff) as { [key: string]: JsonValue },
  };
}

/** The entity id of a participant in audit entries. */
export const participantEntityId = (conversationId: string, userId: string) => `${conversationId}/${userId}`;

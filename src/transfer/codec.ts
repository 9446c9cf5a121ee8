import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import { isUserId, isUuid } from '../domain/ids.js';
import { auditJson, conversationJson, messageJson, participantJson, userJson } from '../domain/encoding.js';
import { MESSAGE_STATUSES, type AuditEntry, type Participant } from '../domain/models.js';
import {
  checkClientMessageId,
  checkContent,
  checkDisplayName,
  checkHandle,
  checkMessageRole,
  checkStatusFields,
  checkMetadata,
  checkTitle,
} from '../domain/validation.js';
import type { EntityKind, EntityRecords } from '../repositories/ports.js';

/**
 * Records in export files, copy and verify: the domain's JSON encoding (src/domain/encoding.ts),
 * whose fixed field order makes the same domain object encode to the same bytes on every
 * backend; JSON values inside (content, metadata, diffs) keep their own order.
 */

type Encoded = Record<string, unknown>;

const encoders: { [K in EntityKind]: (r: EntityRecords[K]) => Encoded } = {
  users: userJson,
  conversations: conversationJson,
  participants: participantJson,
  messages: messageJson,
  audit: auditJson,
};

export function encodeRecord<K extends EntityKind>(kind: K, record: EntityRecords[K]): Encoded {
  return (encoders[kind] as (r: EntityRecords[K]) => Encoded)(record);
}

/** One export line for a record (without the newline). */
export function recordLine<K extends EntityKind>(kind: K, record: EntityRecords[K]): string {
  return JSON.stringify({ kind, data: encodeRecord(kind, record) });
}

/** sha256 of a record's canonical encoding; the unit of every checksum. */
export function recordDigest<K extends EntityKind>(kind: K, record: EntityRecords[K]): Buffer {
  return createHash('sha256')
    .update(kind)
    .update('\n')
    .update(JSON.stringify(encodeRecord(kind, record)))
    .digest();
}

/** An order-independent checksum: the sum of record digests modulo 2^256. */
export class SetChecksum {
  private sum = 0n;
  private static readonly MOD = 1n << 256n;
  add(digest: Buffer): void {
    this.sum = (this.sum + BigInt(`0x${digest.toString('hex')}`)) % SetChecksum.MOD;
  }
  hex(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

// ---- decoding -----------------------------------------------------------------------------

class Reader {
  constructor(
    private readonly kind: EntityKind,
    private readonly obj: Record<string, unknown>,
    readonly fields: readonly string[],
  ) {
    const extra = Object.keys(obj).filter((k) => !fields.includes(k));
    if (extra.length > 0) throw ValidationError.field(`${kind}.${extra[0]}`, 'is not a field of this record');
  }
  private fail(field: string, message: string): never {
    throw ValidationError.field(`${this.kind}.${field}`, message);
  }
  raw(field: string): unknown {
    if (!(field in this.obj)) this.fail(field, 'is required');
    return this.obj[field];
  }
  string(field: string, check?: (v: string) => boolean, what = 'has an invalid format'): string {
    const v = this.raw(field);
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    if (check && !check(v)) this.fail(field, what);
    return v;
  }
  nullableString(field: string): string | null {
    const v = this.raw(field);
    if (v !== null && typeof v !== 'string') this.fail(field, 'must be a string or null');
    return v;
  }
  date(field: string): Date {
    const v = this.raw(field);
    if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v) || Number.isNaN(Date.parse(v)))
      this.fail(field, 'must be an ISO-8601 UTC timestamp with milliseconds');
    return new Date(v);
  }
  nullableDate(field: string): Date | null {
    return this.raw(field) === null ? null : this.date(field);
  }
  int(field: string, min: number): number {
    const v = this.raw(field);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      this.fail(field, `must be an integer of at least ${min}`);
    return v;
  }
  oneOf<T extends string>(field: string, values: readonly T[]): T {
    const v = this.raw(field);
    if (typeof v !== 'string' || !values.includes(v as T)) this.fail(field, `must be one of ${values.join(', ')}`);
    return v as T;
  }
  /** Runs a domain check, re-labelling its field with the record kind. */
  domain<T>(field: string, check: (v: unknown, f: string) => T): T {
    return check(this.raw(field), `${this.kind}.${field}`);
  }
}

const decoders: { [K in EntityKind]: (o: Record<string, unknown>) => EntityRecords[K] } = {
  users: (o) => {
    const r = new Reader('users', o, ['id', 'handle', 'displayName', 'createdAt', 'updatedAt', 'version']);
    return {
      id: r.string('id', isUserId),
      handle: r.domain('handle', checkHandle),
      displayName: r.domain('displayName', checkDisplayName),
      createdAt: r.date('createdAt'),
      updatedAt: r.date('updatedAt'),
      version: r.int('version', 1),
    };
  },
  conversations: (o) => {
    const r = new Reader('conversations', o, [
      'id',
      'title',
      'metadata',
      'createdBy',
      'createdAt',
      'updatedAt',
      'lastMessageAt',
      'messageCount',
      'version',
    ]);
    return {
      id: r.string('id', isUuid),
      title: r.domain('title', checkTitle),
      metadata: r.domain('metadata', checkMetadata),
      createdBy: r.string('createdBy', isUserId),
      createdAt: r.date('createdAt'),
      updatedAt: r.date('updatedAt'),
      lastMessageAt: r.nullableDate('lastMessageAt'),
      messageCount: r.int('messageCount', 0),
      version: r.int('version', 1),
    };
  },
  participants: (o) => {
    const r = new Reader('participants', o, ['conversationId', 'userId', 'role', 'joinedAt']);
    return {
      conversationId: r.string('conversationId', isUuid),
      userId: r.string('userId', isUserId),
      role: r.oneOf('role', ['owner', 'member'] as const),
      joinedAt: r.date('joinedAt'),
    };
  },
  messages: (o) => {
    const r = new Reader('messages', o, [
      'id',
      'conversationId',
      'authorId',
      'role',
      'content',
      'metadata',
      'clientMessageId',
      'createdAt',
      'editedAt',
      'deletedAt',
      'version',
      'status',
      'statusReason',
    ]);
    const deletedAt = r.nullableDate('deletedAt');
    // Exports written before messages had a status hold completed messages only.
    const status = 'status' in o ? r.oneOf('status', MESSAGE_STATUSES) : 'completed';
    const statusReason = 'statusReason' in o ? r.nullableString('statusReason') : null;
    // A tombstone has no content; anything else needs at least one valid part.
    const content =
      deletedAt !== null && Array.isArray(o.content) && o.content.length === 0 ? [] : r.domain('content', checkContent);
    const clientMessageId = r.nullableString('clientMessageId');
    return {
      id: r.string('id', isUuid),
      conversationId: r.string('conversationId', isUuid),
      authorId: r.string('authorId', isUserId),
      role: r.domain('role', checkMessageRole),
      content,
      metadata: r.domain('metadata', checkMetadata),
      clientMessageId:
        clientMessageId === null ? null : checkClientMessageId(clientMessageId, 'messages.clientMessageId'),
      createdAt: r.date('createdAt'),
      editedAt: r.nullableDate('editedAt'),
      deletedAt,
      version: r.int('version', 1),
      status,
      statusReason: checkStatusFields(status, statusReason, 'messages.statusReason'),
    };
  },
  audit: (o) => {
    const r = new Reader('audit', o, ['id', 'actorId', 'action', 'entity', 'entityId', 'at', 'diff']);
    const diff = r.raw('diff');
    if (typeof diff !== 'object' || diff === null || Array.isArray(diff))
      throw ValidationError.field('audit.diff', 'must be an object');
    return {
      id: r.string('id', isUuid),
      actorId: r.string('actorId', (v) => v.length > 0 && v.length <= 128),
      action: r.oneOf('action', ['create', 'update', 'delete'] as const),
      entity: r.oneOf('entity', ['user', 'conversation', 'participant', 'message'] as const),
      entityId: r.string('entityId', (v) => v.length > 0 && v.length <= 300),
      at: r.date('at'),
      diff: diff as AuditEntry['diff'],
    };
  },
};

/** Checks an encoded record against the domain's rules and returns the domain object. */
export function decodeRecord<K extends EntityKind>(kind: K, data: unknown): EntityRecords[K] {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw ValidationError.field(kind, 'record must be an object');
  return decoders[kind](data as Record<string, unknown>);
}

/** The key records of a kind are ordered and matched by (code-point order). */
export function recordKey<K extends EntityKind>(kind: K, record: EntityRecords[K]): string {
  if (kind === 'participants') {
    const p = record as Participant;
    return `${p.conversationId}\u0000${p.userId}`;
  }
  return (record as { id: string }).id;
}

import type { ClientSession, Collection, Db, MongoClient } from 'mongodb';
import type { EntityName } from '../../src/domain/errors.js';
import type { StoreLogger } from '../../src/repositories/ports.js';
import type { AuditDoc, ConversationDoc, MessageDoc, UserDoc } from './document-mapper.js';
import { mapMongoError } from './map-mongodb-error.js';
import type { EventDoc } from './mongodb-event-repository.js';
import type { RemovalDoc, TicketUseDoc } from './mongodb-inbox-repository.js';

/** Collection names; the migrations create them. */
export const COLLECTIONS = {
  users: 'users',
  conversations: 'conversations',
  messages: 'messages',
  audit: 'audit',
  events: 'events',
  removals: 'participant_removals',
  ticketUses: 'stream_ticket_uses',
  migrations: 'polystore_migrations',
  /** One document while a process migrates (see MongoMigrator). */
  migrationLock: 'polystore_migration_lock',
} as const;

/** Options of one statement: inside a transaction its session, else a server-side time limit. */
export type StatementOptions = { session: ClientSession } | { maxTimeMS: number };

/** What every repository of one store shares: the database, its collections and how to write atomically. */
export class MongoContext {
  readonly users: Collection<UserDoc>;
  readonly conversations: Collection<ConversationDoc>;
  readonly messages: Collection<MessageDoc>;
  readonly audit: Collection<AuditDoc>;
  readonly events: Collection<EventDoc>;
  readonly removals: Collection<RemovalDoc>;
  readonly ticketUses: Collection<TicketUseDoc>;

  constructor(
    readonly client: MongoClient,
    readonly db: Db,
    /** The deployment runs multi-document transactions (a replica set or sharded cluster; not a standalone server). */
    readonly transactions: boolean,
    private readonly statementTimeoutMs: number,
    readonly log: StoreLogger,
  ) {
    this.users = db.collection<UserDoc>(COLLECTIONS.users);
    this.conversations = db.collection<ConversationDoc>(COLLECTIONS.conversations);
    this.messages = db.collection<MessageDoc>(COLLECTIONS.messages);
    this.audit = db.collection<AuditDoc>(COLLECTIONS.audit);
    this.events = db.collection<EventDoc>(COLLECTIONS.events);
    this.removals = db.collection<RemovalDoc>(COLLECTIONS.removals);
    this.ticketUses = db.collection<TicketUseDoc>(COLLECTIONS.ticketUses);
  }

  /**
   * Options for a statement. Outside a transaction the server gives up after
   * DATABASE_STATEMENT_TIMEOUT_MS (maxTimeMS); inside one the transaction's own limits apply.
   */
  opts(session?: ClientSession): StatementOptions {
    return session ? { session } : { maxTimeMS: this.statementTimeoutMs };
  }

  /**
   * Runs `fn` as one transaction when the deployment has transactions (retried by the driver on
   * transient conflicts, so `fn` must be safe to run again), else runs it directly: the standalone
   * path, whose steps are ordered so that a crash between two of them is harmless (DESIGN.md).
   */
  async atomically<T>(fn: (session?: ClientSession) => Promise<T>): Promise<T> {
    if (!this.transactions) return fn(undefined);
    const session = this.client.startSession();
    try {
      return await session.withTransaction(() => fn(session), {
        readConcern: { level: 'snapshot' },
        writeConcern: { w: 'majority' },
      });
    } finally {
      await session.endSession();
    }
  }

  /** Runs one repository operation, translating driver errors into domain errors at this edge. */
  async guard<T>(entity: EntityName, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw mapMongoError(error, entity);
    }
  }
}

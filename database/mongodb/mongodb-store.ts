import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { ServerOptions } from '../../src/repositories/backend.js';
import type { Store, StoreLogger } from '../../src/repositories/ports.js';
import { MONGODB_MIGRATIONS } from '../../migrations/mongodb/index.js';
import { AuditOutbox } from './audit-outbox.js';
import { mapMongoError } from './map-mongodb-error.js';
import { MongoAuditRepository } from './mongodb-audit-repository.js';
import { MongoBulk } from './mongodb-bulk.js';
import { MongoContext } from './mongodb-context.js';
import { MongoConversationRepository } from './mongodb-conversation-repository.js';
import { MongoEventRepository } from './mongodb-event-repository.js';
import { MongoInboxRepository, MongoTicketUseRepository } from './mongodb-inbox-repository.js';
import { MongoMessageRepository } from './mongodb-message-repository.js';
import { MongoStreamRepository } from './mongodb-stream-repository.js';
import { MongoMigrator } from './mongodb-migrator.js';
import { MongoUserRepository } from './mongodb-user-repository.js';
import { Recovery } from './recovery.js';

/** The database used when DATABASE_URL names none (`mongodb://host:27017/` or `...?opts`). */
export const DEFAULT_DATABASE = 'polystore';

/** The database name in a MongoDB connection string's path, if any. */
export function databaseOf(url: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(url)?.[1];
  return path ? decodeURIComponent(path) : undefined;
}

/**
 * Driver options from the configuration: a short server selection timeout so an outage fails
 * fast (UnavailableError) instead of queueing requests, the pool size, and TLS.
 */
export function clientOptions(config: ServerOptions): MongoClientOptions {
  const options: MongoClientOptions = {
    appName: 'polystore',
    maxPoolSize: config.poolSize,
    serverSelectionTimeoutMS: config.connectTimeoutMs,
    connectTimeoutMS: config.connectTimeoutMs,
  };
  switch (config.tls) {
    case 'disable':
      // Leave it to the URL: mongodb+srv:// (Atlas and the like) turns TLS on by itself.
      break;
    case 'require':
      Object.assign(options, { tls: true, tlsAllowInvalidCertificates: true, tlsAllowInvalidHostnames: true });
      break;
    case 'verify':
      Object.assign(options, { tls: true, ...(config.tlsCaFile ? { tlsCAFile: config.tlsCaFile } : {}) });
      break;
  }
  return options;
}

/**
 * Opens the MongoDB adapter (the official driver, used natively). Connects and asks the server
 * what it is: a replica set or sharded cluster gets multi-document transactions, a standalone
 * server the ordered-steps path (DESIGN.md). Never migrates by itself.
 */
export async function openMongoStore(config: ServerOptions, log: StoreLogger): Promise<Store> {
  const client = new MongoClient(config.url, clientOptions(config));
  const database = databaseOf(config.url) ?? DEFAULT_DATABASE;
  let transactions: boolean;
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    transactions = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  } catch (error) {
    await client.close().catch(() => undefined);
    throw mapMongoError(error, 'conversation');
  }
  log.info(
    { database, transactions },
    transactions
      ? 'MongoDB connected (multi-document transactions)'
      : 'MongoDB connected (standalone: ordered writes with recovery)',
  );

  const ctx = new MongoContext(client, client.db(database), transactions, config.statementTimeoutMs, log);
  const outbox = new AuditOutbox(ctx);
  const recovery = new Recovery(ctx, outbox);
  return {
    kind: 'mongodb',
    users: new MongoUserRepository(ctx, outbox),
    conversations: new MongoConversationRepository(ctx, outbox, recovery),
    messages: new MongoMessageRepository(ctx, outbox, recovery),
    streams: new MongoStreamRepository(ctx, outbox),
    audit: new MongoAuditRepository(ctx, outbox),
    events: new MongoEventRepository(ctx),
    inbox: new MongoInboxRepository(ctx),
    ticketUses: new MongoTicketUseRepository(ctx),
    bulk: new MongoBulk(ctx, recovery),
    migrator: new MongoMigrator(ctx, MONGODB_MIGRATIONS),
    async ping() {
      await ctx.guard('audit', () => ctx.db.command({ ping: 1 }));
    },
    async close() {
      await client.close();
    },
  };
}

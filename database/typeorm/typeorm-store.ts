import type { Store, StoreLogger } from '../../src/repositories/ports.js';
import type { TypeormConfig } from './config.js';
import { buildDataSource } from './data-source.js';
import { asUnavailable, Db } from './db.js';
import type { Dialect } from './dialects/dialect.js';
import { mysqlDialect } from './dialects/mysql.js';
import { postgresDialect } from './dialects/postgres.js';
import { sqliteDialect } from './dialects/sqlite.js';
import { buildCodecs, buildEventCodec } from './row-mapper.js';
import { TypeormAuditRepository } from './typeorm-audit-repository.js';
import { TypeormBulk } from './typeorm-bulk.js';
import { TypeormConversationRepository } from './typeorm-conversation-repository.js';
import { TypeormInboxRepository, TypeormTicketUseRepository } from './typeorm-inbox-repository.js';
import { TypeormEventRepository } from './typeorm-event-repository.js';
import { TypeormMessageRepository } from './typeorm-message-repository.js';
import { TypeormMigrator } from './typeorm-migrator.js';
import { TypeormStreamRepository } from './typeorm-stream-repository.js';
import { TypeormUserRepository } from './typeorm-user-repository.js';

/** The dialect serving a config (mysql and mariadb share one). */
export function dialectFor(config: TypeormConfig): Dialect {
  switch (config.type) {
    case 'sqlite':
      return sqliteDialect(config);
    case 'postgres':
      return postgresDialect(config);
    case 'mysql':
    case 'mariadb':
      return mysqlDialect(config.type, config);
  }
}

/**
 * Opens SQLite, PostgreSQL or MySQL/MariaDB through TypeORM. Does not migrate: callers decide
 * (ensureSchema in src/repositories/factory.ts).
 */
export async function openTypeormStore(config: TypeormConfig, log: StoreLogger): Promise<Store> {
  const dialect = dialectFor(config);
  const dataSource = await buildDataSource(dialect, log);
  try {
    await dataSource.initialize();
    await dialect.afterInitialize(dataSource);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    throw asUnavailable(dialect, error, `cannot connect to ${dialect.kind}`);
  }
  const db = new Db(dataSource, dialect);
  const codecs = buildCodecs(dialect);
  const events = buildEventCodec(dialect);
  return {
    kind: dialect.kind,
    users: new TypeormUserRepository(db, codecs),
    conversations: new TypeormConversationRepository(db, codecs, events),
    messages: new TypeormMessageRepository(db, codecs, events),
    streams: new TypeormStreamRepository(db, codecs, events),
    audit: new TypeormAuditRepository(db, codecs),
    events: new TypeormEventRepository(db, events),
    inbox: new TypeormInboxRepository(db, codecs),
    ticketUses: new TypeormTicketUseRepository(db),
    migrator: new TypeormMigrator(db, dialect.kind),
    bulk: new TypeormBulk(db, codecs),
    async ping() {
      try {
        await db.read((sql) => sql.rows('SELECT 1 AS ok'));
      } catch (error) {
        throw asUnavailable(dialect, error, `${dialect.kind} did not answer`);
      }
    },
    async close() {
      await db.close().catch(() => undefined);
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

import { collections } from './0001-collections.js';
import { indexes } from './0002-indexes.js';
import { events } from './0003-events.js';
import { inboxAndTickets } from './0004-inbox-and-tickets.js';
import { pendingPostsAndAuditOrder } from './0005-pending-posts-and-audit-order.js';
import { inboxSmallAndShared } from './0006-inbox-small-and-shared.js';
import { opaquePartsAndBatches } from './0007-opaque-parts-and-batches.js';
import { messageStatus } from './0008-message-status.js';
import type { MongoMigration } from './migration.js';

/**
 * The MongoDB migrations this build knows, oldest first. Listed by hand (no glob loading) so a
 * bundled or compiled build carries exactly these; a new migration is a new file plus a line here.
 */
export const MONGODB_MIGRATIONS: readonly MongoMigration[] = [
  collections,
  indexes,
  events,
  inboxAndTickets,
  pendingPostsAndAuditOrder,
  inboxSmallAndShared,
  opaquePartsAndBatches,
  messageStatus,
];

export type { MongoMigration } from './migration.js';

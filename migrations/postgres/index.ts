import type { MigrationInterface } from 'typeorm';
import { InitialSchema1763769600000 } from './0001-initial-schema.js';
import { ConversationEvents1765000000000 } from './0002-conversation-events.js';
import { InboxAndTickets1766000000000 } from './0003-inbox-and-tickets.js';
import { InboxIndex1767000000000 } from './0004-inbox-index.js';
import { MessageStatus1768000000000 } from './0005-message-status.js';
import { InboxSharedIndex1769000000000 } from './0006-inbox-shared-index.js';

/**
 * The postgres migrations this build knows, oldest first. Listed by hand (no glob loading) so a
 * bundled or compiled build carries exactly these; a new migration is a new file plus a line here.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<new () => MigrationInterface> = [
  InitialSchema1763769600000,
  ConversationEvents1765000000000,
  InboxAndTickets1766000000000,
  InboxIndex1767000000000,
  MessageStatus1768000000000,
  InboxSharedIndex1769000000000,
];

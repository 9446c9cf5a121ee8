import { NotFoundError, StreamError, VersionConflictError } from '../../src/domain/errors.js';
import { messageChanged } from '../../src/domain/events.js';
import type { Message } from '../../src/domain/models.js';
import type { StaleStream, StreamFinish, StreamFlush, StreamRepository } from '../../src/repositories/ports.js';
import type { MemoryData } from './memory-store.js';

const copy = <T>(value: T): T => structuredClone(value);

/**
 * Streamed messages in memory. The touched time lives beside the message, keyed by its id; a
 * message without one (just posted, or bulk-inserted) was last touched at `editedAt ?? createdAt`,
 * as the SQL and MongoDB adapters store it.
 */
export class MemoryStreams implements StreamRepository {
  private readonly touched = new Map<string, Date>();

  constructor(private readonly d: MemoryData) {}

  private live(conversationId: string, messageId: string): Message | undefined {
    const m = this.d.messageIds.get(messageId);
    return m && m.conversationId === conversationId && m.deletedAt === null ? m : undefined;
  }

  private touchedAt(m: Message): Date {
    return this.touched.get(m.id) ?? m.editedAt ?? m.createdAt;
  }

  async flush(change: StreamFlush): Promise<Message | null> {
    const m = this.live(change.conversationId, change.messageId);
    if (m?.status !== 'in_progress' || m.version !== change.expectedVersion) return null;
    m.content = copy(change.content);
    m.version += 1;
    this.touched.set(m.id, new Date(change.touchedAt));
    return copy(m);
  }

  async finish(change: StreamFinish): Promise<Message> {
    const { conversationId, messageId, expectedVersion, audit } = change;
    const m = this.live(conversationId, messageId);
    if (!m) throw new NotFoundError('message', messageId);
    if (expectedVersion !== undefined && m.version !== expectedVersion)
      throw new VersionConflictError('message', messageId, expectedVersion, m.version);
    if (m.status !== 'in_progress')
      throw new StreamError('message_not_in_progress', `message ${messageId} is ${m.status}`, { status: m.status });
    m.content = copy(change.content);
    m.status = change.status;
    m.statusReason = change.statusReason;
    m.version += 1;
    this.touched.delete(m.id);
    this.d.audit.push(copy(audit));
    this.d.appendEvent(messageChanged('message.updated', m, audit));
    return copy(m);
  }

  async stale(before: Date, limit: number): Promise<StaleStream[]> {
    const found: StaleStream[] = [];
    for (const id of this.d.inProgress) {
      const m = this.d.messageIds.get(id);
      if (m?.status !== 'in_progress' || m.deletedAt !== null) {
        this.d.inProgress.delete(id);
        continue;
      }
      const touchedAt = this.touchedAt(m);
      if (touchedAt < before)
        found.push({
          conversationId: m.conversationId,
          messageId: m.id,
          authorId: m.authorId,
          version: m.version,
          content: copy(m.content),
          touchedAt: new Date(touchedAt),
        });
    }
    found.sort((a, b) => a.touchedAt.getTime() - b.touchedAt.getTime() || (a.messageId < b.messageId ? -1 : 1));
    return found.slice(0, limit);
  }
}

import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../database/memory/memory-store.js';
import { UnauthorizedError } from '../../src/domain/errors.js';
import { TicketService } from '../../src/services/tickets.js';

const C1 = { conversationId: '0190a0a0-0000-7000-8000-000000000001' };
const C2 = { conversationId: '0190a0a0-0000-7000-8000-000000000002' };
const INBOX = { inbox: true } as const;
const SECRET = 'a-shared-secret-of-at-least-32-characters';

describe('stream tickets', () => {
  it('are valid once, for their stream, until they expire; any instance with the secret and the database checks them', async () => {
    let now = 1_000_000;
    const uses = openMemoryStore().ticketUses;
    const issuer = new TicketService(SECRET, 60_000, uses, () => now);
    const other = new TicketService(SECRET, 60_000, uses, () => now);
    const { ticket, expiresAt } = issuer.issue('alice', C1);
    expect(expiresAt.getTime()).toBe(now + 60_000);
    await expect(issuer.redeem(ticket, C2)).rejects.toThrow(/another stream/);
    await expect(issuer.redeem(ticket, INBOX)).rejects.toThrow(/another stream/);
    expect(await other.redeem(ticket, C1)).toEqual({ sub: 'alice', exp: now + 60_000 });
    // Used up on every instance that shares the database, the issuer included.
    await expect(other.redeem(ticket, C1)).rejects.toThrow(/already used/);
    await expect(issuer.redeem(ticket, C1)).rejects.toThrow(/already used/);
    const inbox = issuer.issue('alice', INBOX).ticket;
    await expect(issuer.redeem(inbox, C1)).rejects.toThrow(/another stream/);
    expect(await issuer.redeem(inbox, INBOX)).toEqual({ sub: 'alice', exp: now + 60_000 });
    const late = issuer.issue('alice', C1).ticket;
    now += 60_000;
    await expect(issuer.redeem(late, C1)).rejects.toThrow(UnauthorizedError);
    await expect(issuer.redeem(late, C1)).rejects.toThrow(/expired/);
    const stranger = new TicketService(undefined, 60_000, uses, () => now);
    await expect(stranger.redeem(issuer.issue('alice', C1).ticket, C1)).rejects.toThrow(/bad signature/);
    await expect(issuer.redeem('garbage', C1)).rejects.toThrow(/malformed/);
  });
});

import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../src/domain/errors.js';
import { TicketService } from '../../src/services/tickets.js';

const C1 = '0190a0a0-0000-7000-8000-000000000001';
const C2 = '0190a0a0-0000-7000-8000-000000000002';

describe('stream tickets', () => {
  it('are valid once, for their conversation, until they expire; any instance with the secret checks them', () => {
    let now = 1_000_000;
    const issuer = new TicketService('a-shared-secret-of-at-least-32-characters', 60_000, () => now);
    const other = new TicketService('a-shared-secret-of-at-least-32-characters', 60_000, () => now);
    const { ticket, expiresAt } = issuer.issue('alice', C1);
    expect(expiresAt.getTime()).toBe(now + 60_000);
    expect(() => issuer.redeem(ticket, C2)).toThrow(/another conversation/);
    expect(other.redeem(ticket, C1)).toEqual({ sub: 'alice', conversationId: C1, exp: now + 60_000 });
    expect(() => other.redeem(ticket, C1)).toThrow(/already used/);
    const late = issuer.issue('alice', C1).ticket;
    now += 60_000;
    expect(() => issuer.redeem(late, C1)).toThrow(UnauthorizedError);
    expect(() => issuer.redeem(late, C1)).toThrow(/expired/);
    const stranger = new TicketService(undefined, 60_000, () => now);
    expect(() => stranger.redeem(issuer.issue('alice', C1).ticket, C1)).toThrow(/bad signature/);
    expect(() => issuer.redeem('garbage', C1)).toThrow(/malformed/);
  });
});

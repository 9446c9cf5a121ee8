import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../domain/errors.js';

/**
 * Stream tickets: browsers' EventSource cannot send Authorization, so a client exchanges its
 * token for a short-lived ticket (POST /v1/stream-tickets) and opens the stream with `?ticket=`.
 * A ticket is an HMAC-signed token `<payload>.<signature>` naming the user, the conversation,
 * an expiry and a random nonce, so any instance holding the same STREAM_TICKET_SECRET can check
 * it. Single use is enforced by the process that redeems it (a nonce seen once is refused until
 * it expires); with several instances a ticket could be redeemed once per instance within its
 * lifetime — a shared nonce store is the next step.
 */

export interface TicketClaims {
  sub: string;
  conversationId: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

const b64 = (b: Buffer) => b.toString('base64url');
const SEEN_MAX = 100_000;

export class TicketService {
  private readonly key: Buffer;
  /** Redeemed nonces → their expiry. */
  private readonly seen = new Map<string, number>();

  constructor(
    secret: string | undefined,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  issue(sub: string, conversationId: string): { ticket: string; expiresAt: Date } {
    const exp = this.now() + this.ttlMs;
    const payload = b64(Buffer.from(JSON.stringify({ sub, cid: conversationId, exp, n: b64(randomBytes(16)) })));
    return { ticket: `${payload}.${this.sign(payload)}`, expiresAt: new Date(exp) };
  }

  /** Checks and uses up a ticket for `conversationId`; UnauthorizedError (401) otherwise. */
  redeem(ticket: string, conversationId: string): TicketClaims {
    const [payload, signature, extra] = ticket.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) throw invalid('malformed');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid('bad signature');
    let claims: { sub?: unknown; cid?: unknown; exp?: unknown; n?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid('malformed');
    }
    const { sub, cid, exp, n } = claims;
    if (typeof sub !== 'string' || typeof cid !== 'string' || typeof exp !== 'number' || typeof n !== 'string')
      throw invalid('malformed');
    const now = this.now();
    if (exp <= now) throw invalid('expired');
    if (cid !== conversationId) throw invalid('issued for another conversation');
    this.forgetExpired(now);
    if (this.seen.has(n)) throw invalid('already used');
    this.seen.set(n, exp);
    return { sub, conversationId: cid, exp };
  }

  private sign(payload: string): string {
    return b64(createHmac('sha256', this.key).update(payload).digest());
  }

  private forgetExpired(now: number): void {
    if (this.seen.size < SEEN_MAX / 2) {
      for (const [nonce, exp] of this.seen) if (exp <= now) this.seen.delete(nonce);
      return;
    }
    // Bounded memory under a flood: the oldest half goes (they expire soonest anyway).
    let drop = this.seen.size - SEEN_MAX / 2;
    for (const nonce of this.seen.keys()) {
      if (drop-- <= 0) break;
      this.seen.delete(nonce);
    }
  }
}

function invalid(reason: string): UnauthorizedError {
  return new UnauthorizedError(`the stream ticket is not accepted: ${reason}`, { invalidToken: true });
}

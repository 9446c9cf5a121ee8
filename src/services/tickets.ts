import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../domain/errors.js';
import type { TicketUseRepository } from '../repositories/ports.js';

/**
 * Stream tickets: browsers' EventSource cannot send Authorization, so a client exchanges its
 * token for a short-lived ticket (POST /v1/stream-tickets) and opens the stream with `?ticket=`.
 * A ticket is an HMAC-signed token `<payload>.<signature>` naming the user, the stream (one
 * conversation's events, or the caller's inbox), an expiry and a random nonce, so any instance
 * holding the same STREAM_TICKET_SECRET can check it. Single use holds across instances: the
 * nonce is claimed in the database (TicketUseRepository) when the ticket is redeemed.
 */

/** Which stream a ticket opens: one conversation's events, or the holder's inbox. */
export type TicketStream = { conversationId: string } | { inbox: true };

const streamKey = (stream: TicketStream) => ('inbox' in stream ? 'inbox' : `conversation:${stream.conversationId}`);

export interface TicketClaims {
  sub: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

const b64 = (b: Buffer) => b.toString('base64url');

export class TicketService {
  private readonly key: Buffer;

  constructor(
    secret: string | undefined,
    private readonly ttlMs: number,
    private readonly uses: TicketUseRepository,
    private readonly now: () => number = Date.now,
  ) {
    this.key = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  issue(sub: string, stream: TicketStream): { ticket: string; expiresAt: Date } {
    const exp = this.now() + this.ttlMs;
    const payload = b64(Buffer.from(JSON.stringify({ sub, s: streamKey(stream), exp, n: b64(randomBytes(16)) })));
    return { ticket: `${payload}.${this.sign(payload)}`, expiresAt: new Date(exp) };
  }

  /** Checks and uses up a ticket for `stream`; UnauthorizedError (401) otherwise. */
  async redeem(ticket: string, stream: TicketStream): Promise<TicketClaims> {
    const [payload, signature, extra] = ticket.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) throw invalid('malformed');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid('bad signature');
    let claims: { sub?: unknown; s?: unknown; exp?: unknown; n?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid('malformed');
    }
    const { sub, s, exp, n } = claims;
    if (typeof sub !== 'string' || typeof s !== 'string' || typeof exp !== 'number' || typeof n !== 'string')
      throw invalid('malformed');
    if (exp <= this.now()) throw invalid('expired');
    if (s !== streamKey(stream)) throw invalid('issued for another stream');
    if (!(await this.uses.claim(n, new Date(exp)))) throw invalid('already used');
    return { sub, exp };
  }

  private sign(payload: string): string {
    return b64(createHmac('sha256', this.key).update(payload).digest());
  }
}

function invalid(reason: string): UnauthorizedError {
  return new UnauthorizedError(`the stream ticket is not accepted: ${reason}`, { invalidToken: true });
}

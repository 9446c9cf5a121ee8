import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { ConfigError } from '../../config/load.js';
import type { AuthConfig, ClaimNames } from '../../config/schema.js';
import { UnauthorizedError, UnavailableError } from '../../domain/errors.js';
import { isUserId } from '../../domain/ids.js';
import type { Identity } from '../../services/users.js';
import { RemoteKeySet, type RemoteKeySetOptions } from './jwks.js';

/**
 * Bearer tokens. HS256 ones are verified by the API and minted by `polystore token` and the tests,
 * so all three agree on algorithm, secret, issuer, audience and claim names; tokens from an
 * identity provider are verified with its published keys (jwks.ts).
 */

const ALGORITHM = 'HS256';
const encoder = new TextEncoder();

export interface MintOptions {
  sub: string;
  name?: string | undefined;
  preferredUsername?: string | undefined;
  /** A jose time span (`1h`, `30m`, `7 days`) or seconds. Default `1h`. */
  expiresIn?: string | number | undefined;
}

/** Mints an HS256 token; the claim names follow `auth.claims` (AUTH_CLAIM_*) when given. */
export async function mintToken(
  auth: Pick<AuthConfig, 'jwtSecret' | 'issuer' | 'audience'> & { claims?: ClaimNames; maxTokenLifetimeS?: number },
  options: MintOptions,
): Promise<string> {
  if (!isUserId(options.sub)) throw new TypeError('sub may contain only letters, digits and ._:@|- (1–128 characters)');
  if (auth.jwtSecret === undefined) throw new TypeError('AUTH_JWT_SECRET is not set: there is no secret to sign with');
  const names = auth.claims ?? { userId: 'sub', handle: 'preferred_username', name: 'name' };
  const claims: Record<string, string> = {};
  if (names.userId !== 'sub') claims[names.userId] = options.sub;
  if (options.name !== undefined) claims[names.name] = options.name;
  if (options.preferredUsername !== undefined) claims[names.handle] = options.preferredUsername;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt();
  const expiresIn = options.expiresIn ?? '1h';
  jwt = jwt.setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn);

  if (auth.issuer !== undefined) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience !== undefined) jwt = jwt.setAudience(auth.audience);
  const token = await jwt.sign(encoder.encode(auth.jwtSecret));
  // Refuse to mint what the server would refuse to accept.
  const maxLifetime = auth.maxTokenLifetimeS ?? 0;
  const { exp, iat } = decodeJwt(token);
  if (maxLifetime > 0 && exp !== undefined && iat !== undefined && exp - iat > maxLifetime)
    throw new ConfigError([
      `a token valid for ${exp - iat} s is longer than AUTH_MAX_TOKEN_LIFETIME_S=${maxLifetime} allows; the server would refuse it`,
    ]);
  return token;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * True when `segment` is base64url exactly as RFC 7515 writes it: only the URL-safe alphabet, no
 * padding, no impossible length, and zero bits after the last byte. Decoders ignore such things,
 * so without this one token has many spellings (a `=` appended, a changed last character) that
 * all verify.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-2
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return false;
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** The compact JWS form: three canonical base64url segments. */
function isCompactJws(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every(isCanonicalBase64url);
}

/** How a token was refused: the reason goes to the 401 body and the WWW-Authenticate header. */
function refused(message: string): UnauthorizedError {
  return new UnauthorizedError(message, { scheme: 'Bearer', invalidToken: true });
}

/** Why jose refused a token, in words for the client. */
function reason(error: unknown, accepted: readonly string[]): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return `the token must be signed with ${accepted.join(', ')}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the token's ${error.claim} claim is missing or not accepted`;
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return "no signing key of the identity provider matches the token's kid and alg";
  if (error instanceof joseErrors.JOSENotSupported) return "the token's algorithm or key type is not supported";
  return 'the token is malformed';
}

export interface TokenVerifier {
  /** The identity a bearer token carries; UnauthorizedError (401) or UnavailableError (503) otherwise. */
  verify(token: string): Promise<Identity>;
}

export interface VerifierOptions {
  /** Where problems with the identity provider are logged. */
  log?: RemoteKeySetOptions['log'];
}

/**
 * Verifies bearer tokens by their `alg`: HS256 with AUTH_JWT_SECRET (the development secret on a
 * fresh clone), the asymmetric algorithms of AUTH_JWT_ALGORITHMS with the identity provider's
 * keys (AUTH_JWKS_URL / AUTH_OIDC_ISSUER). `none` is never accepted, and an HS token is never
 * checked against a provider's public key. Every token must carry `exp` and the user-id claim,
 * and the configured issuer and audience. One verifier per app: it holds the provider's key cache.
 * @see https://github.com/panva/jose/blob/main/docs/jwt/verify/functions/jwtVerify.md
 */
export function createVerifier(auth: AuthConfig, options: VerifierOptions = {}): TokenVerifier {
  const remote = auth.remote;
  const keys = remote === undefined ? undefined : new RemoteKeySet(remote, options.log ? { log: options.log } : {});
  const secret = auth.jwtSecret === undefined ? undefined : encoder.encode(auth.jwtSecret);
  const accepted = [...(secret ? [ALGORITHM] : []), ...(remote?.algorithms ?? [])];
  const claims = auth.claims;
  const base = {
    requiredClaims: ['exp', claims.userId],
    clockTolerance: auth.clockToleranceS,
    ...(auth.audience !== undefined ? { audience: auth.audience } : {}),
  };

  async function payloadOf(token: string): Promise<JWTPayload> {
    if (!isCompactJws(token))
      throw refused('the token is malformed: it must be three base64url parts (no padding) joined by dots');
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw refused('the token is malformed');
    }
    const alg = header.alg;
    if (typeof alg !== 'string') throw refused('the token is malformed');
    if (alg.toLowerCase() === 'none') throw refused('unsigned tokens (alg "none") are not accepted');
    try {
      if (alg.startsWith('HS') || keys === undefined || remote === undefined) {
        if (secret === undefined)
          throw refused(`${alg} tokens are not accepted here; use a token from the identity provider`);
        const issuer = auth.issuer;
        return (await jwtVerify(token, secret, { ...base, algorithms: [ALGORITHM], ...(issuer ? { issuer } : {}) }))
          .payload;
      }
      const issuer = remote.issuer;
      return (
        await jwtVerify(token, keys.getKey, { ...base, algorithms: remote.algorithms, ...(issuer ? { issuer } : {}) })
      ).payload;
    } catch (error) {
      if (error instanceof UnauthorizedError || error instanceof UnavailableError) throw error;
      throw refused(reason(error, accepted));
    }
  }

  /** What jose leaves to the caller: an `iat` in the future, and the longest lifetime. */
  function checkTimes(payload: JWTPayload): void {
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = payload;
    if (iat !== undefined && iat > now + auth.clockToleranceS) throw refused("the token's iat claim is in the future");
    const maxLifetime = auth.maxTokenLifetimeS;
    if (maxLifetime > 0 && exp !== undefined && exp - (iat ?? now) > maxLifetime)
      throw refused(`the token's lifetime (exp) is longer than this server accepts (${maxLifetime} s)`);
  }

  return {
    async verify(token) {
      const payload = await payloadOf(token);
      checkTimes(payload);
      const userId = payload[claims.userId];
      if (typeof userId !== 'string' || !isUserId(userId)) {
        throw refused(
          `the token subject (its ${claims.userId} claim) is not a valid user id (1–128 of letters, digits and ._:@|-)`,
        );
      }
      const handle = payload[claims.handle];
      const name = payload[claims.name];
      return {
        sub: userId,
        name: typeof name === 'string' ? name : undefined,
        preferredUsername: typeof handle === 'string' ? handle : undefined,
      };
    },
  };
}

/**
 * Verifies one token with a verifier made for the call (no key cache survives it): for scripts and
 * tests. The server keeps one verifier per app.
 */
export async function verifyToken(auth: AuthConfig, token: string): Promise<Identity> {
  return createVerifier(auth).verify(token);
}

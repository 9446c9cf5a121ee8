import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthConfig } from '../../config/schema.js';
import { UnauthorizedError } from '../../domain/errors.js';
import { isUserId } from '../../domain/ids.js';
import type { Identity } from '../../services/users.js';

/**
 * HS256 bearer tokens: verified by the API, minted by `polystore token` and the tests, so all three
 * agree on algorithm, secret, issuer and audience.
 * @see https://github.com/panva/jose/blob/main/docs/jwt/verify/functions/jwtVerify.md
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

export async function mintToken(
  auth: Pick<AuthConfig, 'jwtSecret' | 'issuer' | 'audience'>,
  options: MintOptions,
): Promise<string> {
  if (!isUserId(options.sub)) throw new TypeError('sub may contain only letters, digits and ._:@|- (1–128 characters)');
  const claims: Record<string, string> = {};
  if (options.name !== undefined) claims.name = options.name;
  if (options.preferredUsername !== undefined) claims.preferred_username = options.preferredUsername;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt();
  const expiresIn = options.expiresIn ?? '1h';
  jwt = jwt.setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn);
  if (auth.issuer !== undefined) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience !== undefined) jwt = jwt.setAudience(auth.audience);
  return jwt.sign(encoder.encode(auth.jwtSecret));
}

/** Why a token was refused, for the 401 body and the WWW-Authenticate header. */
function reason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return `the token must be signed with ${ALGORITHM}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the token's ${error.claim} claim is missing or not accepted`;
  return 'the token is malformed';
}

/**
 * Verifies a bearer token and returns the identity it carries. Tokens must be HS256, unexpired,
 * carry `exp` and a `sub` that is a valid user id, and match the configured issuer/audience.
 * Throws UnauthorizedError with the reason otherwise.
 */
export async function verifyToken(auth: AuthConfig, token: string): Promise<Identity> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, encoder.encode(auth.jwtSecret), {
      algorithms: [ALGORITHM],
      requiredClaims: ['sub', 'exp'],
      clockTolerance: 5,
      ...(auth.issuer !== undefined ? { issuer: auth.issuer } : {}),
      ...(auth.audience !== undefined ? { audience: auth.audience } : {}),
    }));
  } catch (error) {
    throw new UnauthorizedError(reason(error), { scheme: 'Bearer', invalidToken: true });
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || !isUserId(sub)) {
    throw new UnauthorizedError('the token subject is not a valid user id (1–128 of letters, digits and ._:@|-)', {
      scheme: 'Bearer',
      invalidToken: true,
    });
  }
  return {
    sub,
    name: typeof payload.name === 'string' ? payload.name : undefined,
    preferredUsername: typeof payload.preferred_username === 'string' ? payload.preferred_username : undefined,
  };
}

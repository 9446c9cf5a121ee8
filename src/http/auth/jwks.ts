import {
  createLocalJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import type { RemoteKeysConfig } from '../../config/schema.js';
import { UnavailableError } from '../../domain/errors.js';

/**
 * An identity provider's public keys, fetched from its JWKS endpoint (found through OpenID Connect
 * discovery when only the issuer is configured) and selected by the token's `kid` and `alg`.
 *
 * - Keys are cached; after `cacheMaxAgeMs` they are refetched on use. When that refetch fails the
 *   cached keys stay in use (a warning is logged), so an outage of the provider does not log
 *   everybody out.
 * - A token whose `kid` is not cached triggers a refetch (key rotation), but at most one fetch
 *   runs at a time and none starts within `cooldownMs` of the previous one, so a flood of tokens
 *   with made-up kids costs the provider one request per cooldown.
 * - When a key cannot be had at all (nothing cached yet, or an unknown kid while the provider is
 *   failing) the request gets UnavailableError (503 with Retry-After), not 401: the token may be
 *   fine. An unknown kid while the provider answers normally is a 401.
 *
 * jose's createRemoteJWKSet does the first two, but a failed refetch of stale keys fails the
 * request there; this keeps them.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 */

export interface RemoteKeySetOptions {
  /** Warnings about the provider (failed fetches). */
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Milliseconds now; tests may move time. */
  now?: () => number;
}

type KeyGetter = ReturnType<typeof createLocalJWKSet>;

const DISCOVERY_PATH = '/.well-known/openid-configuration';

export class RemoteKeySet {
  readonly #config: RemoteKeysConfig;
  readonly #log: RemoteKeySetOptions['log'];
  readonly #now: () => number;
  #jwksUrl: string | undefined;
  #keys: KeyGetter | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastFailed = false;
  #inflight: Promise<boolean> | undefined;

  constructor(config: RemoteKeysConfig, options: RemoteKeySetOptions = {}) {
    this.#config = config;
    this.#jwksUrl = config.jwksUrl;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** The key resolver for jose's jwtVerify. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (this.#keys === undefined) {
      await this.#refreshUnlessCoolingDown();
      if (this.#keys === undefined) throw this.#unavailable();
    } else if (this.#now() - this.#fetchedAt >= this.#config.cacheMaxAgeMs) {
      await this.#refreshUnlessCoolingDown(); // On failure the cached keys stay.
    }
    try {
      return await this.#current()(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // Perhaps the provider rotated its keys: look again, unless it was asked a moment ago.
      const refreshed = await this.#refreshUnlessCoolingDown();
      // Cooling down: a 401 if the provider answered last time, a 503 if it did not.
      if (refreshed === undefined) throw this.#lastFailed ? this.#unavailable() : error;
      if (!refreshed) throw this.#unavailable();
      return this.#current()(header, token);
    }
  };

  #current(): KeyGetter {
    if (this.#keys === undefined) throw this.#unavailable();
    return this.#keys;
  }

  #unavailable(): UnavailableError {
    const waitMs = this.#config.cooldownMs - (this.#now() - this.#attemptedAt);
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    return new UnavailableError(
      "the identity provider's signing keys cannot be fetched; retry later",
      retryAfter,
      undefined,
      'identity provider',
    );
  }

  /**
   * Fetches the key set unless a fetch runs (then waits for it) or the last one started less than
   * a cooldown ago. Resolves true/false for a fetch that succeeded/failed, undefined when none was made.
   */
  async #refreshUnlessCoolingDown(): Promise<boolean | undefined> {
    if (this.#inflight) return this.#inflight;
    if (this.#now() - this.#attemptedAt < this.#config.cooldownMs) return undefined;
    this.#attemptedAt = this.#now();
    this.#inflight = this.#fetchKeys().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetchKeys(): Promise<boolean> {
    try {
      const url = this.#jwksUrl ?? (await this.#discover());
      const body = await this.#getJson(url);
      this.#keys = createLocalJWKSet(body as JSONWebKeySet);
      this.#fetchedAt = this.#now();
      this.#lastFailed = false;
      return true;
    } catch (error) {
      this.#lastFailed = true;
      this.#log?.warn(
        { err: error, cachedKeys: this.#keys !== undefined },
        this.#keys === undefined
          ? "cannot fetch the identity provider's keys"
          : "cannot refresh the identity provider's keys; the cached ones stay in use",
      );
      return false;
    }
  }

  /** The jwks_uri of the issuer's discovery document, whose issuer must be the configured one. */
  async #discover(): Promise<string> {
    const issuer = this.#config.oidcIssuer;
    if (issuer === undefined) throw new Error('neither a JWKS URL nor an OIDC issuer is configured');
    const document = (await this.#getJson(`${issuer.replace(/\/+$/, '')}${DISCOVERY_PATH}`)) as Record<string, unknown>;
    if (document.issuer !== issuer) {
      throw new Error(
        `the discovery document names the issuer ${JSON.stringify(document.issuer)}, not ${JSON.stringify(issuer)}`,
      );
    }
    const jwksUri = document.jwks_uri;
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri))
      throw new Error('the discovery document has no jwks_uri');
    this.#jwksUrl = jwksUri;
    this.#log?.info({ issuer, jwksUri }, 'found the identity provider through OpenID Connect discovery');
    return jwksUri;
  }

  async #getJson(url: string): Promise<unknown> {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(this.#config.timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`GET ${url} answered ${response.status}`);
    }
    return response.json();
  }
}

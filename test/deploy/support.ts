import { listeningUrl, spawnServer } from '../support/process.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { buildApp, type App } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { openStore } from '../../src/repositories/factory.js';
import { ensureSchema } from '../../src/repositories/schema.js';
import { testConfig, type Env } from '../http/support.js';

/** An app over a fresh memory store, closed by the returned close(). */
export async function appWith(env: Env): Promise<{ app: App; config: Config; close: () => Promise<void> }> {
  const config = testConfig(env);
  const quiet = { info() {}, warn() {}, error() {} };
  const store = await openStore(config.database, quiet);
  await ensureSchema(store, { migrate: true });
  const app = buildApp({ config, store });
  await app.ready();
  return { app, config, close: () => app.close() };
}

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface SignOptions {
  issuer?: string | undefined;
  audience?: string | undefined;
  expiresIn?: string | number;
  /** Override the kid in the header (a kid the provider does not publish). */
  kid?: string;
  claims?: JWTPayload;
  sub?: string;
}

export async function sign(key: SigningKey, options: SignOptions = {}): Promise<string> {
  let jwt = new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuedAt();
  if (options.sub !== undefined || options.claims?.sub === undefined) jwt = jwt.setSubject(options.sub ?? 'alice');
  const expiresIn = options.expiresIn ?? '1h';
  jwt = jwt.setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(key.privateKey);
}

/**
 * A tiny identity provider on 127.0.0.1: an OpenID Connect discovery document and a JWKS, with
 * the published keys changeable mid-test, a switch that makes it fail (500) or refuse
 * connections (stopped), and a count of the requests it received.
 */
export class FakeProvider {
  keys: JWK[] = [];
  failing = false;
  requests = { discovery: 0, jwks: 0 };
  #server: Server | undefined;
  #port = 0;

  get issuer(): string {
    return `http://127.0.0.1:${this.#port}/realms/test`;
  }
  get jwksUrl(): string {
    return `http://127.0.0.1:${this.#port}/realms/test/jwks`;
  }
  get total(): number {
    return this.requests.discovery + this.requests.jwks;
  }

  publish(...keys: SigningKey[]): void {
    this.keys = keys.map((k) => k.publicJwk);
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/realms/test/.well-known/openid-configuration') this.requests.discovery++;
      else if (path === '/realms/test/jwks') this.requests.jwks++;
      if (this.failing) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
        return;
      }
      if (path === '/realms/test/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            issuer: this.issuer,
            jwks_uri: this.jwksUrl,
            id_token_signing_alg_values_supported: ['RS256'],
          }),
        );
      } else if (path === '/realms/test/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening (connections are refused); start() again on the same port brings it back. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restart(): Promise<void> {
    await this.start(this.#port);
  }
}

export interface ServerProcess {
  url: string;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** `polystore serve` as a real process on a free port of 127.0.0.1, memory database. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  // The deploy tests bring their own secret (or none, for identity-provider-only setups).
  const server = spawnServer({ AUTH_JWT_SECRET: '', RATE_LIMIT_ENABLED: 'true', ...env });
  let url: string;
  try {
    url = await listeningUrl(server);
  } catch (error) {
    server.kill();
    throw error;
  }
  return {
    url,
    output: () => server.stdout() + server.stderr(),
    stop: async () => {
      if (server.child.exitCode === null) server.child.kill('SIGTERM');
      const timer = setTimeout(() => server.kill(), 15_000);
      const { code } = await server.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

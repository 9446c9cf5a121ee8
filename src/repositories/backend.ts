import type { SettingValues } from '../config/schema.js';
import type { Store, StoreLogger } from './ports.js';

/**
 * What a backend declares about itself, as data: one of these per DATABASE_TYPE, exported by the
 * backend's own folder and listed once in database/registry.ts. Configuration, the store factory,
 * the transfer commands, the test harness and the benchmark all read it instead of listing
 * backends themselves.
 *
 * A descriptor imports no driver: `open` and `testing` load the adapter lazily, so a deployment
 * only ever loads the driver it uses.
 */
export interface BackendDescriptor<Type extends string = string, Options extends object = object> {
  /** The DATABASE_TYPE value, also the store's `kind`. */
  readonly type: Type;
  /** The product's name for messages and docs, e.g. `PostgreSQL`. */
  readonly label: string;
  /** How DATABASE_URL and the transfer commands' `--from`/`--to` locate a database of this kind. */
  readonly location: LocationRule;
  /** Whether the server applies migrations on start when MIGRATE_ON_START is not set. */
  readonly migrateOnStartByDefault: boolean;
  /** The migrations folder (migrations/<dialect>), for docs and the registry test. */
  readonly migrations: string;
  /**
   * A problem with a location that passed the `location` rule (a URL parameter the backend would
   * drop, say), as a sentence to follow the setting's name; undefined when there is none.
   */
  checkLocation?(location: string, settings: SettingValues): string | undefined;
  /**
   * The backend's typed options, from its location (already checked against `location`) and the
   * settings. Only what this backend uses goes in.
   */
  options(location: string, settings: SettingValues): Options;
  /** Opens a store; never migrates (callers decide, see ensureSchema). */
  open(config: { type: Type } & Options, log: StoreLogger): Promise<Store>;
  /** How the test harness and the benchmark reach a database of this kind. */
  readonly testing: TestingRule<{ type: Type } & Options>;
}

export type LocationRule =
  /** No location: `memory:` selects it, DATABASE_URL is ignored. */
  | { kind: 'none'; scheme: string }
  /** A file path, bare or behind one of `schemes` (`sqlite:PATH`); `default` when none is given. */
  | { kind: 'file'; schemes: readonly string[]; default: string }
  /**
   * A URL. `schemes` select this backend in `--from`/`--to` (the first one is shown in messages);
   * DATABASE_URL also accepts `alsoAccepts` (mysql:// and mariadb:// serve both MySQL and MariaDB).
   */
  | { kind: 'url'; schemes: readonly string[]; alsoAccepts?: readonly string[] };

export type TestingRule<Config> =
  /** Runs inside the test process; nothing to find. */
  | { needs: 'nothing'; kit(): Promise<TestKit<Config>> }
  /**
   * Needs a server: TEST_<SERVER>_URL, else a Testcontainers container of `image` (overridable with
   * TEST_<SERVER>_IMAGE), else the reason it cannot run.
   */
  | { needs: 'server'; server: string; image: string; kit(): Promise<TestKit<Config>> };

/** What a backend gives the test harness (loaded lazily; may import dev dependencies). */
export interface TestKit<Config> {
  /** Starts a disposable server in a container (Testcontainers) and returns its URL. */
  startContainer?(image: string): Promise<{ url: string; stop(): Promise<unknown> }>;
  /** Opens an administrative handle on the server (undefined for in-process backends). */
  connect(serverUrl: string | undefined): Promise<Scratch<Config>>;
}

/** Makes isolated, empty places to open stores in: a file, a schema or a database each. */
export interface Scratch<Config> {
  /** A new place nobody else uses, its config, and how to drop it again. */
  create(): Promise<{ config: Config; drop(): Promise<void> }>;
  close(): Promise<void>;
}

/** The connection options every server backend takes (DATABASE_URL and the DATABASE_* settings). */
export interface ServerOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  tls: SettingValues['DATABASE_TLS'];
  tlsCaFile: string | undefined;
}

export function serverOptions(url: string, settings: SettingValues): ServerOptions {
  return {
    url,
    poolSize: settings.DATABASE_POOL_SIZE,
    connectTimeoutMs: settings.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: settings.DATABASE_STATEMENT_TIMEOUT_MS,
    tls: settings.DATABASE_TLS,
    tlsCaFile: settings.DATABASE_TLS_CA_FILE,
  };
}

/** Checks a descriptor's shape at compile time while keeping its literal types. */
export const defineBackend = <Type extends string, Options extends object>(
  descriptor: BackendDescriptor<Type, Options>,
): BackendDescriptor<Type, Options> => descriptor;

import type { Store } from '../../src/repositories/ports.js';

/**
 * How a test suite gets stores of one backend. Each backend's test file is a few lines that pass
 * one of these to the shared suites (test/contract, test/http).
 */
export interface StoreInitializer {
  /** Backend name as shown in test titles, e.g. `sqlite`, `postgres (TEST_POSTGRES_URL)`. */
  name: string;
  /**
   * Finds (or starts) the database server. Returns a reason when the backend cannot run here; the
   * suite then prints the reason and skips, or fails when TEST_REQUIRE names the backend.
   */
  beforeAll(): Promise<{ skip: string } | { ready: string }>;
  /** A fresh, migrated, empty store of its own (own file, schema or database). */
  create(): Promise<Store>;
  /** Closes the store and drops what create() made. */
  destroy(store: Store): Promise<void>;
  /** Stops what beforeAll started. */
  afterAll(): Promise<void>;
}

import type { FallbackResult } from './global-setup.js';

/** MongoDB without TEST_MONGODB_URL or Testcontainers. Replaced by the MongoDB issue's work. */
export async function mongoFallback(): Promise<FallbackResult> {
  return { skip: 'no MongoDB fallback is built yet' };
}

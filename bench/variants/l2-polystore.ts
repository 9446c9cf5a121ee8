import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { DatabaseType } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/repositories/factory.js';
import { ensureSchema } from '../../src/repositories/schema.js';
import type { DatasetParams } from '../dataset.js';
import { fillDataset } from '../fill.js';

/** PAGE_MAX_BYTES of the benchmarked server: a page of 50 of the largest scale messages fits. */
export const BENCH_PAGE_MAX_BYTES = 16 * 2 ** 20;

export interface L2Options {
  type: DatabaseType;
  url: string;
  poolSize: number;
  /** LOG_LEVEL of the server; `warn` keeps per-request logging out of the measurement. */
  logLevel: string;
  params: DatasetParams;
  report: (line: string) => void;
}

/**
 * L2, polystore itself: the configuration loaded as `polystore serve` loads it (AUTH_MODE=dev,
 * so the caller is the X-User-Id header; metrics and rate limits off), the real store, and buildApp.
 */
export async function buildL2(o: L2Options): Promise<FastifyInstance> {
  const config = loadConfig({
    env: {
      NODE_ENV: 'development',
      AUTH_MODE: 'dev',
      LOG_LEVEL: o.logLevel,
      LOG_PRETTY: 'false',
      DATABASE_TYPE: o.type,
      DATABASE_URL: o.url,
      DATABASE_POOL_SIZE: String(o.poolSize),
      // As production runs by default (metrics off), and with no rate limit: autocannon's few
      // users would hit it within a second and the run would measure 429s.
      METRICS_ENABLED: 'false',
      RATE_LIMIT_ENABLED: 'false',
      // Off as in production (development turns it on); its page is not part of the compiled build.
      DEMO_ENABLED: 'false',
      // The scale table reads pages of 50 messages of 200 KB (10 MB): above the default page
      // budget (4 MB), which would end them early and make the points incomparable. Posts of
      // 200 KB fit the defaults (MESSAGE_MAX_BYTES 256 KB, BODY_LIMIT_BYTES 1 MB).
      PAGE_MAX_BYTES: String(BENCH_PAGE_MAX_BYTES),
    },
    dotenvPath: false,
  });
  const logger = createLogger(config);
  const store = await openStore(config.database, logger);
  await ensureSchema(store, { migrate: o.type === 'memory' });
  // Memory keeps nothing between processes: this server loads its own copy through the bulk port.
  if (o.type === 'memory') {
    await fillDataset(o.params, (kind, records) => store.bulk.insertBatch(kind, records, 'fail'), 'L2 memory', {
      batch: 50_000,
      report: o.report,
    });
  }
  return buildApp({ config, store, logger }) as unknown as FastifyInstance;
}

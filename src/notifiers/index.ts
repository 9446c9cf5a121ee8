import type { NotifierConfig } from '../config/schema.js';
import { BrokerNotifier, LocalLiveNotifier, type LiveNotifier, type NotifierLogger } from './broker.js';
import { natsTransport } from './nats.js';
import { postgresTransport } from './postgres.js';
import { redisTransport } from './redis.js';

export type { LiveNotifier, NotifierState, NotifierStatus } from './broker.js';

/** How long connecting to Redis or NATS may take (PostgreSQL uses DATABASE_CONNECT_TIMEOUT_MS). */
const BROKER_CONNECT_TIMEOUT_MS = 5000;

/** The notifier EVENTS_NOTIFY names; the one switch on its kind. */
export function createNotifier(config: NotifierConfig, log: NotifierLogger): LiveNotifier {
  switch (config.type) {
    case 'local':
      return new LocalLiveNotifier();
    case 'postgres':
      return new BrokerNotifier(postgresTransport(config), log, {
        degradedPollMs: config.degradedPollMs,
        timeoutMs: Math.max(BROKER_CONNECT_TIMEOUT_MS, config.connectTimeoutMs + 1000),
      });
    case 'redis':
      return new BrokerNotifier(redisTransport(config, BROKER_CONNECT_TIMEOUT_MS), log, {
        degradedPollMs: config.degradedPollMs,
      });
    case 'nats':
      return new BrokerNotifier(natsTransport(config, BROKER_CONNECT_TIMEOUT_MS), log, {
        degradedPollMs: config.degradedPollMs,
      });
    default: {
      const unknown: never = config;
      throw new Error(`unknown notifier ${JSON.stringify(unknown)}`);
    }
  }
}

import { createClient } from 'redis';
import { redactUrl } from '../config/load.js';
import type { NotifierConfig } from '../config/schema.js';
import type { Link, LinkHandlers, Transport } from './broker.js';

/**
 * Redis pub/sub with the official client (node-redis): a subscriber connection and a publisher,
 * since a subscribed connection may send nothing else. The client's own reconnection and offline
 * queue are off: the BrokerNotifier reconnects (and polls meanwhile), and a publish while the
 * server is away fails at once instead of queueing without bound.
 */
export function redisTransport(
  config: Extract<NotifierConfig, { type: 'redis' }>,
  connectTimeoutMs: number,
): Transport {
  return {
    type: 'redis',
    where: redactUrl(config.url),
    async open(handlers: LinkHandlers): Promise<Link> {
      const options = {
        url: config.url,
        name: 'polystore-notify',
        disableOfflineQueue: true,
        socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: false as const },
      };
      const publisher = createClient(options);
      const subscriber = createClient(options);
      let open = false;
      const lost = (error: Error) => {
        if (!open) return;
        open = false;
        handlers.lost(error);
      };
      for (const client of [publisher, subscriber]) {
        client.on('error', (error: Error) => lost(error));
        client.on('end', () => lost(new Error('the Redis connection ended')));
      }
      const destroy = () => {
        for (const client of [publisher, subscriber]) if (client.isOpen) client.destroy();
      };
      try {
        await Promise.all([publisher.connect(), subscriber.connect()]);
        await subscriber.subscribe(config.channel, (message) => handlers.message(message));
      } catch (error) {
        destroy();
        throw error;
      }
      open = true;
      return {
        async publish(payloads) {
          await Promise.all(payloads.map((payload) => publisher.publish(config.channel, payload)));
        },
        async ping() {
          await publisher.ping();
        },
        async close() {
          open = false;
          destroy();
        },
      };
    },
  };
}

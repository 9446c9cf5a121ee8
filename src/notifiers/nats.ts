import { connect } from 'nats';
import { redactUrl } from '../config/load.js';
import type { NotifierConfig } from '../config/schema.js';
import type { Link, LinkHandlers, Transport } from './broker.js';

const encoder = new TextEncoder();

/**
 * NATS core publish/subscribe with the official client: one connection, `noEcho` so the server
 * does not send this instance its own publications. The client's reconnection is off: the
 * BrokerNotifier reconnects (and polls meanwhile), so publications never pile up in the client's
 * buffer while the server is away.
 */
export function natsTransport(config: Extract<NotifierConfig, { type: 'nats' }>, connectTimeoutMs: number): Transport {
  return {
    type: 'nats',
    where: config.servers.map(redactUrl).join(','),
    async open(handlers: LinkHandlers): Promise<Link> {
      const nc = await connect({
        servers: config.servers,
        name: 'polystore-notify',
        noEcho: true,
        reconnect: false,
        timeout: connectTimeoutMs,
      });
      let open = true;
      nc.subscribe(config.channel, {
        callback: (error, msg) => {
          if (!error) handlers.message(msg.string());
        },
      });
      void nc.closed().then((error) => {
        if (!open) return;
        open = false;
        handlers.lost(error ?? new Error('the NATS connection closed'));
      });
      try {
        await nc.flush(); // The subscription is registered on the server from here on.
      } catch (error) {
        open = false;
        await nc.close().catch(() => undefined);
        throw error;
      }
      return {
        async publish(payloads) {
          for (const payload of payloads) nc.publish(config.channel, encoder.encode(payload));
          await nc.flush();
        },
        async ping() {
          await nc.flush();
        },
        async close() {
          open = false;
          await nc.close();
        },
      };
    },
  };
}

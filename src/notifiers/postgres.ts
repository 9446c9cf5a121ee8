import type { Socket } from 'node:net';
import pg from 'pg';
import { tlsOptions } from '../../database/typeorm/dialects/tls.js';
import { redactUrl } from '../config/load.js';
import type { NotifierConfig } from '../config/schema.js';
import type { Link, LinkHandlers, Transport } from './broker.js';

/** How the listener shows in pg_stat_activity (and how a test finds its backend). */
export const LISTENER_APPLICATION_NAME = 'polystore-notify';

/**
 * PostgreSQL LISTEN/NOTIFY on the database itself: one dedicated connection listens on the
 * channel and also sends the NOTIFYs, as `SELECT pg_notify(…)` after the write's transaction
 * committed, never inside it: a NOTIFY in a transaction takes a database-wide lock at commit, which
 * serialises every writing transaction. One statement carries a whole batch of payloads.
 * @see https://www.postgresql.org/docs/current/sql-notify.html
 */
export function postgresTransport(config: Extract<NotifierConfig, { type: 'postgres' }>): Transport {
  return {
    type: 'postgres',
    where: redactUrl(config.url),
    async open(handlers: LinkHandlers): Promise<Link> {
      const client = new pg.Client({
        connectionString: config.url,
        ssl: await tlsOptions(config),
        connectionTimeoutMillis: config.connectTimeoutMs,
        application_name: LISTENER_APPLICATION_NAME,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      });
      let open = false;
      const lost = (error: Error) => {
        if (!open) return;
        open = false;
        handlers.lost(error);
      };
      client.on('error', lost);
      client.on('end', () => lost(new Error('the listening connection ended')));
      client.on('notification', (n) => {
        if (n.channel === config.channel && n.payload) handlers.message(n.payload);
      });
      try {
        await client.connect();
        await client.query(`LISTEN "${config.channel}"`);
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      open = true;
      return {
        async publish(payloads) {
          const calls = payloads.map((_, i) => `pg_notify($1, $${i + 2})`).join(', ');
          await client.query(`SELECT ${calls}`, [config.channel, ...payloads]);
        },
        async ping() {
          await client.query('SELECT 1');
        },
        async close() {
          open = false;
          // end() waits for the server to see the connection go; one that stopped answering is cut.
          const cut = setTimeout(
            () => (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy(),
            1000,
          );
          await client.end().finally(() => clearTimeout(cut));
        },
      };
    },
  };
}

import fp from 'fastify-plugin';
import { createNotifier, type LiveNotifier } from '../../notifiers/index.js';
import { TicketService } from '../../services/tickets.js';

/** What the event routes share in one process: the notifier, the ticket issuer, the open streams. */
export interface Live {
  notifier: LiveNotifier;
  tickets: TicketService;
  /** Ends every open stream (on close, so the server can stop). */
  readonly streams: Set<() => void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: Live;
  }
}

/** How often expired events are pruned (and at most the retention itself). */
const PRUNE_EVERY_MS = 5 * 60_000;

/**
 * Live conversations: the notifier chosen by EVENTS_NOTIFY (src/notifiers), stream tickets, and
 * the periodic pruning of events older than EVENTS_RETENTION_S. The notifier's first connection
 * is tried before the app is ready; a broker that cannot be reached does not stop the start (the
 * notifier polls and reconnects, and /ready shows it as degraded).
 */
export default fp(
  async (app) => {
    const settings = app.config.settings;
    const notifier = createNotifier(app.config.notifier, app.log);
    await notifier.start();
    app.addHook('onClose', () => notifier.close());
    const live: Live = {
      notifier,
      tickets: new TicketService(
        settings.STREAM_TICKET_SECRET,
        settings.STREAM_TICKET_TTL_S * 1000,
        app.store.ticketUses,
      ),
      streams: new Set(),
    };
    app.decorate('live', live);

    const retentionMs = settings.EVENTS_RETENTION_S * 1000;
    const prune = async () => {
      try {
        const removed = await app.services.events.prune(retentionMs);
        const tickets = await app.store.ticketUses.prune(new Date());
        if (removed + tickets > 0)
          app.log.info({ removed, tickets }, 'pruned expired events, removals and ticket uses');
      } catch (error) {
        app.log.warn({ err: error }, 'pruning conversation events failed; it runs again later');
      }
    };
    const timer = setInterval(prune, Math.min(PRUNE_EVERY_MS, retentionMs));
    timer.unref();
    app.addHook('onReady', async () => {
      void prune();
    });
    app.addHook('preClose', async () => {
      clearInterval(timer);
      for (const end of [...live.streams]) end();
    });
  },
  { name: 'live', dependencies: ['config', 'store'] },
);

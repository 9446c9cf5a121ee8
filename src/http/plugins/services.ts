import fp from 'fastify-plugin';
import { createServices, type Services } from '../../services/index.js';
import livePlugin from './live.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** The use cases over the store; routes call these and nothing below them. */
export default fp(
  async (app) => {
    const settings = app.config.settings;
    // The notifier comes first: the services wake stream readers through it.
    await app.register(livePlugin);
    app.decorate(
      'services',
      createServices(
        app.store,
        { messageMaxBytes: settings.MESSAGE_MAX_BYTES, pageMaxBytes: settings.PAGE_MAX_BYTES },
        app.live.notifier,
        { retentionMs: settings.EVENTS_RETENTION_S * 1000, settleMs: settings.EVENTS_INBOX_SETTLE_MS },
        {
          flushIntervalMs: settings.STREAM_FLUSH_INTERVAL_MS,
          flushBytes: settings.STREAM_FLUSH_BYTES,
          idleTimeoutMs: settings.STREAM_IDLE_TIMEOUT_MS,
          sweepIntervalMs: settings.STREAM_SWEEP_INTERVAL_MS,
          maxActive: settings.STREAM_MAX_ACTIVE,
        },
        app.log,
      ),
    );
    // The sweep ends idle streams; on close, what held streams have not written yet is written.
    app.addHook('onReady', async () => app.services.streams.start());
    app.addHook('preClose', async () => app.services.streams.stop());
  },
  { name: 'services', dependencies: ['config', 'store'] },
);

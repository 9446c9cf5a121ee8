import fp from 'fastify-plugin';
import { createServices, type Services } from '../../services/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** The use cases over the store; routes call these and nothing below them. */
export default fp(
  async (app) => {
    app.decorate('services', createServices(app.store));
  },
  { name: 'services', dependencies: ['store'] },
);

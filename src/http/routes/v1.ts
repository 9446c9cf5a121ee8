import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { conversationRoutes } from './conversations.js';
import { eventRoutes } from './events.js';
import { inboxRoutes } from './inbox.js';
import { messageRoutes } from './messages.js';
import { userRoutes } from './users.js';

/** Everything under /v1: authenticated, and the caller provisioned on first sight. */
export const v1Routes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', app.provisionCaller);
  await app.register(userRoutes);
  await app.register(conversationRoutes);
  await app.register(messageRoutes);
  await app.register(eventRoutes);
  await app.register(inboxRoutes);
};

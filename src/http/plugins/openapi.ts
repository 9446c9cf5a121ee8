import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The OpenAPI document, generated from the route schemas, served at /openapi.json, and the
 * Swagger UI at /docs. Every operation requires a bearer token unless its schema says
 * `security: []`. Registered before the routes, since it collects them as they are added.
 * @see https://github.com/fastify/fastify-swagger#openapi
 */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'polystore',
          version: '0.1.0',
          description:
            'One chat persistence API over SQLite, PostgreSQL, MySQL/MariaDB, MongoDB or memory. Errors always have the shape ' +
            '`{ "error": { "code", "message", "details" } }`. Single resources carry `ETag: "<version>"`.',
        },
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description:
                'A JWT: HS256 with the server secret, or signed by the configured identity provider; `sub` (or AUTH_CLAIM_USER_ID) is the user id.',
            },
          },
        },
        security: [{ bearerAuth: [] }],
        tags: [
          { name: 'users', description: 'Who is who' },
          { name: 'conversations', description: 'Conversations and their participants' },
          { name: 'messages', description: 'Messages of a conversation' },
          {
            name: 'openai',
            description:
              "OpenAI's Conversations API over the same data, for the unmodified `openai` SDK (baseURL `<server>/openai/v1`); errors in OpenAI's shape",
          },
          { name: 'operations', description: 'Probes and documentation' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'openapi' },
);

/** The document itself, for clients and generators (the UI also serves it at /docs/json). */
export async function openApiRoute(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

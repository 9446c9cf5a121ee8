import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { setETag } from '../etag.js';
import { actorId, identityOf } from '../plugins/auth.js';
import { withPreconditions } from '../preconditions.js';
import { userJson } from '../representation.js';
import { errors, IfMatchHeaders } from '../schemas/common.js';
import { UserCreateBody, UserParams, UserSchema, UserUpdateBody } from '../schemas/users.js';

const tags = ['users'];

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const users = app.services.users;

  app.post(
    '/users',
    {
      config: { autoProvision: false },
      schema: {
        tags,
        summary: 'Register the caller',
        description:
          "Creates the caller's user under the token's `sub`, with a chosen handle. Optional: any other first request creates the user automatically " +
          '(handle from `preferred_username`, display name from `name`), after which this answers 409.',
        body: UserCreateBody,
        response: { 201: UserSchema, ...errors(400, 401, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const user = await users.register(identityOf(request), request.body);
      setETag(reply, user.version);
      reply.header('location', `/v1/users/${encodeURIComponent(user.id)}`);
      return reply.code(201).send(userJson(user));
    },
  );

  app.get(
    '/users/me',
    { schema: { tags, summary: 'The caller', response: { 200: UserSchema, ...errors(401) } } },
    async (request, reply) => {
      const user = await users.get(actorId(request));
      setETag(reply, user.version);
      return userJson(user);
    },
  );

  app.patch(
    '/users/me',
    {
      schema: {
        tags,
        summary: "Change the caller's handle or display name",
        description:
          'Guard with `If-Match: "<version>"` (412 when stale) and/or `version` in the body (409 version_conflict when stale).',
        headers: IfMatchHeaders,
        body: UserUpdateBody,
        response: { 200: UserSchema, ...errors(400, 401, 409, 412, 413, 415) },
      },
    },
    async (request, reply) => {
      const { version, ...input } = request.body;
      const user = await withPreconditions(version, request.headers['if-match'], (guard) =>
        users.update(actorId(request), input, guard),
      );
      setETag(reply, user.version);
      return userJson(user);
    },
  );

  app.get(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'A user by id',
        params: UserParams,
        response: { 200: UserSchema, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const user = await users.get(request.params.id);
      setETag(reply, user.version);
      return userJson(user);
    },
  );
};

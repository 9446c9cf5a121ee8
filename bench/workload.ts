import type { Request, RequestParams } from 'autocannon';
import type { Plan, Target } from './dataset.js';
import { CREATOR_ID, textParts } from './dataset.js';

/**
 * The operations, as HTTP requests. Every variant (L0, L1, L2) serves the same paths, so one
 * request sequence drives all three. Rotating operations pick the next target per request.
 */

export const OPS = [
  'create-conversation',
  'post-message',
  'post-message-hot',
  'list-newest',
  'list-deep',
  'list-conversations',
  'get-message',
] as const;
export type Op = (typeof OPS)[number];

export const WRITE_OPS: ReadonlySet<Op> = new Set(['create-conversation', 'post-message', 'post-message-hot']);

export const OP_DOC: Record<Op, string> = {
  'create-conversation': 'POST /v1/conversations (conversation + owner + audit entry)',
  'post-message': 'POST /v1/conversations/:id/messages, round-robin over 1,000 conversations',
  'post-message-hot': 'POST /v1/conversations/:id/messages, all to the hot conversation',
  'list-newest': 'GET …/messages?direction=older&limit=50: the newest page of the hot conversation',
  'list-deep': 'GET …/messages?direction=older&limit=50&cursor=…: a page `deep` messages down the hot conversation',
  'list-conversations': "GET /v1/conversations?limit=50: a user's conversations, round-robin over users",
  'get-message': 'GET …/messages/:messageId, round-robin over 1,000 messages',
};

/** Page size of every listing (the API default). */
export const PAGE = 50;

export const CREATE_BODY = { title: 'Bench conversation', metadata: { source: 'bench' } };
export const POST_BODY = {
  role: 'user' as const,
  content: [
    {
      type: 'text' as const,
      text:
        'Benchmark message: the quick brown fox jumps over the lazy dog while the server measures how long it takes to ' +
        'store this text, count it on its conversation and answer with the created message. Padding to a realistic size.',
    },
  ],
  metadata: { source: 'bench' },
};

/** What a post route receives (the workload never sends a clientMessageId; the routes accept one). */
export type PostBody = typeof POST_BODY & { clientMessageId?: string };

/** A post body like POST_BODY with exactly `bytes` characters of text (in parts, see textParts). */
export function postBodyOf(bytes: number): string {
  const base = POST_BODY.content[0]!.text;
  const content = textParts(bytes, (length) => base.repeat(Math.ceil(length / base.length)).slice(0, length));
  return JSON.stringify({ ...POST_BODY, content });
}

/** Where the L1 server answers L1-insert: the post route under this prefix. */
export const L1_INSERT_PREFIX = '/l1-insert';

/** Changes of one operation's requests, for the L1-insert variant and the scale table. */
export interface RequestOptions {
  /** Prepended to every path (L1_INSERT_PREFIX). */
  prefix?: string;
  /** The post body, JSON (default POST_BODY). */
  body?: string;
}

const json = { 'content-type': 'application/json' };

function rotate<T>(
  items: readonly T[],
  each: (item: T, request: RequestParams) => RequestParams,
): Request['setupRequest'] {
  let i = 0;
  return (request) => {
    const item = items[i++ % items.length]!;
    return each(item, request);
  };
}

const messagesPath = (conversationId: string) => `/v1/conversations/${conversationId}/messages`;
const as = (userId: string, extra: Record<string, string> = {}) => ({ 'x-user-id': userId, ...extra });

/** The request (with its target rotation) for one operation, and the status a success has. */
export function requestsFor(op: Op, plan: Plan, o: RequestOptions = {}): { requests: Request[]; status: number } {
  const built = build(op, plan, o.body ?? JSON.stringify(POST_BODY));
  const prefix = o.prefix;
  if (!prefix) return built;
  const requests = built.requests.map((r): Request => {
    const setup = r.setupRequest;
    return {
      ...r,
      ...(r.path ? { path: prefix + r.path } : {}),
      ...(setup
        ? {
            setupRequest: (request: RequestParams, context: Record<string, unknown>) => {
              const next = setup(request, context) as RequestParams;
              return { ...next, path: prefix + next.path };
            },
          }
        : {}),
    };
  });
  return { requests, status: built.status };
}

function build(op: Op, plan: Plan, postBody: string): { requests: Request[]; status: number } {
  switch (op) {
    case 'create-conversation':
      return {
        status: 201,
        requests: [
          {
            method: 'POST',
            path: '/v1/conversations',
            headers: as(CREATOR_ID, json),
            body: JSON.stringify(CREATE_BODY),
          },
        ],
      };
    case 'post-message': {
      const body = postBody;
      return {
        status: 201,
        requests: [
          {
            method: 'POST',
            body,
            setupRequest: rotate(plan.postTargets, (t: Target, r) => ({
              ...r,
              path: messagesPath(t.conversationId),
              headers: as(t.userId, json),
            })),
          },
        ],
      };
    }
    case 'post-message-hot':
      return {
        status: 201,
        requests: [
          {
            method: 'POST',
            path: messagesPath(plan.hotId),
            headers: as(plan.hotOwner, json),
            body: postBody,
          },
        ],
      };
    case 'list-newest':
      return {
        status: 200,
        requests: [
          {
            method: 'GET',
            path: `${messagesPath(plan.hotId)}?direction=older&limit=${PAGE}`,
            headers: as(plan.hotOwner),
          },
        ],
      };
    case 'list-deep':
      return {
        status: 200,
        requests: [
          {
            method: 'GET',
            path: `${messagesPath(plan.hotId)}?direction=older&limit=${PAGE}&cursor=${plan.deepCursor}`,
            headers: as(plan.hotOwner),
          },
        ],
      };
    case 'list-conversations':
      return {
        status: 200,
        requests: [
          {
            method: 'GET',
            setupRequest: rotate(plan.listUsers, (u, r) => ({
              ...r,
              path: `/v1/conversations?limit=${plan.listLimit ?? PAGE}`,
              headers: as(u),
            })),
          },
        ],
      };
    case 'get-message':
      return {
        status: 200,
        requests: [
          {
            method: 'GET',
            setupRequest: rotate(plan.getTargets, (t, r) => ({
              ...r,
              path: `${messagesPath(t.conversationId)}/${t.messageId}`,
              headers: as(t.userId),
            })),
          },
        ],
      };
    default: {
      const unknown: never = op;
      throw new Error(`unknown operation ${String(unknown)}`);
    }
  }
}

/** The first request of an operation, for a probe before the load (path, method, headers, body). */
export function firstRequest(op: Op, plan: Plan, o: RequestOptions = {}): RequestParams {
  const [request] = requestsFor(op, plan, o).requests;
  const { setupRequest, ...base } = request!;
  return setupRequest ? setupRequest({ ...base }, {}) : base;
}

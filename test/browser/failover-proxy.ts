import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small failover proxy on 127.0.0.1, standing in for a load balancer in front of two gateway
 * instances: every request goes to the first target that accepts a connection (instance A while
 * it is up, else B). Responses pass through as they arrive, unbuffered, so event streams stay
 * live; when the instance behind a response dies, the client's connection is cut too, as a real
 * load balancer would. Only a refused connection moves a request on to the next target: a request
 * an instance may have received is never sent twice.
 */

export interface Routed {
  target: string;
  method: string;
  path: string;
  status: number;
  /** The response is an event stream. */
  stream: boolean;
}

/** Request bodies are small JSON; a larger one is refused rather than buffered. */
const BODY_MAX = 1024 * 1024;

export class FailoverProxy {
  /** Every response forwarded, in order. */
  readonly routed: Routed[] = [];
  /** While true, event-stream requests are answered 503 without reaching any instance. */
  refuseStreams = false;
  #server: Server | undefined;
  readonly #open = new Set<ServerResponse>();

  constructor(private readonly targets: readonly string[]) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** The event streams each target answered (status 200). */
  streamsTo(target: string): Routed[] {
    return this.routed.filter((r) => r.stream && r.status === 200 && r.target === target);
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const res of this.#open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#open.add(res);
    res.on('close', () => this.#open.delete(res));
    const isStream = /\btext\/event-stream\b/.test(req.headers.accept ?? '');
    if (isStream && this.refuseStreams) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('streams refused for a moment');
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      res.writeHead(413).end();
      return;
    }
    for (const target of this.targets) {
      if ((await this.#forward(target, req, body, res, isStream)) === 'done') return;
    }
    res.writeHead(502, { 'content-type': 'text/plain' }).end('no instance accepts connections');
  }

  /** 'refused' when the target accepted no connection (the request never reached it). */
  #forward(
    target: string,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    isStream: boolean,
  ): Promise<'done' | 'refused'> {
    const url = new URL(target);
    return new Promise((resolve) => {
      // A new connection per request: a pooled socket to an instance that died would fail in a
      // way that cannot tell whether the request reached it.
      const upstream = request({
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: url.host, connection: 'close' },
        agent: false,
      });
      upstream.on('response', (answer) => {
        const status = answer.statusCode ?? 502;
        this.routed.push({ target, method: req.method ?? '', path: req.url ?? '', status, stream: isStream });
        const headers = { ...answer.headers };
        delete headers.connection;
        delete headers['keep-alive'];
        res.writeHead(status, headers);
        answer.on('data', (chunk: Buffer) => res.write(chunk));
        answer.on('end', () => res.end());
        // The instance went away mid-response: cut the client off as well.
        answer.on('close', () => {
          if (!answer.complete) res.destroy();
        });
        res.on('close', () => upstream.destroy());
        resolve('done');
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED' && !res.headersSent) return resolve('refused');
        res.destroy();
        resolve('done');
      });
      upstream.end(body);
    });
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_MAX) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

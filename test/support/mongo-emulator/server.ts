import { createServer, type Server, type Socket } from 'node:net';
import { Engine, type CommandEvent } from './engine.js';
import { encodeReply, frameLength, parseRequest, ProtocolError } from './wire.js';

/**
 * A MongoDB wire-protocol emulator for tests: a TCP server that answers the commands the
 * polystore MongoDB adapter and the official driver's handshake send, keeping data in memory.
 * It is NOT MongoDB and never ships; it exists so the adapter runs through the real driver on
 * machines without a MongoDB server. See test/support/mongo-emulator/README.md.
 */

export interface EmulatorOptions {
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Present as a single-node replica set with this name, with multi-document transactions; default: a standalone server. */
  replicaSet?: string;
}

export interface RunningEmulator {
  /** Connection string for the driver (directConnection, so the driver never looks for other members). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly engine: Engine;
  /** Calls `listener` with every command received; returns the unsubscribe function. */
  onCommand(listener: (event: CommandEvent) => void): () => void;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startMongoEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host))
    throw new Error(`the MongoDB wire-protocol emulator binds only to loopback addresses, not ${host}`);
  const sockets = new Set<Socket>();
  let nextConnectionId = 1;
  const engine = new Engine({ replicaSet: options.replicaSet });

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const connectionId = nextConnectionId++;
    let pending: Buffer = Buffer.alloc(0);
    // Requests of one connection are answered in order.
    let queue: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      try {
        for (let length = frameLength(pending); length !== undefined; length = frameLength(pending)) {
          const request = parseRequest(pending.subarray(0, length));
          pending = pending.subarray(length);
          queue = queue
            .then(async () => {
              const reply = await engine.execute(request.db, request.command, connectionId, {
                opCode: request.opCode,
                sequences: request.sequences,
                ...(request.oversized === undefined ? {} : { oversized: request.oversized }),
              });
              if (!request.noReply && !socket.destroyed) socket.write(encodeReply(request, reply));
            })
            .catch(() => {
              socket.destroy();
            });
        }
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the emulator did not get a TCP address');
  const port = address.port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  engine.me = `${hostInUrl}:${port}`;

  return {
    url: `mongodb://${hostInUrl}:${port}/?directConnection=true`,
    host,
    port,
    engine,
    onCommand: (listener) => engine.onCommand(listener),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from '../http/support.js';

/**
 * polystore as a real process (`tsx src/cli/main.ts …`), for the tests that need what inject
 * cannot show: signals, exit codes, sockets, startup failures.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

export const PROCESS_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  NODE_ENV: 'test',
  DATABASE_TYPE: 'memory',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  LOG_PRETTY: 'false',
  AUTH_JWT_SECRET: TEST_SECRET,
  RATE_LIMIT_ENABLED: 'false',
};

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  afterMs: number;
}

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
  /** The JSON log lines so far. */
  logs: () => Record<string, unknown>[];
  /** SIGKILL to the wrapper and the gateway, if still running (for finally blocks). */
  kill: () => void;
}

/** `tsx src/cli/main.ts serve` with the memory database (unless `env` says otherwise). */
export function spawnServer(env: Record<string, string> = {}): ServerProcess {
  return spawnPolystore(['serve'], env);
}

/** `tsx src/cli/main.ts <args>` as an operator runs it, with PROCESS_ENV and `env`. */
export function spawnPolystore(args: string[], env: Record<string, string> = {}): ServerProcess {
  const started = Date.now();
  const child = spawn(TSX, ['src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...PROCESS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: tsx runs the gateway in a child of its own, and kill() must end both.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, afterMs: Date.now() - started })),
  );
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    logs,
    kill: () => {
      try {
        // The whole group: the tsx wrapper and the gateway it started (a SIGKILL of the wrapper
        // alone would leave the gateway running, its pipes open, and the test waiting).
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** Waits (at most 30 s) for the "polystore listening at" line and returns its url. */
export async function listeningUrl(server: ServerProcess): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = server.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('polystore listening at'));
    if (line && typeof line.url === 'string') return line.url;
    if (server.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the server did not start:\n${server.stdout().slice(-2000)}\n${server.stderr().slice(-2000)}`);
    await sleep(50);
  }
}

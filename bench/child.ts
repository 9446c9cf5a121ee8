import { fork, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { COMPILED_SERVER } from './build.js';
import type { ChildMessage, ServerSpec } from './variants/spec.js';

export interface ChildOptions {
  /** Where the server's own output (its logger) goes. */
  logFile: string;
  /** How long building the server may take (memory servers load the dataset first). */
  readyTimeoutMs: number;
  onLog: (line: string) => void;
}

/** Reads a `kB` field of /proc/<pid>/status, in bytes; null where /proc is not available. */
function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * A server variant in its own Node process, compiled JavaScript run by node itself (no wrapper
 * or loader, so the pid and the RSS are the server's own). Peak RSS per measurement: the kernel's high-water mark, reset before
 * each run by writing 5 to /proc/<pid>/clear_refs, cross-checked by sampling VmRSS.
 */
export class ServerChild {
  private sampler: NodeJS.Timeout | undefined;
  private sampledPeak = 0;
  private hwmReset = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly logFd: number,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** False once the process has exited (crashed, or killed for memory). */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static start(spec: ServerSpec, o: ChildOptions): Promise<ServerChild> {
    const logFd = openSync(o.logFile, 'a');
    const child = fork(COMPILED_SERVER, [], {
      execArgv: [],
      env: { ...process.env, BENCH_SERVER: JSON.stringify(spec), NODE_ENV: 'development' },
      stdio: ['ignore', logFd, logFd, 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${spec.variant} server did not start within ${o.readyTimeoutMs / 1000}s (see ${o.logFile})`));
      }, o.readyTimeoutMs);
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'log') o.onLog(m.line);
        else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${spec.variant} server failed to start: ${m.error}`));
        } else if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(new ServerChild(child, m.port, logFd));
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${spec.variant} server exited (${signal ?? code}) before it was ready (see ${o.logFile})`));
      });
    });
  }

  /** Starts a CPU profile in the server (V8 inspector, sampling every 500 µs). */
  profileStart(): Promise<void> {
    return this.request({ type: 'profile-start' });
  }

  /** Stops the profile and has the server write it to `file`. */
  profileStop(file: string): Promise<void> {
    return this.request({ type: 'profile-stop', file });
  }

  private request(message: object): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type !== 'profiled') return;
        this.child.off('message', onMessage);
        resolve();
      };
      this.child.on('message', onMessage);
      this.child.send(message);
    });
  }

  rss(): number | null {
    return statusField(this.pid, 'VmRSS');
  }

  /** Starts a measurement window for peak RSS. */
  beginPeak(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.sampledPeak = this.rss() ?? 0;
    this.sampler = setInterval(() => {
      this.sampledPeak = Math.max(this.sampledPeak, this.rss() ?? 0);
    }, 100);
  }

  /** Peak RSS in bytes since beginPeak, or null where it cannot be read. */
  endPeak(): number | null {
    clearInterval(this.sampler);
    const hwm = this.hwmReset ? statusField(this.pid, 'VmHWM') : null;
    const peak = Math.max(hwm ?? 0, this.sampledPeak, this.rss() ?? 0);
    return peak > 0 ? peak : null;
  }

  /** Asks the server to close and exit; kills it if it has not within 15 s. */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return closeSync(this.logFd);
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    closeSync(this.logFd);
  }
}

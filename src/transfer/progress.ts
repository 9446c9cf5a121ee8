/**
 * Progress for long transfers, on stderr so stdout stays free for `--out -`. On a terminal it
 * redraws one line with a bar, counts and rate; otherwise it writes a plain line every few
 * seconds and one at the end.
 */
export interface ProgressOptions {
  label: string;
  /** Records expected in all, when known. */
  total?: number;
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when not on a terminal. */
  intervalSeconds?: number;
  /** Suppress all output (tests, --quiet). */
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  /** Set at the first record, so the rate counts only the work itself. */
  private started: number | undefined;
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private detail = '';

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Records `n` more processed records; `detail` names the current stage (e.g. `messages`). */
  advance(n: number, detail?: string): void {
    this.started ??= Date.now();
    this.done += n;
    if (detail !== undefined) this.detail = detail;
    const now = Date.now();
    const every = this.tty ? 100 : (this.options.intervalSeconds ?? 5) * 1000;
    if (now - this.lastDraw >= every) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  finish(): void {
    this.draw(true);
  }

  get count(): number {
    return this.done;
  }

  private draw(final: boolean): void {
    if (this.options.quiet) return;
    const seconds = Math.max((Date.now() - (this.started ?? Date.now())) / 1000, 0.001);
    const rate = Math.round(this.done / seconds);
    const total = this.options.total;
    const of = total === undefined ? '' : `/${total}`;
    const stage = this.detail ? ` [${this.detail}]` : '';
    const text = `${this.options.label}${stage} ${this.done}${of} records, ${rate}/s, ${seconds.toFixed(1)}s`;
    if (this.tty) {
      const width = 24;
      const filled = total ? Math.min(width, Math.round((this.done / Math.max(total, 1)) * width)) : 0;
      const bar = total ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
      this.stream.write(`\r\x1b[2K${bar}${text}${final ? '\n' : ''}`);
    } else {
      this.stream.write(`${text}${final ? ' (done)' : ''}\n`);
    }
  }
}

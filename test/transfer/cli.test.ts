import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/repositories/factory.js';
import { ensureSchema } from '../../src/repositories/schema.js';
import { seedAwkwardStore } from './seed.js';

/** export, import, copy and verify as an operator runs them: real processes, real SQLite files. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const quiet = { info() {}, warn() {}, error() {} };

function polystore(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(TSX, [join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('polystore export / import / copy / verify (processes)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polystore-cli-'));
    const store = await openStore(
      { type: 'sqlite', file: join(dir, 'source.db'), busyTimeoutMs: 2000, synchronous: 'NORMAL' },
      quiet,
    );
    await ensureSchema(store, { migrate: true });
    await seedAwkwardStore(store, { conversations: 4, messagesPer: 3 });
    await store.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('copy moves everything, verifies, and a second run resumes without duplicating', async () => {
    const first = await polystore(['copy', '--from', 'source.db', '--to', 'sqlite:target.db'], dir);
    expect(first.stderr).toContain('verify: the stores hold the same records');
    expect(first.stderr).toMatch(/messages\s+12 copied\s+0 already there/);
    expect(first.code).toBe(0);
    const again = await polystore(['copy', '--from', 'source.db', '--to', 'target.db', '--quiet'], dir);
    expect(again.stderr).toContain('resumed an interrupted copy');
    expect(again.stderr).toMatch(/messages\s+0 copied\s+12 already there/);
    expect(again.code).toBe(0);
    const verify = await polystore(['verify', '--from', 'source.db', '--to', 'target.db', '--quiet'], dir);
    expect(verify.stdout).toMatch(/messages\s+source\s+12\s+target\s+12\s+ok/);
    expect(verify.code).toBe(0);
  }, 120_000);

  it('export to stdout and import of a damaged file report precisely and change nothing', async () => {
    const exported = await polystore(['export', '--out', '-', '--from', 'source.db', '--quiet'], dir);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      format: 'polystore-export',
      formatVersion: 1,
      source: 'sqlite',
      counts: { messages: 12 },
    });
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ trailer: true, counts: { messages: 12 } });
    await writeFile(join(dir, 'cut.ndjson'), `${lines.slice(0, 10).join('\n')}\n`);
    const cut = await polystore(['import', '--in', 'cut.ndjson', '--to', 'fresh.db'], dir);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(
      'import stopped at line 10 of cut.ndjson: the file ends without a trailer line: it is truncated; nothing was written',
    );
    await writeFile(join(dir, 'all.ndjson'), exported.stdout);
    const ok = await polystore(['import', '--in', 'all.ndjson', '--to', 'fresh.db'], dir);
    expect(ok.stderr).toContain('verify: the stores hold the same records');
    expect(ok.code).toBe(0);
    const refused = await polystore(['import', '--in', 'all.ndjson', '--to', 'fresh.db'], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the target sqlite database is not empty .* use --merge/);
    const reexport = await polystore(['export', '--out', 're.ndjson', '--from', 'fresh.db', '--quiet'], dir);
    expect(reexport.code).toBe(0);
    expect((await readFile(join(dir, 're.ndjson'), 'utf8')).trimEnd().split('\n').slice(1, -1)).toEqual(
      lines.slice(1, -1),
    );
  }, 120_000);

  it('bad locations fail fast with a clear message', async () => {
    const refused = await polystore(['copy', '--from', 'source.db', '--to', 'postgres://nobody@127.0.0.1:1/none'], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^polystore: cannot use --to postgres:\/\/nobody@127\.0\.0\.1:1\/none: .*unavailable/m,
    );
    const scheme = await polystore(['verify', '--from', 'source.db', '--to', 'oracle://x'], dir);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toContain('--to: unknown database scheme "oracle:"');
  }, 120_000);
});

import { execFile } from 'node:child_process';
import { cp, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CONFIG = fileURLToPath(new URL('./tsconfig.server.json', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['src', 'database', 'migrations', 'bench'];

/** Newest modification time of the TypeScript sources the servers are compiled from. */
async function newestSource(): Promise<number> {
  let newest = 0;
  for (const dir of SOURCES) {
    for (const entry of await readdir(`${ROOT}${dir}`, { recursive: true, withFileTypes: true })) {
      const path = `${entry.parentPath}/${entry.name}`;
      if (!entry.isFile() || !entry.name.endsWith('.ts') || path.includes('/.data/')) continue;
      newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  }
  return newest;
}

/** Written after each build: when it is newer than every source, the build is current. */
const STAMP = fileURLToPath(new URL('./.data/build/.built', import.meta.url));

/** True when the last build is newer than every source (tsc itself needs seconds to find that out). */
async function upToDate(): Promise<boolean> {
  try {
    return (await stat(STAMP)).mtimeMs > (await newestSource());
  } catch {
    return false;
  }
}

/** Where the compiled server child lands (bench/.data/build/bench/server.js). */
export const COMPILED_SERVER = fileURLToPath(new URL('./.data/build/bench/server.js', import.meta.url));

/**
 * Compiles the servers with tsc, as `npm run build` compiles polystore for production, so the
 * children run plain JavaScript: a TypeScript loader in the server process would add ~40 MB to
 * the RSS being measured. Incremental, so a rebuild after a small change takes seconds. Type
 * errors elsewhere in the tree (work in progress) are reported but do not stop the emit.
 */
export async function buildServers(log: (line: string) => void): Promise<void> {
  // The demo page's static files, copied as `npm run build` copies them: a server in
  // development mode (the `bench:events` gateways) serves /demo and reads them at start.
  await cp(`${ROOT}src/demo`, fileURLToPath(new URL('./.data/build/src/demo', import.meta.url)), { recursive: true });
  if (await upToDate()) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = performance.now();
  const sources = await newestSource();
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', CONFIG], { maxBuffer: 64 * 2 ** 20 });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? '');
    const count = output.split('\n').filter((l) => /error TS\d+/.test(l)).length;
    log(
      `  (tsc reported ${count} type error(s) in the tree; the servers were emitted anyway. First: ${output.split('\n')[0] ?? ''})`,
    );
  }
  log(`  servers compiled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // Stamped with the sources' time, so an edit made during the build still triggers the next one.
  await writeFile(STAMP, '');
  await utimes(STAMP, new Date(sources + 1), new Date(sources + 1));
}

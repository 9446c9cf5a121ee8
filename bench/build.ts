import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CONFIG = fileURLToPath(new URL('./tsconfig.server.json', import.meta.url));
/** Where the compiled server child lands (bench/.data/build/bench/server.js). */
export const COMPILED_SERVER = fileURLToPath(new URL('./.data/build/bench/server.js', import.meta.url));

/**
 * Compiles the servers with tsc, as `npm run build` compiles polystore for production, so the
 * children run plain JavaScript: a TypeScript loader in the server process would add ~40 MB to
 * the RSS being measured. Incremental, so a rebuild after a small change takes seconds. Type
 * errors elsewhere in the tree (work in progress) are reported but do not stop the emit.
 */
export async function buildServers(log: (line: string) => void): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = performance.now();
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', CONFIG], { maxBuffer: 64 * 2 ** 20 });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? '');
    const count = output.split('\n').filter((l) => /error TS\d+/.test(l)).length;
    log(`  (tsc reported ${count} type error(s) in the tree; the servers were emitted anyway. First: ${output.split('\n')[0] ?? ''})`);
  }
  log(`  servers compiled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Summarizes a V8 CPU profile written by `npm run bench -- --profile` (bench/.data/profiles):
 * self time by area (package or project folder), the functions with the most self time, and the
 * project's own functions by inclusive time.
 *
 *   npx tsx bench/profile.ts bench/.data/profiles/<file>.cpuprofile [--top 25] [--callers NAME]
 *
 * `--callers NAME` shows the call paths (5 frames up) leading into functions named NAME.
 * A `.heapprofile` (written beside each CPU profile) is summarized as bytes allocated instead.
 * When bench/results/latest.json holds the run the profile was recorded in (the profile was written
 * while that run lasted), times are also given
 * in microseconds of server CPU per request.
 */

/** Requests served during the profiled run, from the results of the same benchmark run. */
function requestsOf(file: string): number | undefined {
  const results = fileURLToPath(new URL('./results/latest.json', import.meta.url));
  const match = /^(\w+)-([a-z-]+)-c(\d+)-(L\d)\.cpuprofile$/.exec(basename(file));
  if (!match || !existsSync(results)) return undefined;
  const { measurements, startedAt, seconds } = JSON.parse(readFileSync(results, 'utf8')) as {
    startedAt: string;
    seconds: number;
    measurements: { backend: string; op: string; connections: number; variant: string; ok: number; failed: number }[];
  };
  // Only when the profile was written during that run (a later run may have left older results).
  const from = Date.parse(startedAt);
  const written = statSync(file).mtimeMs;
  if (!(written >= from && written <= from + (seconds + 60) * 1000)) return undefined;
  const m = measurements.find(
    (x) => x.backend === match[1] && x.op === match[2] && x.connections === Number(match[3]) && x.variant === match[4],
  );
  return m ? m.ok + m.failed : undefined;
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The servers run compiled from bench/.data/build/: show their project paths. */
const project = (url: string) => url.replace(/^.*\/\.data\/build\//, '/');

/** Which part of the code a script belongs to: a package, a project folder, or Node itself. */
function area(rawUrl: string): string {
  const url = project(rawUrl);
  if (url === '') return '(native / idle / gc)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(src\/[^/]+|database\/[^/]+|bench|migrations)\//.exec(url);
  return own ? own[1]! : url;
}

const where = (n: Node) => {
  const url = project(n.callFrame.url);
  const short = url.includes('node_modules/')
    ? url.slice(url.lastIndexOf('node_modules/') + 13)
    : url.replace(/^.*\/(src|database|bench|migrations)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
};

interface HeapNode {
  callFrame: Node['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/**
 * A sampled allocation profile (`.heapprofile`, written beside each CPU profile): bytes
 * allocated by area and by function (self), and the project's functions inclusive, per request
 * when the run's request count is known. Garbage is included: it is what the GC's time pays for.
 */
function heapSummary(file: string, top: number): void {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const requests = requestsOf(file.replace(/\.heapprofile$/, '.cpuprofile'));
  const flat: { node: HeapNode; stack: HeapNode[] }[] = [];
  const walk = (node: HeapNode, stack: HeapNode[]) => {
    flat.push({ node, stack });
    for (const c of node.children) walk(c, [...stack, node]);
  };
  walk(head, []);
  const total = flat.reduce((a, f) => a + f.node.selfSize, 0);
  const size = (bytes: number) =>
    `${requests ? `${(bytes / requests / 1024).toFixed(1).padStart(7)} KB ` : ''}${((bytes / total) * 100).toFixed(1).padStart(5)}%`;
  const asNode = (h: HeapNode) => ({ id: 0, callFrame: h.callFrame });
  console.log(`${file}\n${(total / 2 ** 20).toFixed(0)} MB allocated (sampled), garbage included`);
  if (requests) console.log(`${requests} requests: ${(total / requests / 1024).toFixed(1)} KB per request`);
  const sum = (key: (f: (typeof flat)[number]) => string | undefined) => {
    const m = new Map<string, number>();
    for (const f of flat) {
      const k = key(f);
      if (k !== undefined && f.node.selfSize > 0) m.set(k, (m.get(k) ?? 0) + f.node.selfSize);
    }
    return [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  };
  console.log('\nAllocated by area (self):');
  for (const [k, v] of sum((f) => area(f.node.callFrame.url))) console.log(`  ${size(v)}  ${k}`);
  console.log(`\nTop ${top} functions by bytes allocated (self):`);
  for (const [k, v] of sum((f) => where(asNode(f.node)))) console.log(`  ${size(v)}  ${k}`);
  const inclusive = new Map<string, number>();
  for (const f of flat) {
    const seen = new Set<string>();
    for (const n of [...f.stack, f.node]) {
      const url = project(n.callFrame.url);
      if (!/^\/(src|database)\//.test(url) || url.includes('node_modules')) continue;
      const key = where(asNode(n));
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + f.node.selfSize);
    }
  }
  console.log('\nProject functions (src/, database/) by bytes allocated, inclusive:');
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${size(v)}  ${k}`);
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find(
    (a, i) => !a.startsWith('--') && !['--top', '--callers', '--depth'].includes(args[i - 1] ?? ''),
  );
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  const callersIndex = args.indexOf('--callers');
  const callersOf = callersIndex >= 0 ? args[callersIndex + 1] : undefined;
  const depthIndex = args.indexOf('--depth');
  const depth = depthIndex >= 0 ? Number(args[depthIndex + 1]) : 6;
  if (!file) {
    console.error('usage: npx tsx bench/profile.ts FILE.cpuprofile|FILE.heapprofile [--top N] [--callers NAME]');
    process.exit(2);
  }
  if (file.endsWith('.heapprofile')) {
    heapSummary(file, top);
    return;
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const total = (profile.endTime - profile.startTime) / 1000;
  const perSample = total / Math.max(1, profile.samples.length);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + perSample);

  const idle = profile.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((s, n) => s + (self.get(n.id) ?? 0), 0);
  const busy = total - idle;
  const requests = requestsOf(file);
  const perRequest = (ms: number) => (requests ? `${((ms * 1000) / requests).toFixed(0).padStart(5)} µs ` : '');
  const pct = (ms: number) => `${perRequest(ms)}${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `${file}\n${(total / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy (percentages are of busy time)`,
  );
  if (requests) console.log(`${requests} requests: ${perRequest(busy).trim()} of server CPU per request`);
  console.log('');

  const areas = new Map<string, number>();
  for (const n of profile.nodes) {
    if (n.callFrame.functionName === '(idle)') continue;
    const key = n.callFrame.functionName === '(garbage collector)' ? '(garbage collector)' : area(n.callFrame.url);
    areas.set(key, (areas.get(key) ?? 0) + (self.get(n.id) ?? 0));
  }
  console.log('Self time by area:');
  for (const [k, v] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(v)}  ${k}`);

  const fns = new Map<string, number>();
  for (const n of profile.nodes) {
    if (n.callFrame.functionName === '(idle)') continue;
    const key = where(n);
    fns.set(key, (fns.get(key) ?? 0) + (self.get(n.id) ?? 0));
  }
  console.log(`\nTop ${top} functions by self time:`);
  for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);

  // Inclusive time of the project's own functions (each counted once per stack).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const url = project(n.callFrame.url);
      if (!/^\/(src|database)\//.test(url) || url.includes('node_modules')) continue;
      const key = where(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  console.log(`\nProject functions (src/, database/) by inclusive time:`);
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);

  if (callersOf !== undefined) {
    // Time spent in (and under) the named function, by the path that called it.
    const paths = new Map<string, number>();
    for (const [id, ms] of self) {
      const stack: Node[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!);
      const at = stack.findIndex((n) => n.callFrame.functionName === callersOf);
      if (at < 0) continue;
      const path = stack
        .slice(at, at + depth)
        .map(where)
        .join('\n      ← ');
      paths.set(path, (paths.get(path) ?? 0) + ms);
    }
    console.log(`\nPaths into ${callersOf} (inclusive):`);
    for (const [k, v] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${pct(v)}  ${k}`);
  }
}

main();

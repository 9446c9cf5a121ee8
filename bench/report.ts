import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BackendName } from './backends.js';
import type { Machine } from './machine.js';
import type { LoadResult } from './run.js';
import type { Variant } from './variants/spec.js';
import { OP_DOC, WRITE_OPS, type Op } from './workload.js';

/** The targets polystore is held to. */
export const TARGETS = {
  /** L2/L1 throughput for reads (list, get). */
  readRatio: 0.8,
  /** L2/L1 throughput for writes. */
  writeRatio: 0.7,
  /** Deep page p50 ≤ this × newest page p50. */
  deepOverNewest: 1.2,
  /** Peak RSS of the polystore server at 100 connections. */
  rssBytes: 200 * 2 ** 20,
  rssConnections: 100,
};

export interface Measurement extends LoadResult {
  backend: BackendName;
  op: Op;
  connections: number;
  variant: Variant;
  /** Bytes; null where it cannot be read. */
  peakRss: number | null;
}

export interface BackendRun {
  name: BackendName;
  skipped?: string;
  serverVersion?: string;
  where?: string;
  seeding?: { reused: boolean; seconds: number; rate: number };
  /** 1-minute load average when this backend's runs began (other work on the machine skews absolute numbers). */
  loadBefore?: number;
  /** Idle RSS of each server after start (memory servers hold the dataset). */
  startRss?: Partial<Record<Variant, number | null>>;
  /** Response size of each variant's probe, per operation. */
  responseBytes?: Partial<Record<Op, Partial<Record<Variant, number>>>>;
  problems: string[];
}

export interface BenchResult {
  mode: 'quick' | 'full';
  startedAt: string;
  seconds: number;
  machine: Machine;
  options: Record<string, unknown>;
  backends: BackendRun[];
  measurements: Measurement[];
}

export interface Verdict {
  what: string;
  value: string;
  target: string;
  met: boolean;
}

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const num = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');
const mb = (bytes: number | null | undefined) =>
  bytes === null || bytes === undefined ? '–' : `${Math.round(bytes / 2 ** 20)}`;
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : Number.NaN);
const mark = (met: boolean) => (met ? 'met' : '**missed**');

function find(r: BenchResult, backend: BackendName, op: Op, connections: number, variant: Variant) {
  return r.measurements.find(
    (m) => m.backend === backend && m.op === op && m.connections === connections && m.variant === variant,
  );
}

/** (backend, op, connections) in the order measured. */
function groups(r: BenchResult) {
  const seen = new Map<string, { backend: BackendName; op: Op; connections: number }>();
  for (const m of r.measurements) {
    const key = `${m.backend}|${m.op}|${m.connections}`;
    if (!seen.has(key)) seen.set(key, { backend: m.backend, op: m.op, connections: m.connections });
  }
  return [...seen.values()];
}

/** Every target, judged. */
export function verdicts(r: BenchResult): Verdict[] {
  const out: Verdict[] = [];
  for (const g of groups(r)) {
    const l1 = find(r, g.backend, g.op, g.connections, 'L1');
    const l2 = find(r, g.backend, g.op, g.connections, 'L2');
    if (!l1 || !l2) continue;
    const target = WRITE_OPS.has(g.op) ? TARGETS.writeRatio : TARGETS.readRatio;
    const value = ratio(l2.rps, l1.rps);
    out.push({
      what: `${g.backend} ${g.op} c=${g.connections}: L2/L1 req/s`,
      value: num(value, 3),
      target: `≥ ${target}`,
      met: value >= target,
    });
  }
  const backends = [...new Set(r.measurements.map((m) => m.backend))];
  const connections = [...new Set(r.measurements.map((m) => m.connections))];
  for (const b of backends) {
    for (const c of connections) {
      const deep = find(r, b, 'list-deep', c, 'L2');
      const newest = find(r, b, 'list-newest', c, 'L2');
      if (!deep || !newest) continue;
      const value = ratio(deep.p50, newest.p50);
      out.push({
        what: `${b} c=${c}: deep p50 ÷ newest p50 (L2)`,
        value: num(value, 3),
        target: `≤ ${TARGETS.deepOverNewest}`,
        met: value <= TARGETS.deepOverNewest,
      });
    }
    const atLimit = r.measurements.filter(
      (m) => m.backend === b && m.variant === 'L2' && m.connections === TARGETS.rssConnections && m.peakRss !== null,
    );
    if (atLimit.length > 0) {
      const worst = atLimit.reduce((a, m) => (m.peakRss! > a.peakRss! ? m : a));
      out.push({
        what: `${b} c=${TARGETS.rssConnections}: peak RSS of polystore (worst op: ${worst.op})`,
        value: `${mb(worst.peakRss)} MB`,
        target: `≤ ${mb(TARGETS.rssBytes)} MB`,
        met: worst.peakRss! <= TARGETS.rssBytes,
      });
    }
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The main table: throughput, ratios, latency and memory per (backend, op, connections). */
export function mainTable(r: BenchResult): string {
  const rows = groups(r).map((g) => {
    const [l0, l1, l2] = (['L0', 'L1', 'L2'] as const).map((v) => find(r, g.backend, g.op, g.connections, v));
    const rps = (m?: Measurement) => (m ? num(m.rps) : '–');
    const lat = (m?: Measurement) => (m ? `${ms(m.p50)} / ${ms(m.p99)}` : '–');
    const target = WRITE_OPS.has(g.op) ? TARGETS.writeRatio : TARGETS.readRatio;
    const l2l1 = l1 && l2 ? ratio(l2.rps, l1.rps) : Number.NaN;
    const failures = [l0, l1, l2].reduce((n, m) => n + (m ? m.failed + m.errors : 0), 0);
    return [
      g.backend,
      g.op,
      String(g.connections),
      rps(l0),
      rps(l1),
      rps(l2),
      Number.isFinite(l2l1) ? `${num(l2l1, 3)}${l2l1 >= target ? '' : ' ✗'}` : '–',
      l0 && l1 ? num(ratio(l1.rps, l0.rps), 2) : '–',
      lat(l0),
      lat(l1),
      lat(l2),
      `${mb(l0?.peakRss)} / ${mb(l1?.peakRss)} / ${mb(l2?.peakRss)}`,
      failures > 0 ? String(failures) : '',
    ];
  });
  return table(
    [
      'backend',
      'op',
      'conn',
      'L0 req/s',
      'L1 req/s',
      'L2 req/s',
      'L2/L1',
      'L1/L0',
      'L0 p50/p99 ms',
      'L1 p50/p99 ms',
      'L2 p50/p99 ms',
      'peak RSS MB L0/L1/L2',
      'failed',
    ],
    rows,
  );
}

function deepTable(r: BenchResult): string {
  const rows: string[][] = [];
  const backends = [...new Set(r.measurements.map((m) => m.backend))];
  const connections = [...new Set(r.measurements.map((m) => m.connections))];
  for (const b of backends) {
    for (const c of connections) {
      const q = (v: Variant) =>
        ratio(find(r, b, 'list-deep', c, v)?.p50 ?? Number.NaN, find(r, b, 'list-newest', c, v)?.p50 ?? Number.NaN);
      if (!Number.isFinite(q('L2')) && !Number.isFinite(q('L1'))) continue;
      rows.push([
        b,
        String(c),
        num(q('L1'), 3),
        num(q('L2'), 3),
        Number.isFinite(q('L2')) ? mark(q('L2') <= TARGETS.deepOverNewest) : '–',
      ]);
    }
  }
  return rows.length === 0
    ? ''
    : table(
        ['backend', 'conn', 'L1 deep÷newest p50', 'L2 deep÷newest p50', `target ≤ ${TARGETS.deepOverNewest}`],
        rows,
      );
}

export function summary(r: BenchResult): string {
  const v = verdicts(r);
  const missed = v.filter((x) => !x.met);
  const lines = [`Targets met: ${v.length - missed.length} of ${v.length}.`];
  if (missed.length > 0) lines.push('Missed:', ...missed.map((x) => `- ${x.what} = ${x.value} (target ${x.target})`));
  return lines.join('\n');
}

export function markdown(r: BenchResult): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# polystore benchmark (${r.mode}), ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; commit ${m.commit.slice(0, 12)}${m.dirty ? ' (with uncommitted changes)' : ''}. ` +
      `Run took ${Math.round(r.seconds)} s.`,
    '',
  );
  out.push(`Options: \`${JSON.stringify(r.options)}\``, '');
  out.push('## Backends', '');
  out.push(
    table(
      ['backend', 'server', 'dataset', 'load avg', 'notes'],
      r.backends.map((b) => [
        b.name,
        b.skipped ? 'skipped' : `${b.serverVersion ?? ''} ${b.where ? `(${b.where})` : ''}`.trim(),
        b.skipped
          ? ''
          : !b.seeding
            ? 'loaded by each server at start'
            : b.seeding.reused
              ? 'reused'
              : `seeded in ${Math.round(b.seeding.seconds)} s (${num(b.seeding.rate)} messages/s)`,
        b.loadBefore === undefined ? '' : b.loadBefore.toFixed(2),
        [b.skipped ?? '', ...b.problems].filter(Boolean).join('; ').replaceAll('|', '\\|').replaceAll('\n', ' '),
      ]),
    ),
    '',
  );
  out.push('## Results', '');
  out.push(
    "req/s counts successful responses only; latencies are per request, in ms; peak RSS is the server process's high-water mark during that run. " +
      `✗ marks an L2/L1 ratio below its target (${TARGETS.readRatio} for reads, ${TARGETS.writeRatio} for writes).`,
    '',
  );
  out.push(mainTable(r), '');
  const deep = deepTable(r);
  if (deep) out.push('## Deep page vs newest page', '', deep, '');
  out.push(
    '## Targets',
    '',
    table(
      ['what', 'value', 'target', ''],
      verdicts(r).map((x) => [x.what, x.value, x.target, mark(x.met)]),
    ),
    '',
  );
  out.push(summary(r), '');
  const idle = r.backends.filter((b) => b.startRss);
  if (idle.length > 0) {
    out.push(
      '## Idle RSS after start (MB)',
      '',
      table(
        ['backend', 'L0', 'L1', 'L2'],
        idle.map((b) => [b.name, mb(b.startRss!.L0), mb(b.startRss!.L1), mb(b.startRss!.L2)]),
      ),
      '',
    );
  }
  out.push('## Operations', '', ...Object.entries(OP_DOC).map(([op, doc]) => `- \`${op}\`: ${doc}`), '');
  return out.join('\n');
}

/** Writes <date>-<mode>.md/.json and latest.md/.json under bench/results; returns the paths. */
export async function save(r: BenchResult): Promise<string[]> {
  await mkdir(RESULTS, { recursive: true });
  const stamp = r.startedAt.slice(0, 16).replace(':', '');
  const base = `${RESULTS}${stamp}-${r.mode}`;
  const md = markdown(r);
  const json = `${JSON.stringify(r, null, 2)}\n`;
  await writeFile(`${base}.md`, md);
  await writeFile(`${base}.json`, json);
  await writeFile(`${RESULTS}latest.md`, md);
  await writeFile(`${RESULTS}latest.json`, json);
  return [`${base}.md`, `${base}.json`, `${RESULTS}latest.md`];
}

/** Rewrites the Markdown of an earlier run from its JSON (after a change to the report's format). */
export async function rerender(jsonFile: string): Promise<string> {
  const r = JSON.parse(await readFile(jsonFile, 'utf8')) as BenchResult;
  const target = jsonFile.replace(/\.json$/, '.md');
  await writeFile(target, markdown(r));
  return target;
}

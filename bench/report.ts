import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BackendName } from './backends.js';
import type { Machine } from './machine.js';
import type { LoadResult } from './run.js';
import type { ScaleDimension } from './main.js';
import type { Variant } from './variants/spec.js';
import { OP_DOC, WRITE_OPS, type Op } from './workload.js';

/** The targets polystore is held to (issue 13), judged from the measurements of a run. */
export const TARGETS = {
  /** L2/L1 throughput for reads (list, get), at each of `ratioConnections`. */
  readRatio: 0.85,
  /** L2/L1 throughput for writes. */
  writeRatio: 0.8,
  ratioConnections: [10, 100],
  /** post-message L2 throughput ≥ this × L1-insert's, on these backends, at `ratioConnections`. */
  postOverInsert: 0.7,
  postOverInsertBackends: ['postgres', 'mariadb'] as BackendName[],
  /** list-conversations p50 at 10,000 conversations per user ≤ this × at 10. */
  inboxGrowth: { from: 10, to: 10_000, max: 1.3 },
  /** post-message p50 with 50 participants ≤ this × with 2. */
  crowdGrowth: { from: 2, to: 50, max: 1.5 },
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

/** A run of the scale table: one dimension at one value, everything else as in the main runs. */
export interface ScaleMeasurement extends LoadResult {
  backend: BackendName;
  dimension: ScaleDimension;
  value: number;
  op: Op;
  connections: number;
  variant: Variant;
  peakRss: number | null;
  /** Size of the probe's answer. */
  bytes: number;
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
  /** Absent in results written before the scale table existed. */
  scale?: ScaleMeasurement[];
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

function scaleFind(r: BenchResult, backend: BackendName, dimension: ScaleDimension, value: number, op: Op) {
  return (r.scale ?? []).find(
    (m) => m.backend === backend && m.dimension === dimension && m.value === value && m.op === op && m.variant === 'L2',
  );
}

const backendsOf = (r: BenchResult) => [...new Set(r.measurements.map((m) => m.backend))];

/** Every target, judged, for every backend and connection count it applies to that the run measured. */
export function verdicts(r: BenchResult): Verdict[] {
  const out: Verdict[] = [];
  for (const g of groups(r)) {
    if (!TARGETS.ratioConnections.includes(g.connections)) continue;
    const l1 = find(r, g.backend, g.op, g.connections, 'L1');
    const l2 = find(r, g.backend, g.op, g.connections, 'L2');
    if (!l1 || !l2) continue;
    const target = WRITE_OPS.has(g.op) ? TARGETS.writeRatio : TARGETS.readRatio;
    const value = ratio(l2.rps, l1.rps);
    out.push({
      what: `${g.backend} ${g.op} c=${g.connections}: L2/L1 req/s (${num(l2.rps)} / ${num(l1.rps)})`,
      value: num(value, 3),
      target: `≥ ${target}`,
      met: value >= target,
    });
  }
  for (const b of backendsOf(r)) {
    if (TARGETS.postOverInsertBackends.includes(b))
      for (const c of TARGETS.ratioConnections) {
        const l2 = find(r, b, 'post-message', c, 'L2');
        const floor = find(r, b, 'post-message', c, 'L1-insert');
        if (!l2 || !floor) continue;
        const value = ratio(l2.rps, floor.rps);
        out.push({
          what: `${b} post-message c=${c}: L2/L1-insert req/s (${num(l2.rps)} / ${num(floor.rps)})`,
          value: num(value, 3),
          target: `≥ ${TARGETS.postOverInsert}`,
          met: value >= TARGETS.postOverInsert,
        });
      }
    const growth = (dimension: ScaleDimension, op: Op, t: { from: number; to: number; max: number }, what: string) => {
      const from = scaleFind(r, b, dimension, t.from, op);
      const to = scaleFind(r, b, dimension, t.to, op);
      if (!from || !to) return;
      const value = ratio(to.p50, from.p50);
      out.push({
        what: `${b} ${what} (L2 p50 ${ms(to.p50)} / ${ms(from.p50)} ms, c=${to.connections})`,
        value: num(value, 3),
        target: `≤ ${t.max}`,
        met: value <= t.max,
      });
    };
    growth(
      'inbox',
      'list-conversations',
      TARGETS.inboxGrowth,
      `list-conversations p50 at ${num(TARGETS.inboxGrowth.to)} ÷ at ${num(TARGETS.inboxGrowth.from)} conversations per user`,
    );
    growth(
      'crowd',
      'post-message',
      TARGETS.crowdGrowth,
      `post-message p50 with ${TARGETS.crowdGrowth.to} ÷ with ${TARGETS.crowdGrowth.from} participants`,
    );
    for (const c of [...new Set(r.measurements.map((m) => m.connections))]) {
      const deep = find(r, b, 'list-deep', c, 'L2');
      const newest = find(r, b, 'list-newest', c, 'L2');
      if (!deep || !newest) continue;
      const value = ratio(deep.p50, newest.p50);
      out.push({
        what: `${b} c=${c}: deep p50 ÷ newest p50 (L2 ${ms(deep.p50)} / ${ms(newest.p50)} ms)`,
        value: num(value, 3),
        target: `≤ ${TARGETS.deepOverNewest}`,
        met: value <= TARGETS.deepOverNewest,
      });
    }
    const atLimit = [...r.measurements, ...(r.scale ?? [])].filter(
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
    const [l0, l1, l2, l1i] = (['L0', 'L1', 'L2', 'L1-insert'] as const).map((v) =>
      find(r, g.backend, g.op, g.connections, v),
    );
    const rps = (m?: Measurement) => (m ? num(m.rps) : '–');
    const lat = (m?: Measurement) => (m ? `${ms(m.p50)} / ${ms(m.p99)}` : '–');
    const target = WRITE_OPS.has(g.op) ? TARGETS.writeRatio : TARGETS.readRatio;
    const l2l1 = l1 && l2 ? ratio(l2.rps, l1.rps) : Number.NaN;
    const failures = [l0, l1, l2, l1i].reduce((n, m) => n + (m ? m.failed + m.errors : 0), 0);
    const floor = l1i && l2 ? ratio(l2.rps, l1i.rps) : Number.NaN;
    const judged = TARGETS.ratioConnections.includes(g.connections);
    const floorJudged = judged && TARGETS.postOverInsertBackends.includes(g.backend);
    return [
      g.backend,
      g.op,
      String(g.connections),
      rps(l0),
      rps(l1),
      rps(l2),
      Number.isFinite(l2l1) ? `${num(l2l1, 3)}${!judged || l2l1 >= target ? '' : ' ✗'}` : '–',
      l1i ? rps(l1i) : '',
      Number.isFinite(floor) ? `${num(floor, 3)}${!floorJudged || floor >= TARGETS.postOverInsert ? '' : ' ✗'}` : '',
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
      'L1-insert req/s',
      'L2/L1-insert',
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

const DIMENSION_DOC: Record<ScaleDimension | 'depth', string> = {
  inbox: 'conversations per user',
  crowd: 'participants per conversation',
  size: 'message size (bytes of text)',
  depth: 'messages below the newest',
  connections: 'connections',
};

/**
 * The scale table: per backend, each dimension's points with L2's (and where measured L1's)
 * throughput and latency, and L2's p50 relative to the dimension's first point. Depth and the
 * 10/100-connection points come from the main runs.
 */
export function scaleTable(r: BenchResult): string {
  type Row = {
    dimension: ScaleDimension | 'depth';
    value: string;
    op: Op;
    l1?: LoadLike;
    l2?: LoadLike;
    bytes?: number;
  };
  type LoadLike = { rps: number; p50: number; p99: number; peakRss: number | null; connections: number };
  const rows: string[][] = [];
  const deep = (r.options as { deep?: number }).deep;
  for (const b of backendsOf(r)) {
    const mine: Row[] = [];
    const scale = (r.scale ?? []).filter((m) => m.backend === b);
    const keys = [...new Set(scale.map((m) => `${m.dimension}|${m.value}|${m.op}`))];
    const base = (r.options as { connections?: number[] }).connections?.[0] ?? 10;
    for (const dimension of ['inbox', 'crowd', 'size', 'depth', 'connections'] as const) {
      if (dimension === 'depth') {
        for (const [op, value] of [
          ['list-newest', 'newest'],
          ['list-deep', deep === undefined ? 'deep' : num(deep)],
        ] as const) {
          const l2 = find(r, b, op, base, 'L2');
          if (l2)
            mine.push({
              dimension,
              value,
              op,
              l2,
              ...(find(r, b, op, base, 'L1') ? { l1: find(r, b, op, base, 'L1')! } : {}),
            });
        }
        continue;
      }
      if (dimension === 'connections') {
        for (const op of ['post-message', 'list-newest'] as const) {
          const main = [
            ...new Set(r.measurements.filter((m) => m.backend === b && m.op === op).map((m) => m.connections)),
          ];
          for (const c of main) {
            const l2 = find(r, b, op, c, 'L2');
            if (l2)
              mine.push({
                dimension,
                value: num(c),
                op,
                l2,
                ...(find(r, b, op, c, 'L1') ? { l1: find(r, b, op, c, 'L1')! } : {}),
              });
          }
          for (const m of scale.filter((x) => x.dimension === 'connections' && x.op === op && x.variant === 'L2')) {
            const l1 = scale.find(
              (x) => x.dimension === 'connections' && x.op === op && x.value === m.value && x.variant === 'L1',
            );
            mine.push({ dimension, value: num(m.value), op, l2: m, ...(l1 ? { l1 } : {}), bytes: m.bytes });
          }
        }
        continue;
      }
      for (const key of keys) {
        const [d, v, op] = key.split('|') as [ScaleDimension, string, Op];
        if (d !== dimension) continue;
        const at = (variant: Variant) =>
          scale.find((m) => m.dimension === d && String(m.value) === v && m.op === op && m.variant === variant);
        const l2 = at('L2');
        const l1 = at('L1');
        mine.push({
          dimension,
          value: num(Number(v)),
          op,
          ...(l2 ? { l2, bytes: l2.bytes } : {}),
          ...(l1 ? { l1 } : {}),
        });
      }
    }
    const first = new Map<string, number>();
    for (const row of mine) {
      // Depth compares the deep page with the newest (two operations); the others one operation's points.
      const key = row.dimension === 'depth' ? 'depth' : `${row.dimension}|${row.op}`;
      if (row.l2 && !first.has(key)) first.set(key, row.l2.p50);
      const growth = row.l2 ? ratio(row.l2.p50, first.get(key)!) : Number.NaN;
      rows.push([
        b,
        DIMENSION_DOC[row.dimension],
        row.value,
        row.op,
        row.l2 ? String(row.l2.connections) : '–',
        row.l2 ? num(row.l2.rps) : '–',
        row.l2 ? `${ms(row.l2.p50)} / ${ms(row.l2.p99)}` : '–',
        Number.isFinite(growth) ? `${num(growth, 2)}×` : '–',
        row.l1 ? num(row.l1.rps) : '',
        row.l1 ? `${ms(row.l1.p50)} / ${ms(row.l1.p99)}` : '',
        row.l1 && row.l2 ? num(ratio(row.l2.rps, row.l1.rps), 3) : '',
        row.l2 ? mb(row.l2.peakRss) : '–',
        row.bytes === undefined ? '' : num(row.bytes),
      ]);
    }
  }
  return rows.length === 0
    ? ''
    : table(
        [
          'backend',
          'dimension',
          'value',
          'op',
          'conn',
          'L2 req/s',
          'L2 p50/p99 ms',
          'L2 p50 vs first',
          'L1 req/s',
          'L1 p50/p99 ms',
          'L2/L1',
          'L2 peak RSS MB',
          'answer bytes',
        ],
        rows,
      );
}

/** Peak RSS of the polystore server per backend at 100 connections (main runs) and above (scale table). */
function rssTable(r: BenchResult): string {
  const rows: string[][] = [];
  const all = [...r.measurements, ...(r.scale ?? [])];
  for (const b of backendsOf(r)) {
    const counts = [
      ...new Set(
        all.filter((m) => m.backend === b && m.connections >= TARGETS.rssConnections).map((m) => m.connections),
      ),
    ].sort((x, y) => x - y);
    for (const c of counts) {
      const runs = all.filter(
        (m) => m.backend === b && m.variant === 'L2' && m.connections === c && m.peakRss !== null,
      );
      if (runs.length === 0) continue;
      const worst = runs.reduce((a, m) => (m.peakRss! > a.peakRss! ? m : a));
      rows.push([
        b,
        String(c),
        mb(worst.peakRss),
        worst.op,
        c === TARGETS.rssConnections ? mark(worst.peakRss! <= TARGETS.rssBytes) : '',
      ]);
    }
  }
  return rows.length === 0
    ? ''
    : table(
        [
          'backend',
          'conn',
          'L2 peak RSS MB',
          'worst op',
          `target ≤ ${mb(TARGETS.rssBytes)} MB at ${TARGETS.rssConnections}`,
        ],
        rows,
      );
}

export function summary(r: BenchResult): string {
  const v = verdicts(r);
  const missed = v.filter((x) => !x.met);
  const lines = [`Targets met: ${v.length - missed.length}/${v.length}.`];
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
      `✗ marks a ratio below its target at ${TARGETS.ratioConnections.join(' and ')} connections (L2/L1: ${TARGETS.readRatio} for reads, ${TARGETS.writeRatio} for writes; ` +
      `L2/L1-insert: ${TARGETS.postOverInsert} on ${TARGETS.postOverInsertBackends.join(' and ')}). L1-insert is a bare single-row INSERT of the message, measured for post-message.`,
    '',
  );
  out.push(mainTable(r), '');
  const deep = deepTable(r);
  if (deep) out.push('## Deep page vs newest page', '', deep, '');
  const scale = scaleTable(r);
  if (scale)
    out.push(
      '## Scale',
      '',
      'Each dimension grows with everything else as in the main runs (L2, and L1 where measured); "vs first" is L2\'s p50 over the ' +
        "dimension's first point. Depth and the main runs' connection counts come from the main table.",
      '',
      scale,
      '',
    );
  const rss = rssTable(r);
  if (rss) out.push('## Peak RSS of polystore', '', rss, '');
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

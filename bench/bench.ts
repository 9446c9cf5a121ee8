import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import type { Request } from 'autocannon';
import { DATA_DIR, resolveBackend, type Backend, type BackendName } from './backends.js';
import { buildServers } from './build.js';
import { ServerChild } from './child.js';
import { plan, scalePlan, type DatasetParams, type Plan, type ScalePlan } from './dataset.js';
import { describeMachine } from './machine.js';
import type { BenchOptions, ScaleDimension } from './main.js';
import { markdown, save, type BackendRun, type BenchResult } from './report.js';
import { load, probe, type LoadResult } from './run.js';
import { prepareDataset, restoreDataset, verifyDataset } from './seed.js';
import { VARIANTS, type ServerSpec, type ServerVariant, type Variant } from './variants/spec.js';
import {
  firstRequest,
  L1_INSERT_PREFIX,
  PAGE,
  postBodyOf,
  requestsFor,
  type Op,
  type RequestOptions,
} from './workload.js';

const log = (line: string) => console.log(line);
const mbOf = (bytes: number | null) => (bytes === null ? '–' : `${Math.round(bytes / 2 ** 20)} MB`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Checks one answer before loading a server with it; returns a problem, or null when it looks right. */
function checkProbe(op: Op, status: number, expected: number, text: string): string | null {
  if (status !== expected) return `answered ${status} (expected ${expected}): ${text.slice(0, 300)}`;
  try {
    const body = JSON.parse(text) as { data?: unknown[]; id?: string };
    if (op.startsWith('list-') && !Array.isArray(body.data)) return 'answered without a data array';
    if (op.startsWith('list-') && body.data!.length === 0) return 'answered an empty page';
  } catch {
    return 'answered with a body that is not JSON';
  }
  return null;
}

/** The ids of a listing's page, to check that L1 and L2 return the same rows. */
function pageIds(text: string): string {
  try {
    const body = JSON.parse(text) as { data?: { id: string }[]; id?: string };
    return body.data ? body.data.map((d) => d.id).join(',') : (body.id ?? '');
  } catch {
    return '';
  }
}

/** How one measured run is addressed: which server, which requests, and where the result goes. */
interface RunSpec {
  variant: Variant;
  child: ServerChild;
  requests: Request[];
  status: number;
  connections: number;
  /** Profile file name without the directory and extension (profiled only when given). */
  profileName?: string;
  /** Seconds to measure (default: the run's duration). */
  seconds?: number;
  /** Requests to measure instead of seconds. */
  amount?: number;
}

/** The measured runs of one backend, against its started servers. */
class Runner {
  constructor(
    private readonly backend: Backend,
    private readonly o: BenchOptions,
    private readonly run: BackendRun,
    private readonly profileDir: string | undefined,
  ) {}

  /** Probes one request, then warms the server up; returns the answer, or null (with the problem recorded). */
  async ready(
    label: string,
    child: ServerChild,
    op: Op,
    pl: Plan,
    ro: RequestOptions,
    warmup = this.o.warmup,
  ): Promise<string | null> {
    const { requests, status } = requestsFor(op, pl, ro);
    const answer = child.alive
      ? await probe(child.url, firstRequest(op, pl, ro)).catch((error: unknown) => ({
          status: 0,
          bytes: 0,
          text: message(error),
        }))
      : undefined;
    const problem = answer ? checkProbe(op, answer.status, status, answer.text) : 'the server is not running';
    if (problem) {
      this.run.problems.push(`${label} ${problem}`);
      log(`  [${this.backend.name}] ${label}: ${problem} — not measured`);
      return null;
    }
    // Warm-up: JIT, connection pools, caches; not recorded.
    await load(child.url, requests, status, this.o.connections[0]!, warmup);
    return answer!.text;
  }

  /** One measured run; null when the server is gone. */
  async measure(label: string, r: RunSpec): Promise<(LoadResult & { peakRss: number | null }) | null> {
    if (!r.child.alive) {
      this.run.problems.push(`${label}: the server exited (see bench/.data/logs/${this.backend.name}-*.log)`);
      return null;
    }
    const profiled = this.profileDir !== undefined && r.profileName !== undefined && r.variant !== 'L0';
    if (profiled) await r.child.profileStart();
    r.child.beginPeak();
    const result = await load(r.child.url, r.requests, r.status, r.connections, r.seconds ?? this.o.duration, r.amount);
    const peakRss = r.child.endPeak();
    if (profiled) await r.child.profileStop(`${this.profileDir}${r.profileName}.cpuprofile`);
    const failed = result.failed + result.errors;
    log(
      `  ${this.backend.name.padEnd(8)} ${label.padEnd(30)} c=${String(r.connections).padEnd(3)} ${r.variant.padEnd(9)}: ${Math.round(result.rps).toLocaleString('en-US').padStart(7)} req/s  ` +
        `p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  peak RSS ${mbOf(peakRss)}${failed ? `  (${failed} failed)` : ''}`,
    );
    return { ...result, peakRss };
  }
}

/** The scale table's points: one dimension grows, everything else stays as in the main runs. */
function scalePoints(o: BenchOptions, pl: Plan, sp: ScalePlan): ScalePointSpec[] {
  const base = o.connections[0]!;
  const points: ScalePointSpec[] = [];
  const want = new Set(o.scale.dimensions);
  if (want.has('inbox'))
    for (const n of o.scale.inboxes)
      points.push({
        dimension: 'inbox',
        value: n,
        op: 'list-conversations',
        connections: base,
        plan: { ...pl, listUsers: [sp.inboxUsers.get(n)!], listLimit: Math.min(PAGE, ...o.scale.inboxes) },
      });
  if (want.has('crowd'))
    for (const n of o.scale.crowds)
      points.push({
        dimension: 'crowd',
        value: n,
        op: 'post-message',
        connections: base,
        plan: { ...pl, postTargets: sp.crowdTargets.get(n)! },
      });
  if (want.has('size'))
    for (const bytes of o.scale.sizes) {
      points.push({
        dimension: 'size',
        value: bytes,
        op: 'post-message',
        connections: base,
        plan: pl,
        options: { body: postBodyOf(bytes) },
      });
      const target = sp.sizeTargets.get(bytes)!;
      points.push({
        dimension: 'size',
        value: bytes,
        op: 'list-newest',
        connections: base,
        plan: { ...pl, hotId: target.conversationId, hotOwner: target.userId },
      });
    }
  if (want.has('connections'))
    for (const c of o.scale.connections)
      for (const op of ['post-message', 'list-newest'] as const)
        points.push({ dimension: 'connections', value: c, op, connections: c, plan: pl });
  return points;
}

interface ScalePointSpec {
  dimension: ScaleDimension;
  value: number;
  op: Op;
  connections: number;
  plan: Plan;
  options?: RequestOptions;
}

/**
 * How long a scale point is measured. Most points: the scale table's seconds. Slow points (pages
 * of 50 × 200 KB, where one answer alone can take seconds; 500 connections to serve): a longer
 * run, or in quick a number of requests (SLOW_ANSWERS, at least one per connection), so the
 * point has enough answers for a p50 however busy the machine is.
 */
function measureOf(o: BenchOptions, point: ScalePointSpec): { seconds: number; amount?: number } {
  const slow = point.connections > 100 || (point.dimension === 'size' && point.value >= 100_000);
  if (!slow) return { seconds: o.scale.seconds };
  return o.quick
    ? { seconds: o.scale.slowSeconds, amount: Math.max(SLOW_ANSWERS, point.connections) }
    : { seconds: o.scale.slowSeconds };
}

const SLOW_ANSWERS = 20;
/** Fewer successful answers than this in a timed scale run, and it is measured again, three times as long. */
const MIN_ANSWERS = 20;

async function benchBackend(
  backend: Backend,
  o: BenchOptions,
  params: DatasetParams,
  run: BackendRun,
  out: BenchResult,
): Promise<void> {
  out.scale ??= [];
  const scaleOut = out.scale;
  const logDir = `${DATA_DIR}logs/`;
  const profileDir = o.profile ? `${DATA_DIR}profiles/` : undefined;
  await mkdir(logDir, { recursive: true });
  if (profileDir) await mkdir(profileDir, { recursive: true });

  if (backend.name !== 'memory') {
    const prepared = await prepareDataset(backend, params, log);
    run.seeding = prepared;
    log(
      prepared.reused
        ? `  [${backend.name}] dataset present: reused`
        : `  [${backend.name}] seeded in ${Math.round(prepared.seconds)} s (${Math.round(prepared.rate)} messages/s)`,
    );
    await verifyDataset(backend, params, o.deep);
  }

  const pl = plan(params, o.deep);
  const children = new Map<ServerVariant, ServerChild>();
  const runner = new Runner(backend, o, run, profileDir);
  try {
    // Started side by side; a server that fails to start stops the backend, the others are stopped in finally.
    const started = await Promise.allSettled(
      VARIANTS.map(async (variant) => {
        const spec: ServerSpec = {
          variant,
          type: backend.name,
          url: backend.url,
          poolSize: o.pool,
          logLevel: o.logLevel,
          params,
          deep: o.deep,
        };
        const child = await ServerChild.start(spec, {
          logFile: `${logDir}${backend.name}-${variant}.log`,
          readyTimeoutMs: 15 * 60_000,
          onLog: log,
        });
        children.set(variant, child);
      }),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    run.startRss = Object.fromEntries(VARIANTS.map((v) => [v, children.get(v)!.rss()]));
    log(
      `  [${backend.name}] servers up; idle RSS ${VARIANTS.map((v) => `${v} ${mbOf(children.get(v)!.rss())}`).join(', ')}`,
    );

    run.responseBytes = {};
    for (const op of o.ops) {
      // L1-insert (post-message only) runs on the L1 server, under its own path.
      const variants: Variant[] = op === 'post-message' ? [...VARIANTS, 'L1-insert'] : [...VARIANTS];
      const serverOf = (v: Variant) => children.get(v === 'L1-insert' ? 'L1' : v)!;
      const optionsOf = (v: Variant): RequestOptions => (v === 'L1-insert' ? { prefix: L1_INSERT_PREFIX } : {});
      const ready = new Set<Variant>();
      const answers = new Map<Variant, string>();
      for (const variant of variants) {
        const answer = await runner.ready(`${op} ${variant}`, serverOf(variant), op, pl, optionsOf(variant));
        if (answer === null) continue;
        run.responseBytes[op] ??= {};
        run.responseBytes[op][variant] = Buffer.byteLength(answer);
        answers.set(variant, answer);
        ready.add(variant);
      }
      // Memory servers hold separate copies, and earlier posts moved their conversation lists apart.
      if (
        (op === 'list-deep' || op === 'get-message' || (op === 'list-conversations' && backend.name !== 'memory')) &&
        answers.has('L1') &&
        answers.has('L2') &&
        pageIds(answers.get('L1')!) !== pageIds(answers.get('L2')!)
      ) {
        run.problems.push(`${op}: L1 and L2 returned different items`);
        log(`  [${backend.name}] ${op}: L1 and L2 returned different items`);
      }
      for (const connections of o.connections) {
        for (const variant of variants) {
          if (!ready.has(variant)) continue;
          const { requests, status } = requestsFor(op, pl, optionsOf(variant));
          const result = await runner.measure(op, {
            variant,
            child: serverOf(variant),
            requests,
            status,
            connections,
            profileName: `${backend.name}-${op}-c${connections}-${variant}`,
          });
          if (!result) {
            ready.delete(variant);
            continue;
          }
          out.measurements.push({ backend: backend.name, op, connections, variant, ...result });
        }
      }
    }

    const points = scalePoints(o, pl, scalePlan(params));
    if (points.length > 0) log(`  [${backend.name}] scale table: ${points.length} points`);
    for (const point of points) {
      const variants: ServerVariant[] = o.scale.l1 ? ['L1', 'L2'] : ['L2'];
      const label = `scale ${point.dimension}=${point.value} ${point.op}`;
      const answers = new Map<ServerVariant, string>();
      for (const variant of variants) {
        const child = children.get(variant)!;
        const answer = await runner.ready(
          `${label} ${variant}`,
          child,
          point.op,
          point.plan,
          point.options ?? {},
          o.scale.warmup,
        );
        if (answer === null) continue;
        answers.set(variant, answer);
        const { requests, status } = requestsFor(point.op, point.plan, point.options);
        const spec: RunSpec = {
          variant,
          child,
          requests,
          status,
          connections: point.connections,
          ...measureOf(o, point),
          profileName: `${backend.name}-scale-${point.dimension}-${point.value}-${point.op}-${variant}`,
        };
        let result = await runner.measure(label, spec);
        // Too few answers for a p50 (a busy machine, 500 connections still being served): once
        // more, three times as long.
        if (result && spec.amount === undefined && result.ok < MIN_ANSWERS) {
          const longer = Math.round(3 * spec.seconds! * 10) / 10;
          log(`  [${backend.name}] ${label}: ${result.ok} answers in ${spec.seconds} s; measuring ${longer} s`);
          result = await runner.measure(label, { ...spec, seconds: longer });
        }
        if (result)
          scaleOut.push({
            backend: backend.name,
            dimension: point.dimension,
            value: point.value,
            op: point.op,
            connections: point.connections,
            variant,
            bytes: Buffer.byteLength(answer),
            ...result,
          });
      }
      if (
        point.op.startsWith('list-') &&
        answers.has('L1') &&
        answers.has('L2') &&
        pageIds(answers.get('L1')!) !== pageIds(answers.get('L2')!)
      )
        run.problems.push(`${label}: L1 and L2 returned different items`);
    }
  } finally {
    for (const child of children.values()) await child.stop();
    await restoreDataset(backend, params).catch((error) =>
      run.problems.push(`restoring the dataset failed: ${message(error)}`),
    );
  }
}

export async function bench(o: BenchOptions): Promise<BenchResult> {
  const started = Date.now();
  const params: DatasetParams = {
    messages: o.messages,
    conversations: o.conversations,
    hot: o.hot,
    users: o.users,
    scale: { inboxes: o.scale.inboxes, crowds: o.scale.crowds, sizes: o.scale.sizes },
  };
  const result: BenchResult = {
    mode: o.quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    machine: describeMachine(),
    options: { ...o },
    backends: [],
    measurements: [],
    scale: [],
  };
  const runs = o.ops.length * VARIANTS.length + (o.ops.includes('post-message') ? 1 : 0);
  const points = scalePoints(o, plan(params, o.deep), scalePlan(params));
  const scaleRuns = points.length * (o.scale.l1 ? 2 : 1);
  const scaleSeconds =
    points.reduce((a, p) => a + o.scale.warmup + measureOf(o, p).seconds + 0.4, 0) * (o.scale.l1 ? 2 : 1);
  const perBackend = runs * (o.warmup + o.connections.length * (o.duration + 0.2)) + scaleSeconds;
  log(
    `polystore bench (${result.mode}): ${o.backends.join(', ')}; ${o.ops.length} operations × ${VARIANTS.length} variants (+ L1-insert) × connections ${o.connections.join(', ')}, ` +
      `${scaleRuns} scale runs; ${o.duration} s per run (+${o.warmup} s warm-up): about ${Math.ceil(perBackend / 6) / 10} min of load per backend reached`,
  );
  log(
    `dataset: ${o.messages.toLocaleString('en-US')} messages over ${o.conversations.toLocaleString('en-US')} conversations + a hot conversation of ${o.hot.toLocaleString('en-US')}; deep page at ${o.deep.toLocaleString('en-US')}`,
  );

  await buildServers(log);
  for (const name of o.backends as BackendName[]) {
    const run: BackendRun = { name, problems: [] };
    result.backends.push(run);
    const resolved = await resolveBackend(name);
    if (!resolved.ok) {
      run.skipped = resolved.reason;
      log(`\n[${name}] skipped: ${resolved.reason}`);
      continue;
    }
    run.serverVersion = resolved.backend.serverVersion;
    run.loadBefore = os.loadavg()[0]!;
    if (run.loadBefore > os.cpus().length)
      log(
        `  (1-minute load average ${run.loadBefore.toFixed(2)} on ${os.cpus().length} cores: the machine is busy; absolute numbers will be low and noisy)`,
      );
    run.where = resolved.backend.shownUrl;
    log(
      `\n[${name}] ${resolved.backend.serverVersion} — ${resolved.backend.shownUrl} (at ${Math.round((Date.now() - started) / 1000)} s)`,
    );
    try {
      await benchBackend(resolved.backend, o, params, run, result);
    } catch (error) {
      run.problems.push(`aborted: ${message(error)}`);
      log(`[${name}] aborted: ${message(error)}`);
    }
  }

  result.seconds = (Date.now() - started) / 1000;
  const files = await save(result);
  const md = markdown(result);
  log(`\n${md.slice(md.indexOf('## Results'))}`);
  log(
    `\nTotal ${Math.round(result.seconds)} s. Written: ${files.map((f) => f.slice(f.lastIndexOf('bench/'))).join(', ')}`,
  );
  return result;
}

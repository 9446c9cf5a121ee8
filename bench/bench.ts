import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { DATA_DIR, resolveBackend, type Backend, type BackendName } from './backends.js';
import { buildServers } from './build.js';
import { ServerChild } from './child.js';
import { plan, type DatasetParams } from './dataset.js';
import { describeMachine } from './machine.js';
import type { BenchOptions } from './main.js';
import { markdown, save, type BackendRun, type BenchResult, type Measurement } from './report.js';
import { load, probe } from './run.js';
import { prepareDataset, restoreDataset, verifyDataset } from './seed.js';
import { VARIANTS, type ServerSpec, type Variant } from './variants/spec.js';
import { firstRequest, requestsFor, type Op } from './workload.js';

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

async function benchBackend(
  backend: Backend,
  o: BenchOptions,
  params: DatasetParams,
  run: BackendRun,
  out: Measurement[],
): Promise<void> {
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
  const children = new Map<Variant, ServerChild>();
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
      const { requests, status } = requestsFor(op, pl);
      const ready = new Set<Variant>();
      const answers = new Map<Variant, string>();
      for (const variant of VARIANTS) {
        const child = children.get(variant)!;
        const answer = child.alive
          ? await probe(child.url, firstRequest(op, pl)).catch((error: unknown) => ({
              status: 0,
              bytes: 0,
              text: message(error),
            }))
          : undefined;
        const problem = answer ? checkProbe(op, answer.status, status, answer.text) : 'the server is not running';
        if (problem) {
          run.problems.push(`${op} ${variant} ${problem}`);
          log(`  [${backend.name}] ${op} ${variant}: ${problem} — not measured`);
          continue;
        }
        run.responseBytes[op] ??= {};
        run.responseBytes[op][variant] = answer!.bytes;
        answers.set(variant, answer!.text);
        ready.add(variant);
        // Warm-up: JIT, connection pools, caches; not recorded.
        await load(child.url, requestsFor(op, pl).requests, status, o.connections[0]!, o.warmup);
      }
      if (
        (op === 'list-deep' || op === 'get-message') &&
        answers.has('L1') &&
        answers.has('L2') &&
        pageIds(answers.get('L1')!) !== pageIds(answers.get('L2')!)
      ) {
        run.problems.push(`${op}: L1 and L2 returned different items`);
        log(`  [${backend.name}] ${op}: L1 and L2 returned different items`);
      }
      for (const connections of o.connections) {
        for (const variant of VARIANTS) {
          if (!ready.has(variant)) continue;
          const child = children.get(variant)!;
          if (!child.alive) {
            run.problems.push(
              `${variant} server exited during the runs (see bench/.data/logs/${backend.name}-${variant}.log)`,
            );
            ready.delete(variant);
            continue;
          }
          const profiled = profileDir !== undefined && variant !== 'L0';
          if (profiled) await child.profileStart();
          child.beginPeak();
          const result = await load(child.url, requests, status, connections, o.duration);
          const peakRss = child.endPeak();
          if (profiled)
            await child.profileStop(`${profileDir}${backend.name}-${op}-c${connections}-${variant}.cpuprofile`);
          out.push({ backend: backend.name, op, connections, variant, peakRss, ...result });
          const failed = result.failed + result.errors;
          log(
            `  ${backend.name.padEnd(8)} ${op.padEnd(19)} c=${String(connections).padEnd(3)} ${variant}: ${Math.round(result.rps).toLocaleString('en-US').padStart(7)} req/s  ` +
              `p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  peak RSS ${mbOf(peakRss)}${failed ? `  (${failed} failed)` : ''}`,
          );
        }
      }
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
  const params: DatasetParams = { messages: o.messages, conversations: o.conversations, hot: o.hot, users: o.users };
  const result: BenchResult = {
    mode: o.quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    machine: describeMachine(),
    options: { ...o },
    backends: [],
    measurements: [],
  };
  const perBackend = o.ops.length * VARIANTS.length * (o.warmup + o.connections.length * (o.duration + 0.2));
  log(
    `polystore bench (${result.mode}): ${o.backends.join(', ')}; ${o.ops.length} operations × ${VARIANTS.length} variants × connections ${o.connections.join(', ')}; ` +
      `${o.duration} s per run (+${o.warmup} s warm-up): about ${Math.ceil(perBackend / 6) / 10} min of load per backend reached`,
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
      await benchBackend(resolved.backend, o, params, run, result.measurements);
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

import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { FastifyInstance } from 'fastify';
import { buildL0 } from './variants/l0-bare.js';
import { buildL1 } from './variants/l1-driver.js';
import { buildL2 } from './variants/l2-polystore.js';
import type { ChildMessage, ServerSpec } from './variants/spec.js';

/**
 * The server child: one variant of one backend, on 127.0.0.1 and a free port. Runs in its own
 * process so its peak RSS is the server's alone. Talks to the parent over IPC: `ready` with the
 * port, `log` lines; `stop` closes it; `profile-start`/`profile-stop` record a V8 CPU profile
 * and a sampled allocation profile (`.heapprofile`) of one measured run. Exits when the parent goes away.
 */

type ParentMessage = { type: 'stop' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string };

let session: Session | undefined;

async function profile(message: ParentMessage): Promise<void> {
  if (message.type === 'profile-start') {
    session ??= new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
    // And where memory is allocated: every 32 KiB allocated, the stack, garbage included (what a
    // request allocates and drops is what the GC's share of the CPU profile pays for).
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 32768,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  } else if (message.type === 'profile-stop' && session) {
    const { profile: result } = await session.post('Profiler.stop');
    await writeFile(message.file, JSON.stringify(result));
    const { profile: heap } = await session.post('HeapProfiler.stopSampling');
    await writeFile(message.file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap));
    session.disconnect();
  }
  send({ type: 'profiled' });
}

const send = (message: ChildMessage) => process.send?.(message);

async function build(spec: ServerSpec): Promise<FastifyInstance> {
  const report = (line: string) => send({ type: 'log', line });
  switch (spec.variant) {
    case 'L0':
      return buildL0(spec.params, spec.deep);
    case 'L1':
      return buildL1(spec.type, spec.url, spec.poolSize, spec.params, report);
    case 'L2':
      return buildL2({ ...spec, report });
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_SERVER ?? '') as ServerSpec;
  let app: FastifyInstance;
  try {
    app = await build(spec);
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  }
  const address = app.server.address();
  send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Where the process's memory sits after its runs (RSS against V8's heap and native buffers).
    const mb = (n: number) => `${Math.round(n / 2 ** 20)} MB`;
    const m = process.memoryUsage();
    send({
      type: 'log',
      line: `${spec.variant} memory at stop: rss ${mb(m.rss)}, heap ${mb(m.heapUsed)} used of ${mb(m.heapTotal)}, external ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)})`,
    });
    await app.close().catch(() => undefined);
    // A normal exit, so --cpu-prof writes its profile.
    process.exit(0);
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') void stop();
    else void profile(message);
  });
  process.on('disconnect', () => void stop());
}

void main();

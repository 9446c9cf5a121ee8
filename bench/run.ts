import autocannon, { type Request } from 'autocannon';

/**
 * One load run with autocannon's programmatic API: `connections` connections, pipelining 1, for
 * `duration` seconds. Latencies are taken from autocannon's per-response event at full (sub-ms)
 * resolution, successes only; autocannon's own histogram rounds to whole milliseconds.
 */

export interface LoadResult {
  /** Successful (expected-status) responses per second. */
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  ok: number;
  /** Responses with another status, and connection errors/timeouts. */
  failed: number;
  errors: number;
  seconds: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function load(
  url: string,
  requests: Request[],
  expectStatus: number,
  connections: number,
  duration: number,
  /** Stop after this many requests instead of after `duration` (for points where one answer takes seconds). */
  amount?: number,
): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let failed = 0;
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    ...(amount === undefined ? { duration } : { amount }),
    timeout: 30,
    requests,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode !== expectStatus) {
      failed += 1;
      return;
    }
    if (n === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[n++] = responseTime;
  });
  const result = await instance;
  const sorted = latencies.slice(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    rps: n / result.duration,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: n > 0 ? sum / n : Number.NaN,
    ok: n,
    failed,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
  };
}

/** One request outside the load, to check the answer before measuring it. */
export async function probe(
  url: string,
  request: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
) {
  const response = await fetch(url + request.path, {
    method: request.method ?? 'GET',
    headers: request.headers ?? {},
    ...(request.body !== undefined
      ? { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) }
      : {}),
  });
  const text = await response.text();
  return { status: response.status, bytes: Buffer.byteLength(text), text };
}

// The soak's verdict and its report: latency, memory and event-loop delay per window, their least-squares slopes
// after warm-up, errors by kind, the injected faults and how they were answered, and the revocation checks.

import { SESSION_REVOCATION_MEMORY_MS } from '../src/session/revocations.js';
import { percentile, type WindowStats } from './soak-load.js';
import type { FaultTally, RevocationTally } from './soak-mix.js';

/**
 * RSS of the whole tree may grow at most this much per minute after warm-up. The tree (primary + 2 workers) sits
 * at a few hundred MiB; 1 MiB/min is 60 MiB an hour, a leak that fills a 512 MiB container within a working day,
 * while a settled heap (the token cache is bounded and full within the first minute of cold tokens) moves by far
 * less than that between full collections.
 */
export const RSS_SLOPE_LIMIT_MIB_PER_MIN = 1;
/** Below this much run after warm-up, a slope says more about the collector's timing than about a leak. */
export const MIN_JUDGED_MINUTES = 5;
/**
 * Warm-up of a long run: until the bounded memories are full. The longest is each process's view of ended PCR
 * sessions, which fills for SESSION_REVOCATION_MEMORY_MS at the steady logout rate and then stays level; judging
 * RSS before that would count a bound being reached as a leak.
 */
export const LONG_RUN_WARMUP_MINUTES = Math.max(3, SESSION_REVOCATION_MEMORY_MS / 60_000);

export interface Sample {
  rssMiB: number | null;
  /** V8 heap in use, summed over the workers (nodejs_heap_size_used_bytes): garbage not yet collected included. */
  heapUsedMiB: number | null;
  processes: number | null;
  eventLoopP99Ms: number | null;
  eventLoopMeanMs: number | null;
}

export interface WindowRow extends Sample {
  startMin: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
}

export function windowRow(w: WindowStats, seconds: number, sample: Sample): WindowRow {
  const sorted = Float64Array.from(w.latencies).sort();
  const round = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);
  return {
    startMin: Math.round((w.startedMs / 60_000) * 100) / 100,
    requests: w.requests,
    reqPerSec: Math.round(w.requests / seconds),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    errors: Object.values(w.errors).reduce((a, b) => a + b, 0),
    ...sample,
  };
}

/** Least-squares slope of value against minutes; null with fewer than two points. */
export function slopePerMinute(points: readonly { x: number; y: number | null }[]): number | null {
  const known = points.filter((p): p is { x: number; y: number } => p.y !== null);
  if (known.length < 2) return null;
  const mx = known.reduce((a, p) => a + p.x, 0) / known.length;
  const my = known.reduce((a, p) => a + p.y, 0) / known.length;
  const sxx = known.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (sxx === 0) return null;
  return Math.round((known.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx) * 1000) / 1000;
}

export interface Slopes {
  warmupMinutes: number;
  rssMiBPerMin: number | null;
  heapUsedMiBPerMin: number | null;
  eventLoopP99MsPerMin: number | null;
  p99MsPerMin: number | null;
  /** Whether the RSS slope is long enough to be judged against the limit. */
  judged: boolean;
}

export function slopes(rows: readonly WindowRow[], minutes: number): Slopes {
  const warmupMinutes = minutes >= 2 * LONG_RUN_WARMUP_MINUTES ? LONG_RUN_WARMUP_MINUTES : minutes >= 10 ? 3 : Math.round(minutes * 0.2 * 100) / 100;
  const after = rows.filter((r) => r.startMin >= warmupMinutes);
  const of = (pick: (r: WindowRow) => number | null) => slopePerMinute(after.map((r) => ({ x: r.startMin, y: pick(r) })));
  return { warmupMinutes, rssMiBPerMin: of((r) => r.rssMiB), heapUsedMiBPerMin: of((r) => r.heapUsedMiB), eventLoopP99MsPerMin: of((r) => r.eventLoopP99Ms), p99MsPerMin: of((r) => r.p99Ms), judged: minutes - warmupMinutes >= MIN_JUDGED_MINUTES };
}

export interface Verdict {
  failures: string[];
  unexpectedErrors: number;
}

export function verdict(input: { errors: Record<string, number>; faults: Record<string, FaultTally>; revocations: RevocationTally; lost: readonly string[]; lostCount: number; slopes: Slopes; setupFailures: readonly string[] }): Verdict {
  const failures = [...input.setupFailures];
  const unexpectedErrors = Object.values(input.errors).reduce((a, b) => a + b, 0);
  if (unexpectedErrors > 0) failures.push(`${unexpectedErrors} unexpected errors: ${Object.entries(input.errors).map(([k, n]) => `${k} ×${n}`).join('; ')}`);
  for (const [name, tally] of Object.entries(input.faults)) {
    const wrong = Object.entries(tally.answered).filter(([status]) => status !== String(tally.expected));
    if (tally.sent === 0) failures.push(`no ${name} fault was injected`);
    if (wrong.length > 0) failures.push(`${name} faults must be answered ${tally.expected}, got ${wrong.map(([s, n]) => `${s} ×${n}`).join(', ')}`);
  }
  for (const failure of input.revocations.failures) failures.push(`revocation: ${failure}`);
  if (input.lostCount > 0) failures.push(`lost sessions or grants: ${input.lostCount} (${input.lost.slice(0, 3).join('; ')})`);
  const rss = input.slopes.rssMiBPerMin;
  if (input.slopes.judged && rss !== null && rss > RSS_SLOPE_LIMIT_MIB_PER_MIN) failures.push(`RSS rises ${rss} MiB/min after warm-up (limit ${RSS_SLOPE_LIMIT_MIB_PER_MIN} MiB/min)`);
  return { failures, unexpectedErrors };
}

const cell = (v: number | null, width: number) => (v === null ? '-' : String(v)).padStart(width);

export function formatTable(rows: readonly WindowRow[]): string {
  const head = `${'min'.padStart(6)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'RSS MiB'.padStart(8)} ${'heap MiB'.padStart(8)} ${'procs'.padStart(5)} ${'loop p99 ms'.padStart(11)}`;
  const lines = rows.map((r) => `${cell(r.startMin, 6)} ${cell(r.reqPerSec, 7)} ${cell(r.p50Ms, 8)} ${cell(r.p99Ms, 8)} ${cell(r.errors, 7)} ${cell(r.rssMiB, 8)} ${cell(r.heapUsedMiB, 8)} ${cell(r.processes, 5)} ${cell(r.eventLoopP99Ms, 11)}`);
  return [head, ...lines].join('\n');
}

/** The V8 heap in use from a Prometheus exposition, in MiB, summed over every line (one per worker or aggregated). */
export function heapUsedFromMetrics(text: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.eE+-]+)/.exec(line);
    if (match && Number.isFinite(Number(match[1]))) total = (total ?? 0) + Number(match[1]);
  }
  return total === null ? null : Math.round((total / 2 ** 20) * 10) / 10;
}

/** The event-loop delay gauges from a Prometheus exposition (seconds), as milliseconds; the largest of any label set. */
export function eventLoopFromMetrics(text: string): { p99Ms: number | null; meanMs: number | null } {
  const read = (name: string) => {
    let best: number | null = null;
    for (const line of text.split('\n')) {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`).exec(line);
      if (match && Number.isFinite(Number(match[1]))) best = Math.max(best ?? 0, Number(match[1]) * 1000);
    }
    return best === null ? null : Math.round(best * 100) / 100;
  };
  return { p99Ms: read('nodejs_eventloop_lag_p99_seconds'), meanMs: read('nodejs_eventloop_lag_mean_seconds') };
}

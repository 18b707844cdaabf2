// The targets `npm run bench` checks, computed from the rows (and per-round runs) of one run, and the notes that
// say how far to trust them. A target whose scenarios did not run is left out.

import type { ScenarioResult } from '../src/cli/loadtest.js';
import { perRound, spread, type Spread } from './measure.js';
import { RSS_MARGIN_MIB, type MemoryResult } from './memory.js';

export interface Target {
  what: string;
  value: number | null;
  limit: number;
  atMost?: boolean;
  digits: number;
  /** How the value came about, or its min–max over the repeats. */
  detail?: string;
}

export interface TargetInput {
  rows: ReadonlyMap<string, ScenarioResult>;
  /** Every measured run of each scenario, round by round. */
  runs: ReadonlyMap<string, readonly ScenarioResult[]>;
  memory: MemoryResult | null;
}

const range = (s: Spread | null) => (s !== null && s.count > 1 ? `median of ${s.count} rounds, ${s.min.toFixed(2)}–${s.max.toFixed(2)}` : undefined);

export function computeTargets({ rows, runs, memory }: TargetInput): Target[] {
  const row = (name: string) => {
    const r = rows.get(name);
    return r !== undefined && r.rps > 0 ? r : undefined;
  };
  const ratio = (name: string) => row(name)?.ratio ?? null;
  const cpu = (name: string) => row(name)?.cpuUsPerRequest ?? null;
  const roundRatio = (a: string, b: string) => (row(a) && row(b) ? spread(perRound(runs.get(a) ?? [], runs.get(b) ?? [], (x, y) => x.rps / y.rps)) : null);
  const warm = row('bearer-warm');
  const nolog = cpu('bearer-warm-nolog');
  // Differences of runs measured back to back in the same round, so a drift of the machine cancels out.
  const logLine =
    warm && row('bearer-warm-nolog')
      ? spread(perRound(runs.get('bearer-warm') ?? [], runs.get('bearer-warm-nolog') ?? [], (x, y) => (x.cpuUsPerRequest ?? 0) - (y.cpuUsPerRequest ?? 0)))
      : null;
  const cold = roundRatio('bearer-cold', 'bearer-warm');
  const workerRps = roundRatio('workers-2', 'workers-1');
  const w1 = cpu('workers-1');
  const w2 = cpu('workers-2');
  const list: Target[] = [
    { what: 'bearer-warm proxy CPU ≤ 60 µs/request', value: cpu('bearer-warm'), limit: 60, atMost: true, digits: 1 },
    {
      what: 'bearer-warm req/s ≥ 1.5× haproxy-jwt',
      value: warm?.haproxyRatio ?? null,
      limit: 1.5,
      digits: 3,
      detail: warm?.haproxyRange ? `${warm.haproxyRange[0].toFixed(2)}–${warm.haproxyRange[1].toFixed(2)} over the rounds` : undefined,
    },
    { what: 'bearer-warm req/s ≥ 0.95× baseline', value: ratio('bearer-warm'), limit: 0.95, digits: 3 },
    { what: 'api-key req/s ≥ 0.95× baseline', value: ratio('api-key'), limit: 0.95, digits: 3 },
    { what: 'pcr-session req/s ≥ 0.95× baseline', value: ratio('pcr-session'), limit: 0.95, digits: 3 },
    { what: 'pcr-session-redis req/s ≥ 0.85× baseline', value: ratio('pcr-session-redis'), limit: 0.85, digits: 3 },
    { what: 'pcr-session-sqlite req/s ≥ 0.95× baseline', value: ratio('pcr-session-sqlite'), limit: 0.95, digits: 3 },
    { what: 'bearer-warm-sqlite req/s ≥ 0.95× baseline', value: ratio('bearer-warm-sqlite'), limit: 0.95, digits: 3 },
    { what: 'bearer-cold req/s ≥ 0.7× bearer-warm', value: cold?.median ?? null, limit: 0.7, digits: 3, detail: range(cold) },
    {
      what: 'request log line ≤ 5 µs',
      value: logLine?.median ?? null,
      limit: 5,
      atMost: true,
      digits: 1,
      detail:
        `median over ${logLine?.count ?? 0} rounds of bearer-warm − bearer-warm-nolog CPU per request` +
        (logLine !== null && logLine.count > 1 ? `, ${logLine.min.toFixed(1)} to ${logLine.max.toFixed(1)}` : '') +
        `; medians ${warm?.cpuUsPerRequest?.toFixed(1)} and ${nolog?.toFixed(1)} µs`,
    },
    {
      what: 'workers-2 proxy CPU per request ≤ 1.1× workers-1',
      value: w1 !== null && w2 !== null ? w2 / w1 : null,
      limit: 1.1,
      atMost: true,
      digits: 3,
      detail: `${w2?.toFixed(1)} µs vs ${w1?.toFixed(1)} µs, summed over the primary and its workers`,
    },
    { what: 'workers-2 req/s ≥ 1.3× workers-1', value: workerRps?.median ?? null, limit: 1.3, digits: 3, detail: range(workerRps) },
  ];
  if (memory !== null && memory.retained.length >= 2) {
    const limit = memory.cacheBoundMiB + RSS_MARGIN_MIB;
    list.push({
      what: `memory RSS growth ≤ cache bound ${memory.cacheBoundMiB.toFixed(1)} MiB + ${RSS_MARGIN_MIB} MiB`,
      value: memory.rssPeakMiB - memory.rssBeforeMiB,
      limit,
      atMost: true,
      digits: 1,
      detail: `MiB: ${memory.rssBeforeMiB.toFixed(0)} before the first token, peak ${memory.rssPeakMiB.toFixed(0)}`,
    });
  }
  return list.filter((t) => t.value !== null && Number.isFinite(t.value));
}

export const met = (t: Target) => (t.value === null ? null : t.atMost ? t.value <= t.limit : t.value >= t.limit);

export function formatTargets(targets: readonly Target[]): string {
  if (targets.length === 0) return '  (none of the scenarios they need ran)';
  return targets.map((t) => `  ${met(t) ? 'met    ' : 'MISSED '} ${t.what}: ${t.value!.toFixed(t.digits)}${t.detail ? ` (${t.detail})` : ''}`).join('\n');
}

/** What the workers rows can and cannot say on a machine with few cores. */
export function workersNote(rows: ReadonlyMap<string, ScenarioResult>, cores: number): string | null {
  const w2 = rows.get('workers-2')?.cpuUsPerRequest ?? null;
  if (w2 === null || w2 <= 0) return null;
  const perCore = 1e6 / w2;
  return (
    `workers: this machine has ${cores} core${cores === 1 ? '' : 's'}, shared by the proxy's processes, the load generator, the upstream and Redis, ` +
    `so ${cores <= 2 ? 'two workers cannot each have a core and workers-2 req/s shows little of how the proxy scales' : 'the req/s ratio is bounded by what the load generator leaves'}. ` +
    `Per-request CPU says more: at ${w2.toFixed(1)} µs per request one core serves ${perCore.toFixed(0)} req/s (1e6 / CPU µs per request), ` +
    `so a 4-core machine running workers: 4 with the load generated elsewhere would serve about ${(4 * perCore).toFixed(0)} req/s.`
  );
}

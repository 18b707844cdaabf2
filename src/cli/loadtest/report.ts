// The results table `portcullis loadtest` and `npm run bench` print, and the row each measured scenario
// becomes in it.

import type autocannon from 'autocannon';
import type { ProcessReading } from './process-readings.js';

export interface ScenarioResult {
  scenario: string;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts plus answers that were not the expected status. */
  errors: number;
  /** Proxy CPU time per completed request, in microseconds; null when the proxy process is not local. */
  cpuUsPerRequest: number | null;
  /** Share of one core the proxy used during the run (1 = saturated). */
  cpuShare: number | null;
  rssBytes: number | null;
  /** req/s relative to the baseline measured in the same run. */
  ratio: number | null;
  /** Min–max of `ratio` over the repeats, when the row is the median of several runs. */
  ratioRange?: [number, number];
  /** req/s relative to the haproxy-jwt comparator measured in the same run (the benchmark only). */
  haproxyRatio?: number | null;
  haproxyRange?: [number, number];
  /** How many measured runs the row summarises. */
  runs?: number;
  note?: string;
}

const MIB = 1024 * 1024;

/** A ratio, with the min–max over the repeats after it when they differ. */
function ratioCell(ratio: number | null | undefined, range: [number, number] | undefined): string {
  if (ratio === null || ratio === undefined) return '';
  if (range === undefined || range[1] - range[0] < 0.0005) return ratio.toFixed(3);
  return `${ratio.toFixed(3)} (${range[0].toFixed(2)}–${range[1].toFixed(2)})`;
}

export function formatTable(rows: readonly ScenarioResult[]): string {
  // The comparator column only where some row has a comparator to be compared with (the benchmark's table).
  const haproxy = rows.some((r) => r.haproxyRatio !== undefined);
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU core', 'RSS MiB', '× baseline', ...(haproxy ? ['× haproxy-jwt'] : []), 'errors'];
  const body = rows.map((r) => [
    r.scenario,
    r.rps.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.cpuUsPerRequest === null ? 'n/a' : r.cpuUsPerRequest.toFixed(1),
    r.cpuShare === null ? 'n/a' : `${(r.cpuShare * 100).toFixed(0)}%`,
    r.rssBytes === null ? 'n/a' : (r.rssBytes / MIB).toFixed(1),
    ratioCell(r.ratio, r.ratioRange),
    ...(haproxy ? [ratioCell(r.haproxyRatio, r.haproxyRange)] : []),
    r.errors === 0 ? '0' : `${r.errors} (${((100 * r.errors) / Math.max(1, r.requests)).toFixed(1)}%)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.scenario}: ${r.note}`);
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** Turns an autocannon result and the proxy's readings into one table row. */
export function scenarioResult(
  scenario: string,
  result: autocannon.Result,
  proxy: { before: ProcessReading | null; after: ProcessReading | null; peakRss: number | null },
  expectedStatus: (status: number) => boolean = (s) => s >= 200 && s < 300,
): ScenarioResult {
  const completed = result.requests.total;
  const seconds = result.duration;
  let unexpected = 0;
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    if (!expectedStatus(Number(code))) unexpected += stats.count ?? 0;
  }
  const cpu = proxy.before && proxy.after ? proxy.after.cpuSeconds - proxy.before.cpuSeconds : null;
  return {
    scenario,
    requests: completed,
    seconds,
    rps: completed / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + unexpected,
    cpuUsPerRequest: cpu === null || completed === 0 ? null : (cpu * 1e6) / completed,
    cpuShare: cpu === null ? null : cpu / seconds,
    rssBytes: proxy.peakRss,
    ratio: null,
  };
}

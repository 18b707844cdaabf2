// One measured load run and what is read around it: autocannon at a URL, the CPU time and peak RSS of the
// process tree serving it (from /proc), how much of a core the load generator used, and how much CPU the rest of
// the machine used meanwhile (other work on a shared machine competes with the proxy and the load generator
// alike). And how the runs of a scenario become one table row.

import autocannon from 'autocannon';
import { readProcess, scenarioResult, type ScenarioResult } from '../src/cli/loadtest.js';
import { machineBusySeconds } from './harness.js';
import { readTree, watchTreeRss } from './process-tree.js';
import type { Load } from './scenarios.js';

/** A share of a core used by other processes above which a run counts as disturbed. */
const DISTURBED = 0.1;

export class Measurer {
  /** Share of a core other processes used during each run, by label (the last run of that label). */
  readonly otherLoad: Record<string, number> = {};
  /** Share of a core the load generator (autocannon and the upstream, this process) used: near 1, it was the limit. */
  readonly loadGeneratorShare: Record<string, number> = {};
  readonly #others = new WeakMap<ScenarioResult, number>();

  constructor(private readonly options: { connections: number; progressBar: boolean }) {}

  /** One autocannon run; `amount` bounds runs whose credentials are finite, `seconds` bounds every run. */
  cannon(url: string, load: Load, seconds: number, amount?: number): Promise<autocannon.Result> {
    const connections = this.options.connections;
    return new Promise((resolve, reject) => {
      const options: autocannon.Options = { url, connections, pipelining: 1, duration: seconds, requests: [load.request] };
      if (amount !== undefined) options.amount = Math.max(connections, amount);
      if (load.reconnectRate !== undefined) options.reconnectRate = load.reconnectRate;
      const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
        clearTimeout(timer);
        if (error) reject(error as Error);
        else resolve(result);
      });
      // With an amount autocannon ignores the duration; the time bound still holds.
      const timer = setTimeout(() => instance.stop(), seconds * 1000 + 250);
      if (this.options.progressBar) autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false, outputStream: process.stderr });
    });
  }

  /** `run` with the readings of the process tree `pid` around it (and of Redis, whose CPU is ours too). */
  async measured(pid: number, label: string, redisPid: number | null, run: () => Promise<autocannon.Result>): Promise<ScenarioResult> {
    const machineBefore = machineBusySeconds();
    const selfBefore = process.cpuUsage();
    const redisBefore = redisPid === null ? null : readProcess(redisPid);
    const before = readTree(pid);
    const rss = watchTreeRss(pid);
    const result = await run();
    const after = readTree(pid);
    const peakRss = rss.stop();
    const self = process.cpuUsage(selfBefore);
    const redisAfter = redisPid === null ? null : readProcess(redisPid);
    const machineAfter = machineBusySeconds();
    const row = scenarioResult(label, result, { before, after, peakRss });
    const selfSeconds = (self.user + self.system) / 1e6;
    this.loadGeneratorShare[label] = selfSeconds / result.duration;
    if (machineBefore !== null && machineAfter !== null && before && after) {
      const ours = after.cpuSeconds - before.cpuSeconds + selfSeconds + (redisBefore && redisAfter ? redisAfter.cpuSeconds - redisBefore.cpuSeconds : 0);
      const others = (machineAfter - machineBefore - ours) / result.duration;
      this.otherLoad[label] = others;
      this.#others.set(row, others);
      if (others > DISTURBED) row.note = `other processes used ${(others * 100).toFixed(0)}% of a core during this run: numbers are disturbed`;
    }
    return row;
  }

  /**
   * The row of a scenario measured `runs.length` times: the run with the median req/s (so one disturbed run
   * neither makes nor breaks a result), with CPU per request and core share the medians over all runs and RSS
   * the peak of all. A note says how many runs other processes disturbed.
   */
  combine(runs: ScenarioResult[]): ScenarioResult {
    if (runs.length === 1) return { ...runs[0]!, runs: 1 };
    const row: ScenarioResult = { ...median(runs, (r) => r.rps), runs: runs.length };
    row.cpuUsPerRequest = medianOrNull(runs.map((r) => r.cpuUsPerRequest));
    row.cpuShare = medianOrNull(runs.map((r) => r.cpuShare));
    row.rssBytes = runs.some((r) => r.rssBytes !== null) ? Math.max(...runs.map((r) => r.rssBytes ?? 0)) : null;
    row.errors = runs.reduce((sum, r) => sum + r.errors, 0);
    row.requests = runs.reduce((sum, r) => sum + r.requests, 0);
    const disturbed = runs.map((r) => this.#others.get(r) ?? 0).filter((share) => share > DISTURBED);
    delete row.note;
    if (disturbed.length > 0) {
      row.note = `other processes used up to ${(Math.max(...disturbed) * 100).toFixed(0)}% of a core during ${disturbed.length} of ${runs.length} runs: numbers are disturbed`;
    }
    return row;
  }
}

/** The element with the median key (the lower middle one of an even count). */
export function median<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The median of numbers (the mean of the middle two of an even count). */
export function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
}

export function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : middle(present);
}

/** Median and min–max of per-round values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  count: number;
}

export function spread(values: readonly number[]): Spread | null {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return null;
  return { median: middle(finite), min: Math.min(...finite), max: Math.max(...finite), count: finite.length };
}

/** Pairs two runs lists round by round: f(a[i], b[i]) for the rounds both have. */
export function perRound<T>(a: readonly ScenarioResult[], b: readonly ScenarioResult[], f: (x: ScenarioResult, y: ScenarioResult) => T): T[] {
  return Array.from({ length: Math.min(a.length, b.length) }, (_, i) => f(a[i]!, b[i]!));
}

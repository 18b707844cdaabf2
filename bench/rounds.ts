// The measured rounds of a group of scenarios whose proxies are all up. Each round measures, for each scenario in
// turn: the public route on that scenario's own proxy (its "× baseline" pair), the scenario, and then the
// haproxy-jwt comparator (its "× haproxy-jwt" pair). Pairs measured back to back share whatever else the machine
// was doing at that moment, so per-round ratios drift far less than the req/s themselves; a row reports the
// median of its per-round ratios and their min–max.

import type { ScenarioResult } from '../src/cli/loadtest.js';
import { HAPROXY_JWT, type Haproxy } from './haproxy.js';
import { perRound, spread, type Measurer } from './measure.js';
import type { Load, Scenario } from './scenarios.js';

export const PUBLIC_LOAD: Load = { request: { method: 'GET', path: '/public/tickets' } };

/** A scenario whose proxy runs and whose load is prepared. */
export interface Running {
  scenario: Scenario;
  url: string;
  pid: number;
  load: Load;
  /** The proxy child's windowed profiler; the command-line cluster has none. */
  profiler?: { start(): Promise<void>; stop(file: string): Promise<void> };
}

export interface GroupEnv {
  measurer: Measurer;
  duration: number;
  warmup: number;
  repeat: number;
  connections: number;
  haproxy: Haproxy | null;
  /** Warms haproxy and the load generator's path to it, once per bench run. */
  warmHaproxy(): Promise<void>;
  redisPid: number | null;
  /** The first measured scenario of the run also warms the load generator itself. */
  firstOfRun: boolean;
  /** Where round 0 of a scenario is profiled to, or null for no profile. */
  profileFile(name: string): string | null;
}

export interface GroupResult {
  row: ScenarioResult;
  runs: ScenarioResult[];
  /** The public-route runs paired with `runs`, round by round. */
  bases: ScenarioResult[];
  /** The haproxy-jwt runs measured right after each of `runs`. */
  haproxy: ScenarioResult[];
  profile: string | null;
}

/** The cluster scenarios are unpinned, with a placement unlike haproxy's: no comparator pair for them. */
export const pairsWithHaproxy = (scenario: Scenario) => scenario.workers === undefined && !scenario.curve;

export async function runGroup(members: Running[], env: GroupEnv): Promise<GroupResult[]> {
  const m = env.measurer;
  const paired = (s: Scenario) => s.name !== 'baseline';
  const haproxy = (s: Scenario) => (env.haproxy !== null && pairsWithHaproxy(s) ? env.haproxy : null);
  let first = env.firstOfRun;
  if (env.warmup > 0) {
    for (const r of members) {
      if (paired(r.scenario)) await m.cannon(r.url, PUBLIC_LOAD, env.warmup);
      // A cold autocannon sends less, and at a lower rate the proxy batches less per event-loop turn and pays
      // more CPU per request: the first scenario warms longer.
      await m.cannon(r.url, r.load, first ? env.warmup * 3 : env.warmup, r.load.amount);
      first = false;
    }
  }
  if (members.some((r) => haproxy(r.scenario) !== null)) await env.warmHaproxy();
  const results = members.map((): GroupResult & { done: boolean } => ({ row: null!, runs: [], bases: [], haproxy: [], profile: null, done: false }));
  for (let round = 0; round < env.repeat; round++) {
    for (const [i, r] of members.entries()) {
      const res = results[i]!;
      const name = r.scenario.name;
      const remaining = r.load.amount === undefined ? undefined : r.load.amount - (r.load.progress?.() ?? 0) - env.connections;
      if (res.done || (remaining !== undefined && remaining < env.connections * 10)) {
        res.done = true;
        continue;
      }
      const redis = r.scenario.store === 'redis' ? env.redisPid : null;
      if (paired(r.scenario)) res.bases.push(await m.measured(r.pid, `${name} (baseline)`, redis, () => m.cannon(r.url, PUBLIC_LOAD, env.duration)));
      const profile = round === 0 && r.profiler ? env.profileFile(name) : null;
      if (profile !== null) await r.profiler!.start();
      const one = await m.measured(r.pid, name, redis, () => m.cannon(r.url, r.load, env.duration, remaining));
      if (profile !== null) {
        await r.profiler!.stop(profile);
        res.profile = profile;
      }
      if (remaining !== undefined && one.seconds < env.duration - 0.5) {
        const note = `ran out of distinct tokens after ${one.seconds.toFixed(1)}s (raise --cold-tokens)`;
        one.note = one.note ? `${note}; ${one.note}` : note;
      }
      res.runs.push(one);
      const comparator = haproxy(r.scenario);
      if (comparator !== null) res.haproxy.push(await m.measured(comparator.pid, `${HAPROXY_JWT} (beside ${name})`, null, () => m.cannon(comparator.url, comparator.load, env.duration)));
    }
  }
  return members.map((r, i) => {
    const res = results[i]!;
    if (res.runs.length === 0) {
      res.row = { scenario: r.scenario.name, requests: 0, seconds: 0, rps: 0, p50Ms: 0, p99Ms: 0, errors: 0, cpuUsPerRequest: null, cpuShare: null, rssBytes: null, ratio: null };
      res.row.note = 'not measured: too few distinct tokens left after the warm-up (raise --cold-tokens)';
      return res;
    }
    const row = m.combine(res.runs);
    const vsBase = paired(r.scenario) ? spread(perRound(res.runs, res.bases, (a, b) => a.rps / b.rps)) : null;
    row.ratio = paired(r.scenario) ? (vsBase?.median ?? null) : 1;
    if (vsBase !== null && vsBase.count > 1) row.ratioRange = [vsBase.min, vsBase.max];
    if (haproxy(r.scenario) !== null) {
      const vsHaproxy = spread(perRound(res.runs, res.haproxy, (a, b) => a.rps / b.rps));
      row.haproxyRatio = vsHaproxy?.median ?? null;
      if (vsHaproxy !== null && vsHaproxy.count > 1) row.haproxyRange = [vsHaproxy.min, vsHaproxy.max];
    }
    res.row = row;
    return res;
  });
}

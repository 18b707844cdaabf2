// `npm run soak`: the proxy under a steady mixed load for a long time, as operators run it (the `portcullis`
// command, `workers: 2`, the Redis store), in front of an upstream that now and then answers too late or resets
// the connection. A short ramp finds the rate the proxy sustains; the soak then runs at 80% of it for `--minutes`
// and fails on any unexpected error, a fault not answered 502/504, a revoked credential still accepted, a live
// session or grant refused, or an RSS that keeps rising after warm-up. See bench/README.md.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashSecret } from '../src/secrets/hash.js';
import { generateSigningKey } from '../src/tokens/keyring.js';
import { API_USER, benchConfig, CLIENT, KID, OPERATOR, SIGNING_KEY_ENV } from './bench-config.js';
import { startCliProxy } from './cluster-proxy.js';
import { BENCH_DIR, buildForBench, freePort, placement, startRedis } from './harness.js';
import { readTree } from './process-tree.js';
import { caller, drive, percentile, Recorder } from './soak-load.js';
import { SoakMix, WEIGHTS, type MixContext } from './soak-mix.js';
import { parseSoakOptions } from './soak-options.js';
import { eventLoopFromMetrics, formatTable, heapUsedFromMetrics, RSS_SLOPE_LIMIT_MIB_PER_MIN, slopes, verdict, windowRow, type Sample, type WindowRow } from './soak-report.js';
import { startSoakUpstream } from './soak-upstream.js';

const o = parseSoakOptions(process.argv.slice(2));
const log = (line: string) => process.stderr.write(`${line}\n`);
const tmp = mkdtempSync(join(tmpdir(), 'portcullis-soak-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
// Interrupted or stopped: exit, so the 'exit' handlers stop the proxy and Redis.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const UPSTREAM_TIMEOUT_MS = 1000;
const redis = await startRedis(placement(false));
if (redis === null) {
  console.error('soak: no redis-server on PATH; the soak runs on the Redis store');
  process.exit(2);
}
const upstream = await startSoakUpstream(UPSTREAM_TIMEOUT_MS * 2);
const adminToken = `soak-admin-${process.pid}-${Date.now().toString(36)}`;
const [client, operator, apiUser, admin] = await Promise.all([hashSecret(CLIENT.secret), hashSecret(OPERATOR.password), hashSecret(API_USER.password), hashSecret(adminToken)]);
const signing = generateSigningKey('ES256', KID).privateKey;
const adminPort = await freePort();
const config = benchConfig({ upstreamUrl: upstream.url, engine: null, requestLog: true, alg: 'ES256', hashes: { client: client!, operator: operator!, apiUser: apiUser! }, redisUrl: redis.url, redisPrefix: `portcullis-soak:${process.pid}:`, cacheSize: 10_000, workers: 2 });
config['upstream'] = { ...(config['upstream'] as object), timeout: `${UPSTREAM_TIMEOUT_MS}ms` };
config['admin'] = { host: '127.0.0.1', port: adminPort, tokens: [{ name: 'soak', role: 'manage', token: admin }] };
const build = o.build ? buildForBench() : null;
if (o.build && build === null) log('could not compile src/: the proxy runs from src/ through tsx');
// The heap bound deploy/kubernetes sets: RSS then shows what the proxy keeps, not how lazily V8 collects a heap
// allowed to grow to gigabytes.
const HEAP_BOUND = '--max-old-space-size=160';
const proxyEnv = { [SIGNING_KEY_ENV]: signing.export({ format: 'pem', type: 'pkcs8' }) as string, NODE_OPTIONS: HEAP_BOUND };
const proxy = await startCliProxy({ name: 'soak', dir: tmp, config, env: proxyEnv, build, workers: 2 });
const adminUrl = `http://127.0.0.1:${adminPort}`;
const maxInFlight = o.connections * 2;
const warmup = new Recorder();
const ctx: MixContext = { proxy: caller(proxy.url, o.connections, warmup), proxyUrl: proxy.url, adminUrl, adminToken, recorder: warmup, signingKey: signing };
const mix = await SoakMix.prepare(ctx);

// A few seconds first so the ramp's first step does not measure startup (connections, compilation, caches).
await drive(20, Math.min(3, o.rampSeconds / 2), () => mix.next(), maxInFlight);
await ctx.proxy.close();

// The ramp: each step a higher rate, until one is not sustained (an error, p99 over the bound, or more due than
// the connections can carry); the capacity is the last rate that was.
// Steps of 3 s at most, as many as --ramp-seconds holds; the ramp ends at the first rate not sustained (twice), so
// on a fast machine it still reaches the capacity (×1.6 per step: 16 steps go from 25 to beyond 25 000 ops/s).
const rampSteps = Math.max(3, Math.floor(o.rampSeconds / 3));
const stepSeconds = o.rampSeconds / rampSteps;
const ramp: { opsPerSec: number; reqPerSec: number; p50Ms: number | null; p99Ms: number | null; errors: number; behind: number; sustained: boolean }[] = [];
let rate = 25;
let capacity = 0;
let retried = false;
for (let i = 0; i < rampSteps; i++) {
  const recorder = new Recorder();
  ctx.recorder = recorder;
  ctx.proxy = caller(proxy.url, o.connections, recorder);
  recorder.start();
  const result = await drive(rate, stepSeconds, () => mix.next(), maxInFlight);
  const w = recorder.roll();
  await ctx.proxy.close();
  const sorted = Float64Array.from(w.latencies).sort();
  const errors = Object.values(w.errors).reduce((a, b) => a + b, 0);
  const step = { opsPerSec: rate, reqPerSec: Math.round(w.requests / stepSeconds), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), errors, behind: result.behind, sustained: false };
  step.sustained = errors === 0 && result.behind === 0 && step.p99Ms !== null && step.p99Ms < o.p99Ms;
  ramp.push(step);
  log(`ramp ${rate} ops/s: ${step.reqPerSec} req/s, p99 ${step.p99Ms?.toFixed(1)} ms, ${errors} errors, ${result.behind} behind${step.sustained ? '' : ' (not sustained)'}`);
  // One step missed on a busy machine may be a hiccup: the same rate once more before the ramp ends.
  if (!step.sustained && !retried) {
    retried = true;
    continue;
  }
  if (!step.sustained) break;
  retried = false;
  capacity = rate;
  rate = Math.round(rate * 1.6);
}
const setupFailures: string[] = Object.entries(warmup.errors).map(([kind, n]) => `during warm-up: ${kind} ×${n}`);
const notes: string[] = [];
// A machine too busy for even the first step is not the proxy's failure: the soak still runs, slower.
if (capacity === 0) notes.push(`the ramp found no sustained rate (p99 under ${o.p99Ms} ms, no errors) even at ${ramp[0]?.opsPerSec} ops/s; soaking at 80% of half of it`);
const soakRate = Math.max(10, Math.round((capacity || ramp[0]!.opsPerSec / 2) * 0.8));

// The soak itself.
const seconds = o.minutes * 60;
const windowSeconds = o.minutes >= 5 ? 60 : Math.max(3, seconds / 5);
const recorder = new Recorder();
ctx.recorder = recorder;
ctx.proxy = caller(proxy.url, o.connections, recorder);
const scrape = async (): Promise<Sample> => {
  const tree = readTree(proxy.pid);
  let loop: { p99Ms: number | null; meanMs: number | null } = { p99Ms: null, meanMs: null };
  let heapUsedMiB: number | null = null;
  try {
    const response = await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    const text = await response.text();
    loop = eventLoopFromMetrics(text);
    heapUsedMiB = heapUsedFromMetrics(text);
  } catch (error) {
    setupFailures.push(`scraping /metrics failed: ${(error as Error).message}`);
  }
  const rssMiB = tree === null ? null : Math.round((tree.rssBytes / 2 ** 20) * 10) / 10;
  return { rssMiB, heapUsedMiB, processes: tree?.processes ?? null, eventLoopP99Ms: loop.p99Ms, eventLoopMeanMs: loop.meanMs };
};
const rows: Promise<WindowRow>[] = [];
const background: Promise<void>[] = [];
const faultEvery = Math.min(30, seconds / 3) * 1000;
const revokeEvery = Math.min(20, seconds / 4) * 1000;
let nextWindow = windowSeconds * 1000;
let nextFault = faultEvery / 2;
let nextRevoke = revokeEvery / 2;
log(`soak: ${soakRate} ops/s (80% of ${capacity}) for ${o.minutes} min, a row every ${windowSeconds} s`);
recorder.start();
const run = await drive(soakRate, seconds, () => mix.next(), maxInFlight, () => {
  const now = recorder.elapsedMs;
  if (now >= nextWindow) {
    nextWindow += windowSeconds * 1000;
    const w = recorder.roll();
    const row = scrape().then((sample) => windowRow(w, windowSeconds, sample));
    rows.push(row);
    void row.then((r) => log(`${r.startMin} min: ${r.reqPerSec} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors, RSS ${r.rssMiB} MiB, heap ${r.heapUsedMiB} MiB, loop p99 ${r.eventLoopP99Ms} ms`));
  }
  if (now >= nextFault) {
    nextFault += faultEvery;
    background.push(mix.injectFaults());
  }
  if (now >= nextRevoke) {
    nextRevoke += revokeEvery;
    background.push(mix.checkRevocations().catch((error: Error) => void mix.revocations.failures.push(`the check failed: ${error.message}`)));
  }
});
await Promise.all(background);
// A last window cut short by the end of the run is kept when it covers at least half a window.
const rest = recorder.roll();
const restSeconds = seconds - rest.startedMs / 1000;
if (rest.requests > 0 && restSeconds >= windowSeconds / 2) rows.push(scrape().then((s) => windowRow(rest, restSeconds, s)));
const table = await Promise.all(rows);
await ctx.proxy.close();
await proxy.stop();
await upstream.close();
await redis.stop();

const all = recorder.windows.flatMap((w) => w.latencies);
const sortedAll = Float64Array.from(all).sort();
const trend = slopes(table, o.minutes);
const faults = { slow: mix.faults.slow, reset: mix.faults.reset };
const result = verdict({ errors: recorder.errors, faults, revocations: mix.revocations, lost: recorder.lost, lostCount: recorder.lostCount, slopes: trend, setupFailures });
const report = {
  startedAt: new Date(Date.now() - seconds * 1000).toISOString(),
  options: o,
  machine: { cores: availableParallelism(), node: process.version },
  setup: { workers: 2, store: 'redis', upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, build: build !== null, weights: WEIGHTS },
  ramp: { steps: ramp, capacityOpsPerSec: capacity, capacityReqPerSec: ramp.filter((s) => s.sustained).at(-1)?.reqPerSec ?? null },
  notes,
  soak: { opsPerSec: soakRate, requests: all.length, started: run.started, behind: run.behind, p50Ms: percentile(sortedAll, 50), p99Ms: percentile(sortedAll, 99), windowSeconds },
  byKind: Object.fromEntries(Object.entries(recorder.latencyByKind).map(([kind, list]) => {
    const sorted = Float64Array.from(list).sort();
    return [kind, { requests: list.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) }];
  })),
  windows: table,
  slopes: { ...trend, rssLimitMiBPerMin: RSS_SLOPE_LIMIT_MIB_PER_MIN },
  errors: recorder.errors,
  unexpectedErrors: result.unexpectedErrors,
  faults: { ...faults, reachedUpstream: { slow: upstream.slowFaults, reset: upstream.resetFaults } },
  revocations: mix.revocations,
  lost: { count: recorder.lostCount, examples: recorder.lost },
  failures: result.failures,
  passed: result.failures.length === 0,
};

console.log(formatTable(table));
for (const [kind, k] of Object.entries(report.byKind)) console.log(`  ${kind.padEnd(12)} ${String(k.requests).padStart(8)} requests, p50 ${k.p50Ms?.toFixed(2)} ms, p99 ${k.p99Ms?.toFixed(2)} ms`);
console.log(`\ncapacity ${capacity} ops/s (${report.ramp.capacityReqPerSec ?? '-'} req/s); soak at ${soakRate} ops/s: ${all.length} requests, p50 ${report.soak.p50Ms?.toFixed(2)} ms, p99 ${report.soak.p99Ms?.toFixed(2)} ms, ${run.behind} behind`);
console.log(`slopes after ${trend.warmupMinutes} min warm-up: RSS ${trend.rssMiBPerMin ?? '-'} MiB/min (limit ${RSS_SLOPE_LIMIT_MIB_PER_MIN}${trend.judged ? '' : ', not judged: run too short'}), heap ${trend.heapUsedMiBPerMin ?? '-'} MiB/min, loop p99 ${trend.eventLoopP99MsPerMin ?? '-'} ms/min, p99 ${trend.p99MsPerMin ?? '-'} ms/min`);
console.log(`faults: slow ${JSON.stringify(faults.slow.answered)} of ${faults.slow.sent} (want 504), reset ${JSON.stringify(faults.reset.answered)} of ${faults.reset.sent} (want 502)`);
console.log(`revocations: ${mix.revocations.refused}/${mix.revocations.checks} refused, slowest ${Math.round(mix.revocations.maxPropagationMs)} ms; unexpected errors ${result.unexpectedErrors}; lost ${recorder.lostCount}`);
const resultsDir = join(BENCH_DIR, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = o.json ?? join(resultsDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`results: ${file}`);
for (const note of notes) console.log(`note: ${note}`);
if (result.failures.length > 0) {
  for (const failure of result.failures) console.log(`FAILURE: ${failure}`);
  process.exit(1);
}
console.log('PASSED');
process.exit(0);

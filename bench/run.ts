// `npm run bench`: token-validation throughput, end to end. Each scenario drives autocannon at a proxy started as a
// child process (pinned to core 0 when taskset exists; autocannon, the upstream and Redis share core 1), reads the
// proxy's CPU time and memory from /proc, and compares req/s with the baseline measured in the same run.
// See bench/README.md for how to read the table.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { formatTable, readProcess, scenarioResult, watchRss, type ScenarioResult, type TokenAlgorithm } from '../src/cli/loadtest.js';
import { resolveConfig } from '../src/config-loader.js';
import { hashSecret } from '../src/secrets/hash.js';
import { generateSigningKey } from '../src/tokens/keyring.js';
import { BENCH_DIR, buildForBench, machineBusySeconds, mintInParallel, pinSelf, placement, startProxyChild, startRedis, type ProxyChild, type RedisServer } from './harness.js';
import { formatProfile, summariseProfile } from './profile.js';
import { API_USER, benchConfig, CLIENT, KID, OPERATOR, SCENARIOS, type Load, type Scenario } from './scenarios.js';
import { startBenchUpstream } from './upstream.js';

const USAGE = `Usage: npm run bench -- [--duration S] [--connections N] [--scenario a,b] [--no-pin] [--no-baseline] [--no-build] [--engine http-proxy|undici]
                      [--alg RS256|ES256|EdDSA] [--warmup S] [--repeat N] [--request-log on|off] [--profile]
                      [--cold-tokens N] [--memory-tokens N] [--json FILE]
Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (baseline runs first unless --no-baseline)`;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    scenario: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    engine: { type: 'string' },
    alg: { type: 'string', default: 'RS256' },
    warmup: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '1' },
    'request-log': { type: 'string', default: 'on' },
    profile: { type: 'boolean', default: false },
    'cold-tokens': { type: 'string', default: '150000' },
    'memory-tokens': { type: 'string', default: '200000' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const num = (name: string, text: string) => (/^\d+(\.\d+)?$/.test(text) && Number(text) > 0 ? Number(text) : fail(`--${name}: expected a positive number`));
const duration = num('duration', values.duration);
const repeat = Math.round(num('repeat', values.repeat));
const connections = Math.round(num('connections', values.connections));
const warmup = values.warmup === '0' ? 0 : num('warmup', values.warmup);
const coldTokens = Math.round(num('cold-tokens', values['cold-tokens']));
const memoryTokens = Math.round(num('memory-tokens', values['memory-tokens']));
const alg = values.alg as TokenAlgorithm;
if (!['RS256', 'ES256', 'EdDSA'].includes(alg)) fail('--alg: expected RS256, ES256 or EdDSA');
if (values.engine !== undefined && !['http-proxy', 'undici'].includes(values.engine)) fail('--engine: expected http-proxy or undici');
if (!['on', 'off'].includes(values['request-log'])) fail('--request-log: expected on or off');
const requestLog = values['request-log'] === 'on';
const wanted = values.scenario === undefined ? SCENARIOS.map((s) => s.name) : values.scenario.split(',').map((s) => s.trim());
for (const name of wanted) if (!SCENARIOS.some((s) => s.name === name)) fail(`--scenario: unknown scenario "${name}"`);
const selected = SCENARIOS.filter((s) => (s.name === 'baseline' && !values['no-baseline']) || wanted.includes(s.name));
const progressBar = process.stderr.isTTY === true;
const log = (line: string) => process.stderr.write(`${line}\n`);

const place = placement(!values['no-pin']);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(BENCH_DIR, 'results');
const profileRoot = join(resultsDir, 'profiles', stamp);

const key = generateSigningKey(alg, KID);
const keyPem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const [client, operator, apiUser] = await Promise.all([hashSecret(CLIENT.secret), hashSecret(OPERATOR.password), hashSecret(API_USER.password)]);
const hashes = { client: client!, operator: operator!, apiUser: apiUser! };
const upstream = await startBenchUpstream();
const needsRedis = selected.some((s) => s.store === 'redis');
let redis: RedisServer | null = null;
if (needsRedis) {
  redis = await startRedis(place);
  if (redis === null) log('no redis-server on PATH: the Redis scenario is skipped');
}
const configFor = (scenario: Scenario) =>
  benchConfig({
    upstreamUrl: upstream.url,
    engine: values.engine ?? null,
    requestLog,
    alg,
    hashes,
    redisUrl: scenario.store === 'redis' ? redis!.url : null,
    cacheSize: scenario.cacheSize ?? null,
  });
const engine = (await resolveConfig(configFor(SCENARIOS[0]!), { env: { BENCH_SIGNING_KEY: keyPem } })).parsed.upstream.engine;
const buildDir = values['no-build'] ? null : buildForBench();
if (!values['no-build'] && buildDir === null) log('could not compile src/: the proxy runs from src/ through tsx, which adds a few µs per request');
pinSelf(place, place.loadCpu);

log(
  `bench: ${selected.length} scenarios, ${duration}s each after ${warmup}s warm-up, ${connections} connections, engine ${engine}, ${alg}, request log ${requestLog ? 'on' : 'off'}, ` +
    (place.pinned ? `proxy pinned to core ${place.proxyCpu}, load generator to core ${place.loadCpu}` : 'not pinned'),
);

/** One autocannon run; `amount` bounds runs whose credentials are finite, `seconds` bounds every run. */
function cannon(url: string, load: Load, seconds: number, amount?: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const options: autocannon.Options = { url, connections, pipelining: 1, duration: seconds, requests: [load.request] };
    if (amount !== undefined) options.amount = Math.max(connections, amount);
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      clearTimeout(timer);
      if (error) reject(error as Error);
      else resolve(result);
    });
    // With an amount autocannon ignores the duration; the time bound still holds.
    const timer = setTimeout(() => instance.stop(), seconds * 1000 + 250);
    if (progressBar) autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false, outputStream: process.stderr });
  });
}

interface CurvePoint {
  tokens: number;
  rssMiB: number;
}

const rows: ScenarioResult[] = [];
const curves: Record<string, CurvePoint[]> = {};
const retainedMemory: Record<string, { tokens: number; heapMiB: number; rssMiB: number }[]> = {};
const profiles: Record<string, string> = {};
let baselineRps: number | null = null;

/**
 * One measured run with the proxy's /proc readings around it, and how much CPU the rest of the machine used
 * meanwhile: other work on a shared machine competes with the proxy and the load generator alike.
 */
async function measured(child: ProxyChild, label: string, scenario: Scenario, profile: boolean, run: () => Promise<autocannon.Result>): Promise<ScenarioResult> {
  const profileFile = profile && values.profile ? join(profileRoot, `${scenario.name}.cpuprofile`) : null;
  if (profileFile !== null) await child.startProfile();
  const redisPid = scenario.store === 'redis' ? (redis?.pid ?? null) : null;
  const machineBefore = machineBusySeconds();
  const selfBefore = process.cpuUsage();
  const redisBefore = redisPid === null ? null : readProcess(redisPid);
  const before = readProcess(child.pid);
  const rss = watchRss(child.pid);
  const result = await run();
  const after = readProcess(child.pid);
  const peakRss = rss.stop();
  const self = process.cpuUsage(selfBefore);
  const redisAfter = redisPid === null ? null : readProcess(redisPid);
  const machineAfter = machineBusySeconds();
  if (profileFile !== null) {
    await child.stopProfile(profileFile);
    profiles[scenario.name] = profileFile;
  }
  const row = scenarioResult(label, result, { before, after, peakRss });
  loadGeneratorShare[label] = (self.user + self.system) / 1e6 / result.duration;
  if (machineBefore !== null && machineAfter !== null && before && after) {
    const ours = after.cpuSeconds - before.cpuSeconds + (self.user + self.system) / 1e6 + (redisBefore && redisAfter ? redisAfter.cpuSeconds - redisBefore.cpuSeconds : 0);
    const others = (machineAfter - machineBefore - ours) / result.duration;
    otherLoad[label] = others;
    if (others > 0.1) row.note = `other processes used ${(others * 100).toFixed(0)}% of a core during this run: numbers are disturbed`;
  }
  return row;
}

const otherLoad: Record<string, number> = {};
/** Share of a core the load generator (autocannon and the upstream, this process) used: near 1, it was the limit. */
const loadGeneratorShare: Record<string, number> = {};
const pairedBaselines: Record<string, ScenarioResult> = {};
const PUBLIC_LOAD: Load = { request: { method: 'GET', path: '/public/tickets' } };

/** The run with the median req/s, so one disturbed run neither makes nor breaks a result. */
function median(runs: ScenarioResult[]): ScenarioResult {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
if (values.profile) mkdirSync(profileRoot, { recursive: true });

for (const scenario of selected) {
  if (scenario.store === 'redis' && redis === null) {
    rows.push({ scenario: scenario.name, requests: 0, seconds: 0, rps: 0, p50Ms: 0, p99Ms: 0, errors: 0, cpuUsPerRequest: null, cpuShare: null, rssBytes: null, ratio: null, note: 'skipped: no redis-server' });
    continue;
  }
  log(`\n${scenario.name}: ${scenario.description}`);
  const child = await startProxyChild({ config: configFor(scenario), env: { BENCH_SIGNING_KEY: keyPem }, place, buildDir });
  try {
    const load = await scenario.prepare({
      proxyUrl: child.url,
      keyPem,
      alg,
      connections,
      seconds: warmup + duration * repeat,
      baselineRps,
      maxColdTokens: coldTokens,
      memoryTokens,
      log,
      async mint(count, familyId) {
        // Both cores sign while the proxy idles; the load generator goes back to its own core afterwards.
        pinSelf(place, place.allCpus);
        try {
          return await mintInParallel({ keyPem, kid: KID, alg, issuer: 'portcullis', audience: 'itsm-api', subject: OPERATOR.login, clientId: CLIENT.id, scope: 'public-api', ttlSeconds: 3600, familyId }, count);
        } finally {
          pinSelf(place, place.loadCpu);
        }
      },
    });
    let row: ScenarioResult;
    if (scenario.curve) {
      const points: CurvePoint[] = [];
      const sample = () => {
        const reading = readProcess(child.pid);
        if (reading) points.push({ tokens: load.progress?.() ?? 0, rssMiB: reading.rssBytes / 1048576 });
      };
      // Retained heap after a full collection, once when the cache has just filled and once at the end: the
      // cache bound is about what the process keeps, while RSS also holds garbage not yet collected.
      const retained: { tokens: number; heapMiB: number; rssMiB: number }[] = [];
      const collect = async () => {
        const tokens = load.progress?.() ?? 0;
        const { heapUsed, rss } = await child.collect();
        retained.push({ tokens, heapMiB: heapUsed / 1048576, rssMiB: rss / 1048576 });
      };
      sample();
      let collecting: Promise<void> | null = null;
      const timer = setInterval(() => {
        sample();
        if (collecting === null && (load.progress?.() ?? 0) >= (scenario.cacheSize ?? 0) * 1.5) collecting = collect();
      }, 500);
      row = await measured(child, scenario.name, scenario, true, () => cannon(child.url, load, 300, load.amount));
      clearInterval(timer);
      await collecting;
      sample();
      await collect();
      curves[scenario.name] = points;
      retainedMemory[scenario.name] = retained;
      const verdict = memoryVerdict(points, retained, scenario.cacheSize ?? 0);
      row.note = row.note ? `${verdict}; ${row.note}` : verdict;
    } else {
      // Each scenario is compared with the public route on the same proxy process, measured just before it,
      // so a drift in what else the machine does moves both numbers alike.
      const paired = scenario.name !== 'baseline';
      if (warmup > 0) {
        if (paired) await cannon(child.url, PUBLIC_LOAD, warmup);
        // The first scenario of a run also warms the load generator itself; a cold autocannon sends less, and
        // at a lower rate the proxy batches less per event-loop turn and pays more CPU per request.
        await cannon(child.url, load, rows.length === 0 ? warmup * 3 : warmup, load.amount);
      }
      const runs: ScenarioResult[] = [];
      const bases: ScenarioResult[] = [];
      for (let round = 0; round < repeat; round++) {
        const remaining = load.amount === undefined ? undefined : load.amount - (load.progress?.() ?? 0) - connections;
        if (remaining !== undefined && remaining < connections * 10) break;
        if (paired) bases.push(await measured(child, `${scenario.name} (baseline)`, scenario, false, () => cannon(child.url, PUBLIC_LOAD, duration)));
        const one = await measured(child, scenario.name, scenario, round === 0, () => cannon(child.url, load, duration, remaining));
        if (remaining !== undefined && one.seconds < duration - 0.5) {
          const note = `ran out of distinct tokens after ${one.seconds.toFixed(1)}s (raise --cold-tokens)`;
          one.note = one.note ? `${note}; ${one.note}` : note;
        }
        runs.push(one);
      }
      row = median(runs);
      const base = paired ? median(bases) : row;
      row.ratio = row.rps / base.rps;
      if (paired) pairedBaselines[scenario.name] = base;
      if (scenario.name === 'baseline') baselineRps = row.rps;
    }
    if (scenario.curve) row.ratio = baselineRps ? row.rps / baselineRps : null;
    rows.push(row);
    const base = pairedBaselines[scenario.name];
    log(
      `  ${row.rps.toFixed(0)} req/s, ${row.cpuUsPerRequest?.toFixed(1) ?? 'n/a'} µs proxy CPU per request, ${row.errors} errors, load generator at ${((loadGeneratorShare[scenario.name] ?? 0) * 100).toFixed(0)}% of its core` +
        (base ? `; public route on the same proxy: ${base.rps.toFixed(0)} req/s, ${base.cpuUsPerRequest?.toFixed(1) ?? 'n/a'} µs` : ''),
    );
  } finally {
    await child.stop();
  }
}

await upstream.close();
await redis?.stop();

/**
 * Once the verified-token cache is full, more distinct tokens must not make the process keep more memory: the
 * heap retained after a full collection at the end is within a fixed margin of the one retained just after the
 * cache filled. RSS is reported beside it (it also counts garbage V8 has not collected yet, so it peaks higher).
 */
function memoryVerdict(points: CurvePoint[], retained: { tokens: number; heapMiB: number; rssMiB: number }[], cacheSize: number): string {
  const MARGIN_MIB = 16;
  const first = retained[0];
  const last = retained[retained.length - 1];
  const end = points[points.length - 1];
  if (!first || !last || !end || retained.length < 2) return 'too few tokens went through to fill the cache';
  const peak = Math.max(...points.map((p) => p.rssMiB));
  const growth = last.heapMiB - first.heapMiB;
  const verdict = growth <= MARGIN_MIB ? 'bounded' : 'NOT BOUNDED';
  // RSS levels off rather than tracking the token count: the second half of the run peaks no higher than the first.
  const half = (first.tokens + last.tokens) / 2;
  const firstHalf = Math.max(0, ...points.filter((p) => p.tokens >= first.tokens && p.tokens < half).map((p) => p.rssMiB));
  const secondHalf = Math.max(0, ...points.filter((p) => p.tokens >= half).map((p) => p.rssMiB));
  const rssTrend = secondHalf <= firstHalf + MARGIN_MIB ? 'RSS levelled off' : 'RSS STILL GROWING';
  return (
    `${last.tokens} distinct tokens, cacheSize ${cacheSize}: heap retained ${first.heapMiB.toFixed(0)} MiB after ${first.tokens} tokens, ` +
    `${last.heapMiB.toFixed(0)} MiB at the end (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB): ${verdict} (margin ${MARGIN_MIB} MiB); ` +
    `RSS ${points[0]!.rssMiB.toFixed(0)} MiB at start, peak ${firstHalf.toFixed(0)} in the first half and ${secondHalf.toFixed(0)} in the second: ${rssTrend}, ` +
    `${last.rssMiB.toFixed(0)} after the final collection (overall peak ${peak.toFixed(0)})`
  );
}

interface Target {
  what: string;
  value: number | null;
  limit: number;
  atMost?: boolean;
}

const byName = new Map(rows.map((r) => [r.scenario, r]));
const targets: Target[] = [
  { what: 'bearer-warm req/s ≥ 0.95× baseline', value: byName.get('bearer-warm')?.ratio ?? null, limit: 0.95 },
  { what: 'api-key req/s ≥ 0.95× baseline', value: byName.get('api-key')?.ratio ?? null, limit: 0.95 },
  { what: 'pcr-session req/s ≥ 0.95× baseline', value: byName.get('pcr-session')?.ratio ?? null, limit: 0.95 },
  { what: 'pcr-session-redis req/s ≥ 0.85× baseline', value: byName.get('pcr-session-redis')?.ratio ?? null, limit: 0.85 },
  { what: 'bearer-warm proxy CPU ≤ 60 µs/request', value: byName.get('bearer-warm')?.cpuUsPerRequest ?? null, limit: 60, atMost: true },
];
const targetLines = targets
  .filter((t) => t.value !== null && t.value !== 0)
  .map((t) => {
    const met = t.atMost ? t.value! <= t.limit : t.value! >= t.limit;
    return `  ${met ? 'met    ' : 'MISSED '} ${t.what}: ${t.value!.toFixed(t.atMost ? 1 : 3)}`;
  });
const baseline = byName.get('baseline');
const saturation =
  baseline?.cpuShare != null && baseline.cpuShare < 0.9 && (loadGeneratorShare['baseline'] ?? 0) > 0.9
    ? `\nThe proxy used ${(baseline.cpuShare * 100).toFixed(0)}% of its core in the baseline: the load generator's core was the limit, so req/s ratios understate the cost of authentication; compare CPU µs/req.`
    : '';

process.stdout.write(`\n${formatTable(rows)}\n\ntargets:\n${targetLines.join('\n')}${saturation}\n`);
for (const [name, file] of Object.entries(profiles)) {
  process.stdout.write(`\nprofile of ${name} (${file}):\n${formatProfile(summariseProfile(file, 15))}\n`);
}

mkdirSync(resultsDir, { recursive: true });
const jsonFile = values.json ?? join(resultsDir, `bench-${stamp}.json`);
writeFileSync(
  jsonFile,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      pinned: place.pinned,
      engine,
      algorithm: alg,
      requestLog,
      build: buildDir !== null,
      durationSeconds: duration,
      warmupSeconds: warmup,
      connections,
      results: rows,
      targets: targets.map((t) => ({ ...t, met: t.value === null ? null : t.atMost ? t.value <= t.limit : t.value >= t.limit })),
      memoryCurves: curves,
      retainedMemory,
      profiles,
      otherProcessesCoreShare: otherLoad,
      loadGeneratorCoreShare: loadGeneratorShare,
      pairedBaselines,
      repeat,
    },
    null,
    2,
  )}\n`,
);
log(`\nresults written to ${jsonFile}`);

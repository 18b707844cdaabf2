// `npm run bench`: token-validation throughput, end to end. Each scenario drives autocannon at a proxy started as a
// child process (pinned to core 0 when taskset exists; autocannon, the upstream and Redis share core 1), reads the
// proxy's CPU time and memory from /proc, and compares req/s with the public route on the same proxy and with
// haproxy verifying a JWT on every request, each measured right beside it. See bench/README.md for the table.

import { createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config-loader.js';
import { mintAccessTokens, type ScenarioResult, type TokenAlgorithm } from '../src/cli/loadtest.js';
import { hashSecret } from '../src/secrets/hash.js';
import { generateSigningKey } from '../src/tokens/keyring.js';
import { API_USER, benchConfig, CLIENT, KID, OPERATOR, SIGNING_KEY_ENV } from './bench-config.js';
import { startCliProxy } from './cluster-proxy.js';
import { HAPROXY_JWT, startHaproxy, type Haproxy } from './haproxy.js';
import { benchListenerTls, withListenerTls } from './listener-tls.js';
import { BENCH_DIR, buildForBench, pinSelf, placement, startProxyChild, startRedis, type RedisServer } from './harness.js';
import { Measurer, perRound, spread } from './measure.js';
import { runMemory, type MemoryResult } from './memory.js';
import { parseOptions } from './options.js';
import { formatProfile, summariseProfile } from './profile.js';
import { report, writeJson } from './report.js';
import { pairsWithHaproxy, runGroup, type GroupResult, type Running } from './rounds.js';
import type { Scenario } from './scenarios.js';
import { mintPool, TokenPool } from './token-pool.js';
import { startTraceSink } from './trace-sink.js';
import { startBenchUpstream } from './upstream.js';

const o = parseOptions(process.argv.slice(2));
const log = (line: string) => process.stderr.write(`${line}\n`);
const place = placement(o.pin);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(BENCH_DIR, 'results');
const profileRoot = join(resultsDir, 'profiles', stamp);
const tmp = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
// Ctrl-C: exit through the 'exit' handlers, which stop every process the run started and remove its files.
process.once('SIGINT', () => process.exit(130));

const keys = new Map<TokenAlgorithm, string>();
const keyPem = (alg: TokenAlgorithm) => {
  if (!keys.has(alg)) keys.set(alg, generateSigningKey(alg, KID).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  return keys.get(alg)!;
};
const algOf = (s: Scenario) => s.algorithm?.(o.alg) ?? o.alg;
const [client, operator, apiUser] = await Promise.all([hashSecret(CLIENT.secret), hashSecret(OPERATOR.password), hashSecret(API_USER.password)]);
const hashes = { client: client!, operator: operator!, apiUser: apiUser! };
const upstream = await startBenchUpstream();
const traceSink = o.scenarios.some((s) => s.tracing) ? await startTraceSink() : null;
let redis: RedisServer | null = null;
if (o.scenarios.some((s) => s.store === 'redis')) {
  redis = await startRedis(place);
  if (redis === null) log('no redis-server on PATH: the Redis scenarios are skipped');
}
const listenerTls = o.scenarios.some((s) => s.listenerTls) ? await benchListenerTls(tmp) : null;
const configFor = (s: Scenario) =>
  withListenerTls(
    benchConfig({
      upstreamUrl: upstream.url,
      engine: o.engine,
      requestLog: s.requestLog ?? o.requestLog,
      alg: algOf(s),
      hashes,
      redisUrl: s.store === 'redis' ? redis!.url : null,
      redisPrefix: `portcullis-bench:${process.pid}:${s.name}:`,
      sqlitePath: s.store === 'sqlite' ? join(tmp, `${s.name}.db`) : null,
      cacheSize: s.cacheSize ?? null,
      ...(s.workers !== undefined ? { workers: s.workers } : {}),
      tracingEndpoint: s.tracing && traceSink !== null ? traceSink.url : null,
    }),
    s.listenerTls ? listenerTls : null,
  );
const probeConfig = benchConfig({ upstreamUrl: upstream.url, engine: o.engine, requestLog: o.requestLog, alg: o.alg, hashes, redisUrl: null, cacheSize: null });
const engine = (await resolveConfig(probeConfig, { env: { [SIGNING_KEY_ENV]: keyPem(o.alg) } })).parsed.upstream.engine;
const build = o.build && o.scenarios.length > 0 ? buildForBench() : null;
if (o.build && o.scenarios.length > 0 && build === null) log('could not compile src/: the proxy runs from src/ through tsx, which adds a few µs per request');
let selfCpus = place.loadCpu;
pinSelf(place, selfCpus);

let haproxy: Haproxy | null = null;
let haproxySkipped: string | null = null;
// Started when some scenario is compared with it, or when it was asked for by name.
if (o.haproxy && (o.haproxyNamed || o.scenarios.some(pairsWithHaproxy))) {
  const started = await startHaproxy({ dir: tmp, upstreamUrl: upstream.url, place });
  if (typeof started === 'string') log(`${HAPROXY_JWT}: ${(haproxySkipped = started)}`);
  else haproxy = started;
}

log(
  `bench: ${o.scenarios.length} scenarios${haproxy ? ` and ${HAPROXY_JWT} (HAProxy ${haproxy.version})` : ''}, ${o.duration}s each after ${o.warmup}s warm-up, ${o.repeat} round${o.repeat > 1 ? 's' : ''}, ` +
    `${o.connections} connections, engine ${engine}, ${o.alg}, request log ${o.requestLog ? 'on' : 'off'}, ` +
    (place.pinned ? `proxy pinned to core ${place.proxyCpu}, load generator to core ${place.loadCpu}` : 'not pinned'),
);

const m = new Measurer({ connections: o.connections, progressBar: process.stderr.isTTY === true });
const rows: ScenarioResult[] = [];
const results = new Map<string, GroupResult>();
let memory: MemoryResult | null = null;
let baselineRps: number | null = null;
let haproxyWarm = false;
const warmHaproxy = async () => {
  if (haproxyWarm || haproxy === null) return;
  haproxyWarm = true;
  if (o.warmup > 0) await m.cannon(haproxy.url, haproxy.load, o.warmup);
};
if (o.profile) mkdirSync(profileRoot, { recursive: true });

// Scenarios of one group run together, in the order of the scenario list.
const groups: Scenario[][] = [];
for (const s of o.scenarios) {
  const last = groups[groups.length - 1];
  if (s.group !== undefined && last?.[0]?.group === s.group) last.push(s);
  else groups.push([s]);
}

const skipped = (scenario: string, note: string): ScenarioResult => ({ scenario, requests: 0, seconds: 0, rps: 0, p50Ms: 0, p99Ms: 0, errors: 0, cpuUsPerRequest: null, cpuShare: null, rssBytes: null, ratio: null, note });

async function start(s: Scenario): Promise<{ running: Omit<Running, 'load'>; stop(): Promise<void>; child?: Awaited<ReturnType<typeof startProxyChild>> }> {
  const env = { [SIGNING_KEY_ENV]: keyPem(algOf(s)) };
  if (s.workers !== undefined) {
    const cli = await startCliProxy({ name: s.name, dir: tmp, config: configFor(s), env, build, workers: s.workers });
    return { running: { scenario: s, url: cli.url, pid: cli.pid }, stop: () => cli.stop() };
  }
  const child = await startProxyChild({ config: configFor(s), env, place, build });
  const profiler = { start: () => child.startProfile(), stop: (file: string) => child.stopProfile(file) };
  return { running: { scenario: s, url: child.url, pid: child.pid, profiler }, stop: () => child.stop(), child };
}

for (const group of groups) {
  const members = group.filter((s) => s.store !== 'redis' || redis !== null);
  for (const s of group) if (!members.includes(s)) results.set(s.name, { row: skipped(s.name, 'skipped: no redis-server'), runs: [], bases: [], haproxy: [], profile: null });
  if (members.length === 0) continue;
  const started: Awaited<ReturnType<typeof start>>[] = [];
  // The cluster scenarios run unpinned, the load generator too: the OS places the workers.
  if (members.some((s) => s.workers !== undefined)) pinSelf(place, (selfCpus = place.allCpus));
  try {
    const running: Running[] = [];
    for (const s of members) {
      log(`\n${s.name}: ${s.description}`);
      const proxy = await start(s);
      started.push(proxy);
      const alg = algOf(s);
      const load = await s.prepare({
        proxyUrl: proxy.running.url,
        keyPem: keyPem(alg),
        alg,
        connections: o.connections,
        seconds: o.warmup + o.duration * o.repeat,
        runs: (o.warmup > 0 ? 1 : 0) + o.repeat,
        baselineRps,
        maxColdTokens: o.coldTokens,
        memoryTokens: o.memoryTokens,
        log,
        async mint(count, familyId) {
          const settings = { keyPem: keyPem(alg), kid: KID, alg, issuer: 'portcullis', audience: 'itsm-api', subject: OPERATOR.login, clientId: CLIENT.id, scope: 'public-api', ttlSeconds: 3600, familyId };
          if (count <= 100) return TokenPool.of(mintAccessTokens({ ...settings, key: createPrivateKey(keyPem(alg)) }, count));
          // Both cores sign while the proxies idle; the load generator goes back to its place afterwards.
          pinSelf(place, place.allCpus);
          try {
            return await mintPool(settings, count);
          } finally {
            pinSelf(place, selfCpus);
          }
        },
      });
      running.push({ ...proxy.running, load });
    }
    if (members[0]!.curve) {
      const profile = o.profile ? join(profileRoot, `${members[0]!.name}.cpuprofile`) : null;
      memory = await runMemory(started[0]!.child!, members[0]!, running[0]!.load, m, profile);
      memory.row.ratio = baselineRps ? memory.row.rps / baselineRps : null;
      results.set(members[0]!.name, { row: memory.row, runs: [memory.row], bases: [], haproxy: [], profile });
      log(`  ${memory.row.requests} tokens in ${memory.seconds.toFixed(0)}s`);
      continue;
    }
    const profileFile = (name: string) => (o.profile ? join(profileRoot, `${name}.cpuprofile`) : null);
    const env = { measurer: m, duration: o.duration, warmup: o.warmup, repeat: o.repeat, connections: o.connections, haproxy, warmHaproxy, redisPid: redis?.pid ?? null, firstOfRun: results.size === 0, profileFile };
    const outcome = await runGroup(running, env);
    for (const [i, s] of members.entries()) {
      const res = outcome[i]!;
      results.set(s.name, res);
      if (s.name === 'baseline') baselineRps = res.row.rps;
      const base = res.bases.length ? m.combine(res.bases) : null;
      log(
        `  ${s.name}: ${res.row.rps.toFixed(0)} req/s, ${res.row.cpuUsPerRequest?.toFixed(1) ?? 'n/a'} µs proxy CPU per request, ${res.row.errors} errors, load generator at ${((m.loadGeneratorShare[s.name] ?? 0) * 100).toFixed(0)}% of its core` +
          (base ? `; public route on the same proxy: ${base.rps.toFixed(0)} req/s, ${base.cpuUsPerRequest?.toFixed(1) ?? 'n/a'} µs` : ''),
      );
    }
  } finally {
    for (const proxy of started) await proxy.stop();
    if (selfCpus !== place.loadCpu) pinSelf(place, (selfCpus = place.loadCpu));
  }
}

// The comparator's row: all its runs (one beside each paired scenario's in each round), or runs of its own when
// no scenario was paired with it.
let haproxyRow: ScenarioResult | null = haproxySkipped === null ? null : skipped(HAPROXY_JWT, haproxySkipped);
if (haproxy !== null) {
  const runs = [...results.values()].flatMap((r) => r.haproxy);
  if (runs.length === 0) {
    log(`\n${HAPROXY_JWT}: HAProxy ${haproxy.version} verifying an ES256 JWT on every request`);
    await warmHaproxy();
    for (let round = 0; round < o.repeat; round++) runs.push(await m.measured(haproxy.pid, HAPROXY_JWT, null, () => m.cannon(haproxy!.url, haproxy!.load, o.duration)));
  }
  haproxyRow = { ...m.combine(runs), scenario: HAPROXY_JWT };
  const baseline = results.get('baseline');
  const vsBaseline = baseline ? spread(perRound(baseline.haproxy, baseline.runs, (h, b) => h.rps / b.rps)) : null;
  haproxyRow.ratio = vsBaseline?.median ?? null;
  if (vsBaseline !== null && vsBaseline.count > 1) haproxyRow.ratioRange = [vsBaseline.min, vsBaseline.max];
  haproxyRow.haproxyRatio = 1;
  const rps = spread(runs.map((r) => r.rps))!;
  const about = `HAProxy ${haproxy.version}, nbthread 1, jwt_verify ES256 on every request; ${runs.length} run${runs.length > 1 ? `s, ${rps.min.toFixed(0)}–${rps.max.toFixed(0)} req/s` : ''}`;
  haproxyRow.note = haproxyRow.note ? `${about}; ${haproxyRow.note}` : about;
  log(`  ${HAPROXY_JWT}: ${haproxyRow.rps.toFixed(0)} req/s, ${haproxyRow.cpuUsPerRequest?.toFixed(1) ?? 'n/a'} µs CPU per request`);
  await haproxy.stop();
}
await upstream.close();
await traceSink?.close();
await redis?.stop();

for (const s of o.scenarios) {
  rows.push(results.get(s.name)!.row);
  if (s.name === 'baseline' && haproxyRow !== null) rows.push(haproxyRow);
}
if (haproxyRow !== null && !rows.includes(haproxyRow)) rows.unshift(haproxyRow);

const profiles = Object.fromEntries([...results].filter(([, r]) => r.profile !== null).map(([name, r]) => [name, r.profile!]));
const output = report({ rows, results, memory, measurer: m, cores: cpus().length });
process.stdout.write(output.text);
for (const [name, file] of Object.entries(profiles)) {
  process.stdout.write(`\nprofile of ${name} (${file}):\n${formatProfile(summariseProfile(file, 15))}\n`);
}
const jsonFile = o.json ?? join(resultsDir, `bench-${stamp}.json`);
writeJson(jsonFile, {
  pinned: place.pinned,
  engine,
  algorithm: o.alg,
  requestLog: o.requestLog,
  build: build !== null,
  haproxy: haproxy === null ? { skipped: haproxySkipped ?? 'not asked for (--no-haproxy)' } : { version: haproxy.version },
  durationSeconds: o.duration,
  warmupSeconds: o.warmup,
  connections: o.connections,
  repeat: o.repeat,
  profiles,
}, output, { rows, results, memory, measurer: m, cores: cpus().length });
log(`\nresults written to ${jsonFile}`);

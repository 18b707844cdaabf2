// `npm run bench:micro`: access-token validations per second on one core, in process, per algorithm:
//   warm   AccessTokens.verify of a token already in the verified-token cache (what a busy client costs)
//   cold   AccessTokens.verify of a token never seen before (signature check, claims, cache insert)
//   jws    verifyJws alone (the node:crypto path, no cache)
//   jose   jose's jwtVerify with the same key and checks, for comparison (async, WebCrypto underneath)
//   sign   AccessTokens.issue (jose SignJWT), what each token-endpoint grant pays
// The cold target is 10k validations per second per core.

import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jwtVerify } from 'jose';
import { mintAccessTokens, type TokenAlgorithm } from '../src/cli/loadtest.js';
import { ManualClock } from '../src/clock.js';
import { AccessTokens, ACCESS_TOKEN_TYPE } from '../src/tokens/access-tokens.js';
import { verifyJws } from '../src/tokens/jws.js';
import { generateSigningKey, KeyRing } from '../src/tokens/keyring.js';
import { BENCH_DIR, pinSelf, placement } from './harness.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '20000' },
    'no-pin': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
  allowPositionals: false,
});
const seconds = Number(values.seconds);
const poolSize = Number(values.tokens);
const place = placement(!values['no-pin']);
pinSelf(place, place.proxyCpu);

const ISSUER = 'portcullis';
const AUDIENCE = 'itsm-api';
const NOW = Date.UTC(2026, 0, 15, 12);
const clock = new ManualClock(NOW);
const settings = { issuer: ISSUER, audience: AUDIENCE, leewaySeconds: 30, cacheSize: 100_000 };

/** Operations per second of `op`, run in batches until `seconds` have passed (after a short warm-up). */
function rate(op: (i: number) => unknown, limit = Infinity): number {
  for (let i = 0; i < Math.min(2000, limit); i++) op(i);
  let done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline && done < limit) {
    const batch = Math.min(500, limit - done);
    for (let i = 0; i < batch; i++) op(done + i);
    done += batch;
  }
  return done / ((performance.now() - start) / 1000);
}

async function asyncRate(op: (i: number) => Promise<unknown>, limit = Infinity): Promise<number> {
  for (let i = 0; i < Math.min(500, limit); i++) await op(i);
  let done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline && done < limit) {
    await op(done);
    done++;
  }
  return done / ((performance.now() - start) / 1000);
}

interface Row {
  alg: TokenAlgorithm;
  warm: number;
  cold: number;
  jws: number;
  jose: number;
  sign: number;
  tokenBytes: number;
}

const rows: Row[] = [];
for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  const key = generateSigningKey(alg, `micro-${alg}`);
  const keys = KeyRing.fromKeys([key]);
  process.stderr.write(`${alg}: minting ${poolSize} tokens ...\n`);
  const tokens = mintAccessTokens(
    { key: key.privateKey, kid: key.kid, alg, issuer: ISSUER, audience: AUDIENCE, subject: 'my-operator', clientId: 'public-api', scope: 'public-api', ttlSeconds: 3600 },
    poolSize,
    Math.floor(NOW / 1000),
  );
  const expect = { typ: ACCESS_TOKEN_TYPE, issuer: ISSUER, audience: AUDIENCE, leewaySeconds: 30 };
  const nowSeconds = Math.floor(NOW / 1000);
  const check = (ok: boolean) => {
    if (!ok) throw new Error(`${alg}: a token failed verification; the benchmark would measure the wrong path`);
  };

  const warmTokens = new AccessTokens(keys, settings, clock);
  check(warmTokens.verify(tokens[0]!).ok);
  const warm = rate(() => warmTokens.verify(tokens[0]!));

  // Each cold pass gets a fresh cache, so every token is one it has never seen; the pool bounds a pass.
  let coldTokens = new AccessTokens(keys, settings, clock);
  const coldRates: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    coldTokens = new AccessTokens(keys, settings, clock);
    let i = 0;
    coldRates.push(rate(() => check(coldTokens.verify(tokens[i++ % tokens.length]!).ok), tokens.length - 2000));
  }
  const cold = Math.max(...coldRates);
  const jws = rate((i) => check(verifyJws(tokens[i % tokens.length]!, keys, expect, nowSeconds).ok));
  const jose = await asyncRate((i) =>
    jwtVerify(tokens[i % tokens.length]!, key.publicKey, { issuer: ISSUER, audience: AUDIENCE, typ: ACCESS_TOKEN_TYPE, algorithms: [alg], currentDate: new Date(NOW) }),
  );
  const issuing = new AccessTokens(keys, settings, clock);
  const sign = await asyncRate(() => issuing.issue({ subject: 'my-operator', clientId: 'public-api', scope: 'public-api', familyId: 'f', ttlMs: 3600_000 }));
  rows.push({ alg, warm, cold, jws, jose, sign, tokenBytes: tokens[0]!.length });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const header = ['alg', 'warm verify/s', 'cold verify/s', 'µs/cold', 'verifyJws/s', 'jose jwtVerify/s', 'issue/s', 'token bytes'];
const body = rows.map((r) => [r.alg, fmt(r.warm), fmt(r.cold), (1e6 / r.cold).toFixed(1), fmt(r.jws), fmt(r.jose), fmt(r.sign), String(r.tokenBytes)]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
const best = rows.reduce((a, b) => (b.cold > a.cold ? b : a));
const summary = [
  line(header),
  line(widths.map((w) => '-'.repeat(w))),
  ...body.map(line),
  '',
  `cold target ≥ 10,000/s per core: ${rows.map((r) => `${r.alg} ${r.cold >= 10_000 ? 'met' : 'MISSED'}`).join(', ')}`,
  `fastest cold validation: ${best.alg} (${fmt(best.cold)}/s); node:crypto verify is ${rows.map((r) => `${(r.jws / r.jose).toFixed(1)}× jose for ${r.alg}`).join(', ')}`,
];
console.log(summary.join('\n'));

const resultsDir = join(BENCH_DIR, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = values.json ?? join(resultsDir, `micro-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', pinned: place.pinned, seconds, rows }, null, 2)}\n`);
process.stderr.write(`results written to ${file}\n`);

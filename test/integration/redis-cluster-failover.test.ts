// Two proxy processes on a Redis Cluster store while the master holding the refresh-token families is SIGKILLed
// under traffic (OAuth logins, refreshes and bearer calls, PCR-360 logins and calls, family revocations): how long
// requests answer 503, that both proxies find the promoted replica by themselves, and that every revocation
// acknowledged before the kill is still enforced after it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { startCli, writeCliConfig, type CliProcess } from '../helpers/cli-process.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { SIGNING_KEY_PEM } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { claimsOf } from '../helpers/jwt.js';
import { bearerGet, login, refreshGrant, type TokenAnswer } from '../helpers/oauth.js';
import { pcrCall, pcrLoginRequest } from '../helpers/pcr.js';
import { redisClusterToolsAvailable, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { uniqueKeyPrefix } from '../helpers/redis.js';
import { redisStoreOptions } from '../helpers/store-options.js';
import { SECRETS } from '../fixtures/secrets.js';
import { redisRequired } from '../setup/global-redis.js';

const runnable = redisClusterToolsAvailable() || redisRequired();
if (!runnable) console.warn('Redis Cluster failover test skipped: redis-server or redis-cli not on PATH');

interface Proxy {
  cli: CliProcess;
  url: string;
  adminUrl: string;
}

/** A family revoked through the admin API, with an access token of it and when the revocation was answered. */
interface Revoked {
  family: string;
  accessToken: string;
  acknowledgedAt: number;
}

interface Failure {
  at: number;
  step: string;
  status: number;
}

const admin = { authorization: `Bearer ${SECRETS.adminToken}` };

class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
  ) {
    super(`${step} answered ${status}`);
  }
}

function expectStatus<T extends { status: number }>(step: string, answer: T, status = 200): T {
  if (answer.status !== status) throw new StepFailed(step, answer.status);
  return answer;
}

/**
 * One round of everything the proxies do with the store, spread over both: a login on `here`, a refresh on
 * `there`, a bearer call with the new token on `here`, a PCR login on `there` used on `here`, and the family
 * revoked through `here`'s admin API. Throws StepFailed at the first unexpected answer.
 */
async function round(here: Proxy, there: Proxy, revoked: Revoked[]): Promise<void> {
  const granted: TokenAnswer = expectStatus('login', await login(here.url));
  const rotated = expectStatus('refresh', await refreshGrant(there.url, granted.body['refresh_token'] as string));
  const access = rotated.body['access_token'] as string;
  expectStatus('bearer', await bearerGet(here.url, access));
  const pcr: Reply = expectStatus('pcr login', await pcrLoginRequest(there.url));
  expectStatus('pcr call', await pcrCall(here.url, SECRETS.rwKey, (pcr.json as { token: string }).token));
  const family = claimsOf(access)['fid'] as string;
  expectStatus('revoke', await send(`${here.adminUrl}/admin/token-families/${family}`, { method: 'DELETE', headers: admin }));
  revoked.push({ family, accessToken: access, acknowledgedAt: performance.now() });
}

describe.skipIf(!runnable)('two proxies on a Redis Cluster when a master dies', () => {
  let cluster: RedisClusterHandle | null = null;
  let upstream: EchoUpstream | undefined;
  const proxies: Proxy[] = [];
  const prefix = uniqueKeyPrefix('cluster-failover');
  let keyDir: string | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    if (!cluster) return;
    const nodes = cluster.nodes;
    keyDir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-failover-'));
    const keyFile = join(keyDir, 'signing.pem');
    writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
    upstream = await startEchoUpstream();
    const startProxy = async (): Promise<Proxy> => {
      const file = writeCliConfig(upstream!.url, (config) => {
        config['tokens'] = { ...(config['tokens'] as object), signingKeys: [{ kid: 'test-key-1', privateKey: { file: keyFile }, active: true }] };
        config['store'] = { type: 'redis', cluster: { nodes }, keyPrefix: prefix };
        config['log'] = { level: 'info', requests: false };
      });
      const cli = await startCli(file, ['--port', '0', '--admin-port', '0']);
      const listening = cli.logs().find((line) => line['msg'] === 'listening')!;
      return { cli, url: cli.url, adminUrl: String(listening['admin']) };
    };
    const started = await Promise.allSettled([startProxy(), startProxy()]);
    for (const s of started) if (s.status === 'fulfilled') proxies.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  }, 90_000);

  afterAll(async () => {
    for (const proxy of proxies) {
      proxy.cli.kill();
      await proxy.cli.exited;
    }
    await upstream?.close();
    await cluster?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  }, 30_000);

  it('answers 503 only until a replica is promoted, and loses no acknowledged revocation', async () => {
    const c = cluster!;
    const [a, b] = proxies as [Proxy, Proxy];
    const familySlot = await c.keySlot(`${prefix}{f}:x`);
    const revoked: Revoked[] = [];
    const failures: Failure[] = [];
    let killedAt: number | null = null;
    let stopping = false;
    // After the kill, a loop counts as recovered after this many rounds in a row without a failure.
    const RECOVERED_AFTER = 3;
    const recoveredSince: (number | null)[] = [null, null];
    const rounds = [0, 0];

    const loop = async (index: 0 | 1, here: Proxy, there: Proxy) => {
      let cleanInARow = 0;
      while (!stopping) {
        const started = performance.now();
        try {
          await round(here, there, revoked);
          rounds[index]!++;
          if (killedAt !== null) {
            if (cleanInARow === 0) recoveredSince[index] = started;
            if (++cleanInARow >= RECOVERED_AFTER) return;
          }
        } catch (err) {
          if (!(err instanceof StepFailed)) throw err;
          failures.push({ at: performance.now(), step: err.step, status: err.status });
          cleanInARow = 0;
          recoveredSince[index] = null;
          if (killedAt === null) throw new Error(`${err.message} before any node was killed`);
          await sleep(20);
        }
      }
    };

    const loops = Promise.all([loop(0, a, b), loop(1, b, a)]);
    const deadline = performance.now() + 45_000;
    // Traffic first, so the kill lands in the middle of it.
    while (rounds[0]! < 2 || rounds[1]! < 2) {
      if (performance.now() > deadline) throw new Error('no traffic before the kill');
      await sleep(20);
    }
    const killedPort = await c.masterOf(familySlot);
    const acknowledgedBefore = revoked.length;
    killedAt = performance.now();
    await c.killNode(killedPort);
    // When every surviving node calls the cluster whole again, for comparison with when the proxies recovered.
    const promoted = c.waitForFailover(killedPort, familySlot, 45_000).then((topology) => ({ topology, at: performance.now() }));
    promoted.catch(() => {});
    let outcome: 'recovered' | 'timeout';
    try {
      outcome = await Promise.race([
        loops.then(() => 'recovered' as const),
        sleep(Math.max(0, deadline - performance.now())).then(() => 'timeout' as const),
      ]);
    } finally {
      stopping = true;
      await loops.catch(() => {});
    }
    expect(outcome, `failures: ${JSON.stringify(failures.slice(-10))}`).toBe('recovered');

    const recoveredAt = Math.max(...recoveredSince.map((t) => t ?? performance.now()));
    const outageMs = Math.round(recoveredAt - killedAt);
    const { topology, at: promotedAt } = await promoted;
    const failedSteps = [...new Set(failures.map((f) => f.step))].join(', ');
    const agreedMs = Math.round(promotedAt - killedAt);
    console.log(
      `cluster failover: 503 for ${outageMs} ms (all surviving nodes reported cluster_state:ok after ${agreedMs} ms, ` +
        `${failures.length} failed rounds at ${failedSteps || 'no step'}, master on port ${killedPort} killed)`,
    );
    // While the slot has no master the store is unavailable, and the proxies say so: 503, nothing else.
    expect(failures.map((f) => f.status).filter((s) => s !== 503)).toEqual([]);

    // The proxies were never told about the new topology: the replica now serves the slot and they found it.
    expect(topology.find((n) => n.port === killedPort)).toBeUndefined();
    expect(await c.masterOf(familySlot)).not.toBe(killedPort);
    for (const proxy of [a, b]) expect((await send(`${proxy.url}/readyz`)).status).toBe(200);

    // Every revocation answered before the kill holds on both proxies and in the cluster itself.
    const before = revoked.slice(0, acknowledgedBefore);
    expect(before.length).toBeGreaterThan(0);
    for (const { accessToken } of before) {
      for (const proxy of [a, b]) {
        const refused = await bearerGet(proxy.url, accessToken);
        expect(refused.status).toBe(401);
        expect(refused.json.reason).toBe('token_revoked');
      }
    }
    const survivors = c.nodes.filter((n) => n.port !== killedPort);
    const store = new RedisStore(redisStoreOptions({ cluster: { nodes: survivors }, keyPrefix: prefix }), new ManualClock(Date.now()));
    try {
      await store.waitUntilReady();
      for (const { family } of before) expect((await store.getFamily(family, Date.now()))?.revokedAt, family).toEqual(expect.any(Number));
    } finally {
      await store.close();
    }
  }, 75_000);
});

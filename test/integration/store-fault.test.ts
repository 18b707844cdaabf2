// What the proxy does when its Redis hangs, goes away and comes back: decisions that need the store fail closed
// with 503 within the command timeout, nothing crashes, and service resumes (with what Redis lost refused) once
// Redis is back. Also the multi-worker mode: refused on the memory store, one port shared with Redis.

import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runStart } from '../../src/cli/start.js';
import { startCli, writeCliConfig, type CliProcess } from '../helpers/cli-process.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { accessToken, bearerGet, DEMO_CLIENT_AUTH, login } from '../helpers/oauth.js';
import { pcrCall, pcrLogin, pcrLoginRequest } from '../helpers/pcr.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually, flushKeyPrefix, privateRedisAvailable, sharedRedisUrl, startPrivateRedis, uniqueKeyPrefix, type PrivateRedis } from '../helpers/redis.js';
import { redisRequired } from '../setup/global-redis.js';
import { SECRETS } from '../fixtures/secrets.js';

const COMMAND_TIMEOUT_MS = 200;
const sharedRedis = sharedRedisUrl();

function pcrUse(url: string, token: string): Promise<Reply> {
  return pcrCall(url, SECRETS.rwKey, token);
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

function expectStoreUnavailable(reply: Reply): void {
  expect(reply.status, reply.text).toBe(503);
  expect(reply.json.reason).toBe('store_unavailable');
}

const noPrivateRedis = !privateRedisAvailable() && !redisRequired();

describe.skipIf(noPrivateRedis)('Redis failing under a running proxy', () => {
  let redis: PrivateRedis;
  let upstream: EchoUpstream;
  /** Default settings: everything that needs the store fails closed. */
  let strict: TestProxy;
  /** store.failOpen.bearerRevocationCheck: true. */
  let lenient: TestProxy;

  const redisEdit = (failOpen: boolean) =>
    withPcr((config) => {
      config['store'] = {
        type: 'redis',
        url: redis.url,
        commandTimeout: `${COMMAND_TIMEOUT_MS}ms`,
        connectTimeout: '1s',
        ...(failOpen ? { failOpen: { bearerRevocationCheck: true } } : {}),
      };
    });

  beforeAll(async () => {
    redis = (await startPrivateRedis())!;
    upstream = await startEchoUpstream();
    strict = await startTestProxy({ ...redisEdit(false), upstream });
    lenient = await startTestProxy({ ...redisEdit(true), upstream, clock: strict.clock });
  });

  afterAll(async () => {
    await strict?.close();
    await lenient?.close();
    await upstream?.close();
    await redis?.close();
  });

  it('answers 503 within the command timeout while Redis hangs', async () => {
    const session = await pcrLogin(strict.url);
    expect((await pcrUse(strict.url, session)).status).toBe(200);
    redis.pause();
    try {
      // Past the local session copy's lifetime, so the next use must ask Redis.
      strict.clock.advance(1500);
      const { value, ms } = await timed(() => pcrUse(strict.url, session));
      expectStoreUnavailable(value);
      expect(ms).toBeLessThan(1500);
      expect((await send(`${strict.url}/readyz`)).status).toBe(503);
    } finally {
      redis.resume();
    }
    await eventually(async () => expect((await pcrUse(strict.url, session)).status).toBe(200), 5000);
  });

  it('fails closed while Redis is down, keeps running, and serves again once it is back', async () => {
    const session = await pcrLogin(strict.url);
    const seen = await accessToken(strict.url);
    const unseen = await accessToken(strict.url);
    const unseenLenient = await accessToken(lenient.url);
    expect((await pcrUse(strict.url, session)).status).toBe(200);
    expect((await bearerGet(strict.url, seen)).status).toBe(200);

    await redis.stop();
    strict.clock.advance(1500);

    const pcr = await timed(() => pcrUse(strict.url, session));
    expectStoreUnavailable(pcr.value);
    expect(pcr.ms).toBeLessThan(1500);
    expect((await send(`${strict.url}/readyz`)).status).toBe(503);
    const grant = await login(strict.url);
    expect(grant.status).toBe(503);
    expect(grant.body['error']).toBe('temporarily_unavailable');
    const pcrLoginAnswer = await pcrLoginRequest(strict.url);
    expect(pcrLoginAnswer.status).toBe(503);
    // A token this process already checked needs no store; one it has never seen cannot be checked: refused.
    expect((await bearerGet(strict.url, seen)).status).toBe(200);
    expectStoreUnavailable(await bearerGet(strict.url, unseen));
    // Introspection and revocation cannot answer either way without the store: 503, never "inactive" or "revoked".
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const introspected = await send(`${strict.url}/oauth/introspect`, { method: 'POST', headers: { ...form, authorization: `Bearer ${SECRETS.adminToken}` }, body: `token=${unseen}` });
    expect(introspected.status, introspected.text).toBe(503);
    expect(introspected.json).toEqual({ error: 'temporarily_unavailable', error_description: 'the token store is unavailable; try again shortly' });
    const revoked = await send(`${strict.url}/oauth/revoke`, { method: 'POST', headers: { ...form, ...DEMO_CLIENT_AUTH }, body: `token=${unseen}` });
    expect(revoked.status, revoked.text).toBe(503);
    // Unless the operator chose to let that check fail open.
    expect((await bearerGet(lenient.url, unseenLenient)).status).toBe(200);
    expect((await send(`${strict.url}/healthz`)).status).toBe(200);

    await redis.start();
    await eventually(async () => expect((await send(`${strict.url}/readyz`)).status).toBe(200), 5000);
    // The restarted Redis is empty. Once the proxy has resubscribed it stops trusting what it had checked before,
    // so credentials whose state was lost are refused rather than waved through from the caches.
    await eventually(async () => expect((await bearerGet(strict.url, seen)).json?.reason).toBe('token_revoked'), 5000);
    expect((await pcrUse(strict.url, session)).status).toBe(401);
    const fresh = await pcrLogin(strict.url);
    expect((await pcrUse(strict.url, fresh)).status).toBe(200);
    expect((await bearerGet(strict.url, await accessToken(strict.url))).status).toBe(200);
  });
});

/** A GET on a new connection, so the cluster's round robin hands it to the next worker. */
function getOnNewConnection(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { ...headers, connection: 'close' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

// Booting a primary and two workers takes seconds; it starts with the file and overlaps the fault tests above.
const workersPrefix = uniqueKeyPrefix('workers');
let workersUpstream: EchoUpstream | undefined;
let workersCli: Promise<CliProcess> | undefined;

beforeAll(async () => {
  if (sharedRedis === null) return;
  workersUpstream = await startEchoUpstream();
  const file = writeCliConfig(workersUpstream.url, (config) => {
    config['workers'] = 2;
    config['store'] = { type: 'redis', url: sharedRedis, keyPrefix: workersPrefix };
    // No signing key: the primary generates one for both workers.
    config['tokens'] = { ...(config['tokens'] as object), signingKeys: [] };
  });
  workersCli = startCli(file);
  // Awaited by the test; this only keeps a failed start from being reported before it.
  workersCli.catch(() => {});
});

afterAll(async () => {
  const cli = await workersCli?.catch(() => undefined);
  cli?.kill();
  await workersUpstream?.close();
  if (sharedRedis !== null) await flushKeyPrefix(sharedRedis, workersPrefix);
});

describe('workers', () => {
  it('refuses more than one worker on the in-memory store', async () => {
    const file = writeCliConfig('demo', (config) => {
      config['workers'] = 2;
      config['store'] = { type: 'memory' };
    });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await runStart(['--config', file])).toBe(1);
      expect(errors.mock.calls.map((call) => String(call[0])).join('\n')).toMatch(/workers: 2 needs the Redis store/);
    } finally {
      errors.mockRestore();
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });

  it.skipIf(sharedRedis === null)('on Redis serve one port, share one development key, and stop together on SIGTERM', async () => {
    const cli = await workersCli!;
    const ready = await cli.waitForLog((line) => line['msg'] === 'listening' && line['workers'] === 2, { after: 0, timeoutMs: 20_000 });
    expect(ready['url']).toBe(cli.url);
    // The banner follows the log line, from the primary only.
    await eventually(async () => expect(cli.stderr()).toMatch(/Portcullis listening on \S+ \(2 workers\)/), 5000);
    expect(cli.stderr().match(/Portcullis listening on/g)).toHaveLength(1);

    const token = await accessToken(cli.url);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await getOnNewConnection(`${cli.url}/api/tickets`, { authorization: `Bearer ${token}` }));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const servedBy = new Set(cli.logs().filter((line) => line['msg'] === 'request' && line['path'] === '/api/tickets').map((line) => line['worker']));
    expect(servedBy.size).toBe(2);

    const before = cli.logs().length;
    cli.signal('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.logs().slice(before).some((line) => line['msg'] === 'all workers exited')).toBe(true);
  }, 30_000);
});

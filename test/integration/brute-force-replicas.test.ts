// Brute-force protection across replicas: parallel wrong-password guesses for one user spread over two proxies on
// one Redis get no more real password checks, in all, than the per-user limit allows; the rest are 429. The store
// holds each attempt under way for every process, and a hold whose process vanished ends by itself.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { SECRETS } from '../fixtures/secrets.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { FROZEN_EPOCH, withPcr } from '../helpers/fixtures.js';
import { DEMO_CLIENT_AUTH, login, tokenRequest } from '../helpers/oauth.js';
import { pcrLoginRequest } from '../helpers/pcr.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually, flushKeyPrefix, sharedRedisUrl, uniqueKeyPrefix } from '../helpers/redis.js';
import { redisStoreOptions } from '../helpers/store-options.js';

const redisUrl = sharedRedisUrl();
const MAX_PER_USER = 5;
const GUESSES = 20;
const WINDOW_MS = 60_000;

describe.skipIf(redisUrl === null)('brute-force protection across two replicas', () => {
  const prefix = uniqueKeyPrefix('brute-force-replicas');
  const clock = new ManualClock(FROZEN_EPOCH);
  let upstream: EchoUpstream;
  let a: TestProxy;
  let b: TestProxy;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    const edit = withPcr((config) => {
      config['store'] = { type: 'redis', url: redisUrl, keyPrefix: prefix };
      config['protection'] = { bruteForce: { maxFailuresPerUser: MAX_PER_USER, maxFailuresPerAddress: 1000, window: '1m' } };
    });
    a = await startTestProxy({ ...edit, upstream, clock });
    b = await startTestProxy({ ...edit, upstream, clock });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await upstream?.close();
    if (redisUrl !== null) await flushKeyPrefix(redisUrl, prefix);
  });

  beforeEach(() => {
    clock.advance(WINDOW_MS + 1000);
  });

  const proxyFor = (i: number) => (i % 2 === 0 ? a : b);

  it(`lets at most ${MAX_PER_USER} of ${GUESSES} parallel OAuth guesses through both proxies reach the password check`, async () => {
    const answers = await Promise.all(
      Array.from({ length: GUESSES }, (_, i) =>
        tokenRequest(proxyFor(i).url, { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: `wrong-${i}` }, DEMO_CLIENT_AUTH),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    const checked = statuses.filter((status) => status === 400);
    expect(statuses.filter((status) => status !== 400 && status !== 429)).toEqual([]);
    expect(checked.length).toBeLessThanOrEqual(MAX_PER_USER);
    // The limit is reached, not undershot: the guesses that were checked were counted.
    expect(checked.length).toBe(MAX_PER_USER);
    // Now even the right password is refused, on either proxy.
    expect((await login(a.url)).status).toBe(429);
    expect((await login(b.url)).status).toBe(429);
  });

  it(`does the same for PCR-360 header logins`, async () => {
    const answers = await Promise.all(
      Array.from({ length: GUESSES }, (_, i) => pcrLoginRequest(proxyFor(i).url, SECRETS.rwKey, 'api-user', { password: `wrong-${i}` })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    expect(statuses.filter((status) => status === 401)).toHaveLength(MAX_PER_USER);
    expect((await pcrLoginRequest(b.url)).status).toBe(429);
  });

  it('frees the place of an attempt whose process never reported back', async () => {
    const store = new RedisStore(redisStoreOptions({ url: redisUrl!, keyPrefix: prefix }), clock);
    try {
      await store.waitUntilReady();
      const key = 'user:oauth:vanished';
      for (let i = 0; i < MAX_PER_USER; i++) expect(await store.holdLoginAttempt(key, MAX_PER_USER, `h${i}`, 300, clock.now())).toEqual({ status: 'held' });
      expect(await store.holdLoginAttempt(key, MAX_PER_USER, 'next', 300, clock.now())).toEqual({ status: 'busy' });
      await store.releaseLoginAttempts(key, ['h0']);
      expect(await store.holdLoginAttempt(key, MAX_PER_USER, 'next', 300, clock.now())).toEqual({ status: 'held' });
      // The holds end on Redis's own time, whatever the (frozen) clock says.
      await eventually(async () => expect(await store.holdLoginAttempt(key, MAX_PER_USER, 'later', 300, clock.now())).toEqual({ status: 'held' }), 3000, 50);
      // Failures count against the same limit, and a full window blocks whatever is held.
      await store.clearFailures(key);
      for (let i = 0; i < MAX_PER_USER; i++) await store.recordFailure(key, WINDOW_MS, clock.now());
      expect(await store.holdLoginAttempt(key, MAX_PER_USER, 'blocked', 300, clock.now())).toEqual({ status: 'blocked', resetAt: clock.now() + WINDOW_MS });
    } finally {
      await store.close();
    }
  });

  it('still lets parallel honest logins through both proxies', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => login(proxyFor(i).url)));
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 8 }, () => 200));
  });
});

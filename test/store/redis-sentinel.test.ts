// RedisStore through Redis Sentinel: the shared conformance suite against a store that finds its master by asking
// three sentinels (one master, one replica), as `store.sentinel` configures it; and the replication wait that keeps
// an acknowledged revocation from being lost when the master fails over.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createStore } from '../../src/store/factory.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { StoreUnavailableError } from '../../src/store/store.js';
import { eventually, flushKeyPrefix, privateRedisAvailable, uniqueKeyPrefix } from '../helpers/redis.js';
import { startSentinelDeployment, type SentinelDeployment } from '../helpers/redis-sentinel.js';
import { NO_STORE_SECRETS, redisStoreOptions, redisStoreSettings } from '../helpers/store-options.js';
import { redisRequired } from '../setup/global-redis.js';
import { storeConformanceSuite } from './conformance.js';

const filePrefix = uniqueKeyPrefix('redis-sentinel');
let counter = 0;

describe.skipIf(!privateRedisAvailable() && !redisRequired())('RedisStore via Sentinel', () => {
  let deployment: SentinelDeployment | null = null;

  beforeAll(async () => {
    deployment = await startSentinelDeployment();
  }, 40_000);

  afterAll(async () => {
    await deployment?.stop();
  });

  storeConformanceSuite('RedisStore via Sentinel', async () => {
    const d = deployment;
    if (!d) throw new Error('the Sentinel deployment did not start');
    const prefix = `${filePrefix}${++counter}:`;
    const clock = new ManualClock();
    const store = await createStore(
      redisStoreSettings({ sentinel: { name: d.name, nodes: d.sentinels }, keyPrefix: prefix }),
      clock,
      NO_STORE_SECRETS,
    );
    return {
      store,
      clock,
      cleanup: async () => {
        await store.close();
        const master = await d.currentMaster();
        await flushKeyPrefix(`redis://${master.host}:${master.port}`, prefix);
      },
    };
  });

  describe('replication wait', () => {
    it('answers a revocation only once the replica has it, and refuses to confirm one it does not', async () => {
      const d = deployment;
      if (!d) throw new Error('the Sentinel deployment did not start');
      const prefix = `${filePrefix}wait:`;
      const clock = new ManualClock();
      const store = new RedisStore(redisStoreOptions({ sentinel: { name: d.name, nodes: d.sentinels }, keyPrefix: prefix, replicationWait: { timeout: '200ms' } }), clock);
      const master = await d.currentMaster();
      const replica = d.dataNodes.find((n) => n.port !== master.port)!;
      try {
        await store.waitUntilReady();
        await store.revokeToken('jti-replicated', clock.now() + 60_000);
        d.pause(replica);
        let failure: unknown;
        try {
          const started = performance.now();
          failure = await store.revokeToken('jti-unconfirmed', clock.now() + 60_000).then(
            () => null,
            (err: unknown) => err,
          );
          expect(performance.now() - started).toBeLessThan(2000);
        } finally {
          d.resume(replica);
        }
        expect(failure).toBeInstanceOf(StoreUnavailableError);
        expect((failure as Error).message).toMatch(/0 of 1 replicas confirmed the write within 200 ms; it is in force on the master/);
        // Not confirmed is not undone: the master enforces it, and repeating it once the replica is back succeeds.
        expect(await store.isTokenRevoked('jti-unconfirmed', clock.now())).toBe(true);
        await eventually(() => store.revokeToken('jti-unconfirmed', clock.now() + 60_000), 5000, 100);
        const onReplica = new Redis({ host: replica.host, port: replica.port });
        try {
          expect(await onReplica.get(`${prefix}jti:jti-unconfirmed`)).not.toBeNull();
        } finally {
          onReplica.disconnect();
        }
      } finally {
        await store.close();
        await flushKeyPrefix(`redis://${master.host}:${master.port}`, prefix);
      }
    });

    it('is off without Sentinel unless configured, and refused with a timeout the command timeout cannot fit', () => {
      expect(redisStoreOptions({ url: 'redis://127.0.0.1:1' }).replicationWait).toEqual({ replicas: 0, timeoutMs: 250 });
      expect(redisStoreOptions({ sentinel: { name: 'm', nodes: [{ host: '127.0.0.1', port: 1 }] } }).replicationWait).toEqual({ replicas: 1, timeoutMs: 250 });
      // A short command timeout shortens the default wait with it, so the default always fits.
      expect(redisStoreOptions({ sentinel: { name: 'm', nodes: [{ host: '127.0.0.1', port: 1 }] }, commandTimeout: '200ms' }).replicationWait).toEqual({ replicas: 1, timeoutMs: 100 });
      expect(() => new RedisStore(redisStoreOptions({ url: 'redis://127.0.0.1:1', replicationWait: { replicas: 1, timeout: '1s' } }))).toThrow(
        /replicationWait.timeout must be shorter than commandTimeout/,
      );
    });
  });
});

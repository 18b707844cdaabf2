// RedisStore on a real Redis Cluster (three masters, three replicas): the shared conformance suites, as against a
// single Redis, so every script and pipeline is shown to address one slot, and revocation and credential events
// shown to cross the cluster's pub/sub between two store instances.

import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createStore } from '../../src/store/factory.js';
import { encodeRevocationMessage } from '../../src/store/redis/encoding.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { RevocationEvent } from '../../src/store/store.js';
import { redisClusterToolsAvailable, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { redisRequired } from '../setup/global-redis.js';
import { eventually, uniqueKeyPrefix } from '../helpers/redis.js';
import { NO_STORE_SECRETS, redisStoreOptions, redisStoreSettings } from '../helpers/store-options.js';
import { storeConformanceSuite } from './conformance.js';
import { audit, credentialConformanceSuite } from './credential-conformance.js';

const filePrefix = uniqueKeyPrefix('redis-cluster-store');
let counter = 0;
const nextPrefix = () => `${filePrefix}${++counter}:`;

// Without the tools this skips loudly, unless Redis is required: then startRedisCluster fails the run.
const runnable = redisClusterToolsAvailable() || redisRequired();
if (!runnable) console.warn('RedisStore cluster tests skipped: redis-server or redis-cli not on PATH');

describe.skipIf(!runnable)('RedisStore on a Redis Cluster', () => {
  let cluster: RedisClusterHandle | null = null;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const clusterHarness = async () => {
    if (!cluster) throw new Error('no Redis Cluster');
    const prefix = nextPrefix();
    const clock = new ManualClock();
    const store = await createStore(redisStoreSettings({ cluster: { nodes: cluster.nodes }, keyPrefix: prefix }), clock, NO_STORE_SECRETS);
    return {
      store,
      clock,
      cleanup: async () => {
        await store.close();
        await cluster?.flushKeyPrefix(prefix);
      },
    };
  };

  storeConformanceSuite('RedisStore (cluster)', clusterHarness);
  credentialConformanceSuite('RedisStore (cluster)', clusterHarness);

  it('spreads the hash tags over more than one master', async () => {
    const c = cluster!;
    const keys = ['{s}', '{f}', '{c}', 'jti:x', 'fail:y'].map((k) => `${filePrefix}${k}`);
    const masters = new Set(await Promise.all(keys.map(async (key) => c.masterOf(await c.keySlot(key)))));
    expect(masters.size).toBeGreaterThan(1);
  });

  it('delivers revocation and credential events between two instances through the cluster', async () => {
    const c = cluster!;
    const prefix = nextPrefix();
    const clock = new ManualClock();
    const open = [0, 1].map(() => new RedisStore(redisStoreOptions({ cluster: { nodes: c.nodes }, keyPrefix: prefix }), clock));
    try {
      await Promise.all(open.map((s) => s.waitUntilReady()));
      const [a, b] = open as [RedisStore, RedisStore];
      const seen: RevocationEvent[] = [];
      let changes = 0;
      b.onRevocation((e) => seen.push(e));
      b.credentials.onChange(() => changes++);
      await a.revokeToken('jti-1', clock.now() + 60_000);
      await a.credentials.put('key', 'k1', { n: 1 }, null, clock.now(), audit());
      await eventually(async () => {
        expect(seen).toEqual([{ kind: 'token', jti: 'jti-1', until: clock.now() + 60_000 }]);
        expect(changes).toBe(1);
      }, 3000);
      expect(await b.isTokenRevoked('jti-1', clock.now())).toBe(true);
    } finally {
      await Promise.all(open.map((s) => s.close()));
      await c.flushKeyPrefix(prefix);
    }
  });

  // Last, as it kills a node: ioredis moves a cluster subscription to another node without any event of its own,
  // and the store must still announce the resync that tells its caches that events may have been lost.
  it('announces a resync when the node its subscription is on dies, and hears events again', async () => {
    const c = cluster!;
    const prefix = nextPrefix();
    const store = new RedisStore(redisStoreOptions({ cluster: { nodes: c.nodes }, keyPrefix: prefix }), new ManualClock());
    const publisher = new Cluster(c.nodes);
    publisher.on('error', () => {});
    try {
      await store.waitUntilReady();
      let resyncs = 0;
      const seen: RevocationEvent[] = [];
      store.onResync(() => resyncs++);
      store.onRevocation((e) => seen.push(e));
      const [node] = await c.subscriberNodes();
      expect(node).toBeDefined();
      await c.killNode(node!);
      await eventually(async () => expect(resyncs).toBeGreaterThan(0), 15_000, 50);
      const event: RevocationEvent = { kind: 'session', id: 's-after-move' };
      // Published again until heard: the publisher, too, may first pick the dead node.
      await eventually(async () => {
        await publisher.publish(`${prefix}revocations`, encodeRevocationMessage('another-process', event)).catch(() => 0);
        await new Promise((r) => setTimeout(r, 100));
        expect(seen).toContainEqual(event);
      }, 10_000);
    } finally {
      publisher.disconnect();
      await store.close();
    }
  }, 30_000);
});

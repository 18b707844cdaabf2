// RedisStore: the shared conformance suite against a real Redis, plus cross-process events, key layout and
// TTLs, and behaviour while Redis is down or hung (on a private server so other files are not disturbed).

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { createStore } from '../../src/store/factory.js';
import { parseRedisUrl } from '../../src/store/redis/client-options.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { StoreUnavailableError, type RevocationEvent, type SessionRecord } from '../../src/store/store.js';
import { eventually, flushKeyPrefix, sharedRedisUrl, startPrivateRedis, uniqueKeyPrefix, type PrivateRedis } from '../helpers/redis.js';
import { NO_STORE_SECRETS, redisStoreOptions, redisStoreSettings } from '../helpers/store-options.js';
import { storeConformanceSuite } from './conformance.js';
import { credentialConformanceSuite } from './credential-conformance.js';

const url = sharedRedisUrl();
const filePrefix = uniqueKeyPrefix('redis-store');
let counter = 0;
const nextPrefix = () => `${filePrefix}${++counter}:`;

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

describe('parseRedisUrl', () => {
  it('splits a full URL', () => {
    expect(parseRedisUrl('redis://app:s%40cret@cache.internal:6380/3')).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 3,
      username: 'app',
      password: 's@cret',
    });
  });

  it('defaults the port, accepts a password without user, IPv6 and rediss', () => {
    expect(parseRedisUrl('redis://localhost')).toEqual({ host: 'localhost', port: 6379 });
    expect(parseRedisUrl('redis://:pw@localhost/')).toEqual({ host: 'localhost', port: 6379, password: 'pw' });
    expect(parseRedisUrl('rediss://[::1]:7000')).toEqual({ host: '::1', port: 7000, tls: true });
  });

  it.each([
    ['http://user:hunter2@host:6379', /unsupported scheme/],
    ['user:hunter2@host:6379', /missing scheme/],
    ['redis://user:hunter2@host:99999', /./],
    ['redis://user:hunter2@host:6379/db0', /database number/],
    ['redis://user:hunter2@host:6379/1?tls=1', /query/],
    ['redis://user:hunter2@:6379', /./],
    ['redis://user:hunter2%zz@host', /./],
  ])('rejects %s without echoing the password', (input, reason) => {
    let error: unknown;
    try {
      parseRedisUrl(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Invalid Redis URL/);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe.skipIf(!url)('RedisStore', () => {
  const redisUrl = url as string;

  const redisHarness = async () => {
    const prefix = nextPrefix();
    const clock = new ManualClock();
    const store = await createStore(redisStoreSettings({ url: redisUrl, keyPrefix: prefix }), clock, NO_STORE_SECRETS);
    return {
      store,
      clock,
      cleanup: async () => {
        await store.close();
        await flushKeyPrefix(redisUrl, prefix);
      },
    };
  };
  storeConformanceSuite('RedisStore', redisHarness);
  // Redis specifics of the managed credentials are in redis-credentials.test.ts.
  credentialConformanceSuite('RedisStore', redisHarness);

  describe('across processes', () => {
    const open: RedisStore[] = [];
    let prefix: string;
    let admin: Redis;

    beforeAll(() => {
      admin = new Redis(redisUrl);
    });
    afterAll(async () => {
      await admin.quit();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
      await flushKeyPrefix(redisUrl, prefix);
    });

    const connect = async (keyPrefix: string, clock = new ManualClock()) => {
      const store = new RedisStore(redisStoreOptions({ url: redisUrl, keyPrefix }), clock);
      open.push(store);
      await store.waitUntilReady();
      return store;
    };

    const session = (clock: ManualClock, over: Partial<SessionRecord> = {}): SessionRecord => ({
      id: `s-${randomUUID()}`,
      keyId: 'key-a',
      user: 'alice',
      createdAt: clock.now(),
      lastActivity: clock.now(),
      expiresAt: clock.now() + 60_000,
      idleTimeoutMs: 30_000,
      ...over,
    });

    it('delivers events from another instance exactly once, and its own exactly once', async () => {
      prefix = nextPrefix();
      const clock = new ManualClock();
      const a = await connect(prefix, clock);
      const b = await connect(prefix, clock);
      const other = await connect(nextPrefix(), clock);
      const seenA: RevocationEvent[] = [];
      const seenB: RevocationEvent[] = [];
      const seenOther: RevocationEvent[] = [];
      a.onRevocation((e) => seenA.push(e));
      b.onRevocation((e) => seenB.push(e));
      other.onRevocation((e) => seenOther.push(e));

      const s = session(clock);
      await a.createSession(s);
      expect(await b.getSession(s.id, clock.now())).toEqual(s);
      await b.deleteSession(s.id);
      await b.revokeToken('jti-1', clock.now() + 1000);
      await a.revokeToken('jti-2', clock.now() + 1000);

      const expected: RevocationEvent[] = [
        { kind: 'session', id: s.id },
        { kind: 'token', jti: 'jti-1', until: clock.now() + 1000 },
        { kind: 'token', jti: 'jti-2', until: clock.now() + 1000 },
      ];
      await eventually(async () => expect(seenA).toHaveLength(3), 2000);
      await settle();
      // Pub/sub and direct delivery may interleave differently, so only the multiset is fixed.
      const key = (e: RevocationEvent) => JSON.stringify(e);
      expect(seenA.map(key).sort()).toEqual(expected.map(key).sort());
      expect(seenB.map(key).sort()).toEqual(expected.map(key).sort());
      expect(seenOther).toEqual([]);
    });

    it('stores keys under the prefix with hash tags and relative TTLs', async () => {
      prefix = nextPrefix();
      // Far from the real time on purpose: an absolute expiry computed from this clock would be meaningless.
      const clock = new ManualClock(Date.UTC(2031, 5, 1));
      const store = await connect(prefix, clock);
      const s = session(clock, { expiresAt: clock.now() + 60_000, idleTimeoutMs: 20_000 });
      await store.createSession(s);
      await store.createFamily(
        {
          id: 'fam-1',
          clientId: 'portal',
          subject: 'alice',
          scope: '',
          createdAt: clock.now(),
          lastUsedAt: clock.now(),
          refreshExpiresAt: clock.now() + 120_000,
          accessExpiresAt: clock.now() + 30_000,
          revokedAt: null,
        },
        'h1',
      );
      await store.revokeToken('jti-1', clock.now() + 5_000);
      await store.recordFailure('ip:1', 7_000, clock.now());

      const keys = (await admin.keys(`${prefix}*`)).sort();
      expect(keys).toEqual(
        [
          `${prefix}{s}:sess:${s.id}`,
          `${prefix}{s}:idx:all`,
          `${prefix}{s}:idx:key:key-a`,
          `${prefix}{s}:idx:user:alice`,
          `${prefix}{f}:fam:fam-1`,
          `${prefix}{f}:rt:h1`,
          `${prefix}{f}:idx:all`,
          `${prefix}{f}:idx:client:portal`,
          `${prefix}{f}:idx:sub:alice`,
          `${prefix}jti:jti-1`,
          `${prefix}fail:ip:1`,
        ].sort(),
      );
      const ttl = async (k: string) => admin.pttl(`${prefix}${k}`);
      const near = (actual: number, expected: number) => {
        expect(actual).toBeLessThanOrEqual(expected);
        expect(actual).toBeGreaterThan(expected - 2000);
      };
      // Logical remaining time plus the 10 s grace.
      near(await ttl(`{s}:sess:${s.id}`), 30_000);
      near(await ttl('{s}:idx:user:alice'), 70_000);
      near(await ttl('{f}:fam:fam-1'), 130_000);
      near(await ttl('{f}:rt:h1'), 130_000);
      near(await ttl('jti:jti-1'), 15_000);
      near(await ttl('fail:ip:1'), 17_000);

      clock.advance(15_000);
      await store.touchSession(s.id, clock.now());
      near(await ttl(`{s}:sess:${s.id}`), 30_000);
    });

    it('keeps sessions without absolute expiry and their index without TTL', async () => {
      prefix = nextPrefix();
      const clock = new ManualClock();
      const store = await connect(prefix, clock);
      const s = session(clock, { expiresAt: null, idleTimeoutMs: 0 });
      await store.createSession(s);
      expect(await admin.pttl(`${prefix}{s}:sess:${s.id}`)).toBe(-1);
      expect(await admin.pttl(`${prefix}{s}:idx:all`)).toBe(-1);
    });

    it('drops index members whose record has vanished when listing', async () => {
      prefix = nextPrefix();
      const clock = new ManualClock();
      const store = await connect(prefix, clock);
      const keep = session(clock);
      const lost = session(clock);
      await store.createSession(keep);
      await store.createSession(lost);
      await admin.del(`${prefix}{s}:sess:${lost.id}`);
      expect((await store.listSessions({ user: 'alice' }, clock.now())).map((x) => x.id)).toEqual([keep.id]);
      expect(await admin.zrange(`${prefix}{s}:idx:user:alice`, '0', '-1')).toEqual([keep.id]);
      expect(await store.deleteSessions({})).toEqual([keep.id]);
      expect(await admin.zcard(`${prefix}{s}:idx:all`)).toBe(0);
    });

    it('lets exactly one of 20 redeems from separate instances rotate', async () => {
      prefix = nextPrefix();
      const clock = new ManualClock();
      const stores = await Promise.all(Array.from({ length: 4 }, () => connect(prefix, clock)));
      const now = clock.now();
      await stores[0]!.createFamily(
        {
          id: 'fam',
          clientId: 'portal',
          subject: 'alice',
          scope: '',
          createdAt: now,
          lastUsedAt: now,
          refreshExpiresAt: now + 60_000,
          accessExpiresAt: now + 10_000,
          revokedAt: null,
        },
        'h1',
      );
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          stores[i % 4]!.redeemRefreshToken('h1', `n${i}`, { refreshExpiresAt: now + 70_000, accessExpiresAt: now + 20_000 }, now + 1),
        ),
      );
      expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'reused')).toHaveLength(19);
      expect((await stores[3]!.getFamily('fam', now + 2))?.revokedAt).toBe(now + 1);
    });

    it('fails clearly and without credentials when Redis is unreachable', async () => {
      prefix = nextPrefix();
      const started = Date.now();
      const attempt = createStore(
        redisStoreSettings({ url: 'redis://app:hunter2-secret@127.0.0.1:1', keyPrefix: prefix, connectTimeout: '300ms', commandTimeout: '200ms' }),
        systemClock,
        NO_STORE_SECRETS,
      );
      await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(attempt).rejects.toThrow(/not reachable at 127\.0\.0\.1:1 within 500 ms/);
      await attempt.catch((err: Error) => {
        expect(err.message).not.toContain('hunter2');
        expect(JSON.stringify(err)).not.toContain('hunter2');
        expect(err.cause).toBeUndefined();
      });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('does not leak the password when authentication is refused', async () => {
      prefix = nextPrefix();
      const { host, port } = parseRedisUrl(redisUrl);
      const attempt = createStore(
        redisStoreSettings({ host, port, username: 'nobody', keyPrefix: prefix, connectTimeout: '300ms' }),
        systemClock,
        { redisPassword: 'hunter2-secret', sentinelPassword: null },
      );
      const err = (await attempt.then(
        () => null,
        (e: unknown) => e,
      )) as Error | null;
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err?.message).not.toContain('hunter2');
    });
  });

  describe('while Redis is down or hung', () => {
    let server: PrivateRedis | null = null;
    let store: RedisStore | undefined;
    const clock = new ManualClock();
    const COMMAND_TIMEOUT = 500;

    beforeAll(async () => {
      server = await startPrivateRedis();
      if (!server) return;
      store = new RedisStore(redisStoreOptions({ url: server.url, keyPrefix: 'fault:', commandTimeout: `${COMMAND_TIMEOUT}ms` }), clock);
      await store.waitUntilReady();
    });

    afterAll(async () => {
      await store?.close();
      await server?.close();
    });

    const timed = async (op: () => Promise<unknown>) => {
      const started = Date.now();
      const outcome = await op().then(
        () => null,
        (err: unknown) => err,
      );
      return { err: outcome, ms: Date.now() - started };
    };

    const works = async () => {
      await store!.ping();
      await store!.recordFailure('k', 60_000, clock.now());
      expect((await store!.failureCount('k', clock.now())).count).toBeGreaterThan(0);
    };

    it('rejects promptly with StoreUnavailableError while stopped and recovers after a restart', async (ctx) => {
      if (!server || !store) return ctx.skip();
      await works();
      await server.stop();

      const s = store;
      for (const op of [
        () => s.getSession('x', clock.now()),
        () => s.redeemRefreshToken('h', 'n', { refreshExpiresAt: 1, accessExpiresAt: 1 }, 0),
        () => s.ping(),
      ]) {
        const { err, ms } = await timed(op);
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeLessThan(2000);
      }

      await server.start();
      await eventually(works, 8000, 100);
    });

    it('rejects within the command timeout while hung and recovers when it answers again', async (ctx) => {
      if (!server || !store) return ctx.skip();
      await eventually(works, 8000, 100);
      server.pause();
      try {
        const s = store;
        for (const op of [() => s.getSession('x', clock.now()), () => s.recordFailure('k', 1000, clock.now()), () => s.ping()]) {
          const { err, ms } = await timed(op);
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect((err as Error).message).toMatch(/timed out/i);
          expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT - 50);
          expect(ms).toBeLessThan(2000);
        }
      } finally {
        server.resume();
      }
      await eventually(works, 8000, 100);
    });
  });
});

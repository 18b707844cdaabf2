// The Redis store's managed credentials beyond the shared conformance suite (run in redis.test.ts): changes
// announced across processes exactly once, the key layout, audit retention, a resync after the subscriber lost
// its connection, a listing as a single command, and outages (those on a private server, so no one else is hit).

import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { audit } from './credential-conformance.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { StoreUnavailableError } from '../../src/store/store.js';
import { eventually, flushKeyPrefix, sharedRedisUrl, startPrivateRedis, uniqueKeyPrefix, type PrivateRedis } from '../helpers/redis.js';
import { redisStoreOptions } from '../helpers/store-options.js';

const url = sharedRedisUrl();
const filePrefix = uniqueKeyPrefix('redis-credentials');
let counter = 0;
const nextPrefix = () => `${filePrefix}${++counter}:`;
const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));
const now = 1_800_000_000_000;


/** Counts a store's credential change notifications, keeping what each one said. */
const counting = (store: RedisStore) => {
  const seen = { calls: 0, changes: [] as unknown[] };
  store.credentials.onChange((change) => {
    seen.calls++;
    seen.changes.push(change);
  });
  return seen;
};

describe.skipIf(!url)('RedisStore managed credentials across processes', () => {
  const redisUrl = url as string;
  const open: RedisStore[] = [];
  const prefixes: string[] = [];
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(redisUrl);
  });
  afterAll(async () => {
    await admin.quit();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    await Promise.all(prefixes.splice(0).map((p) => flushKeyPrefix(redisUrl, p)));
  });

  const connect = async (keyPrefix: string, auditRetention?: number) => {
    const store = new RedisStore(redisStoreOptions({ url: redisUrl, keyPrefix }), new ManualClock(), { auditRetention });
    open.push(store);
    if (!prefixes.includes(keyPrefix)) prefixes.push(keyPrefix);
    await store.waitUntilReady();
    return store;
  };

  it("tells the other process within a second, and the writer's own listeners exactly once per write", async () => {
    const prefix = nextPrefix();
    const a = await connect(prefix);
    const b = await connect(prefix);
    const elsewhere = await connect(nextPrefix());
    const [seenA, seenB, seenElsewhere] = [counting(a), counting(b), counting(elsewhere)];

    const started = Date.now();
    await a.credentials.put('key', 'k1', { n: 1 }, null, now, audit());
    await eventually(async () => expect(seenB.calls).toBe(1), 1000, 5);
    expect(Date.now() - started).toBeLessThan(1000);
    // The writer knows which record it wrote; another process only that something changed.
    await eventually(async () => expect(seenA.changes).toEqual([{ kind: 'key', id: 'k1', version: 1 }]), 1000, 5);
    expect(seenB.changes).toEqual([null]);
    expect(await b.credentials.get('key', 'k1')).toMatchObject({ version: 1, data: { n: 1 } });

    await a.credentials.put('key', 'k1', { n: 2 }, 1, now + 1, audit({ action: 'update' }));
    await a.credentials.remove('key', 'k1', 2, audit({ action: 'delete' }));
    // Refused: told to no one.
    await a.credentials.put('key', 'k1', { n: 3 }, 9, now + 2, audit({ action: 'update' }));
    await b.credentials.put('user', 'u1', { n: 1 }, null, now, audit());
    await eventually(async () => expect(seenA.calls).toBe(4), 1000, 5);
    await eventually(async () => expect(seenB.calls).toBe(4), 1000, 5);
    // Long enough for any echo of a process's own message to have arrived, had it been handled.
    await settle();
    expect(seenA.calls).toBe(4);
    expect(seenB.calls).toBe(4);
    expect(seenElsewhere.calls).toBe(0);
    // Sessions' revocation events on the same channel are not mistaken for credential changes.
    await a.revokeToken('jti-1', now + 1000);
    await settle();
    expect(seenB.calls).toBe(4);
  });

  it('keeps every credential key under the {c} hash tag, records keyed kind:id', async () => {
    const prefix = nextPrefix();
    const store = await connect(prefix);
    await store.credentials.put('client', 'portal:1', { secretHash: 'sha256$x', list: [] }, null, now, audit());
    await store.credentials.appendAudit(audit({ action: 'revoke', grid: 'sessions' }));
    expect((await admin.keys(`${prefix}*`)).sort()).toEqual([`${prefix}{c}:audit`, `${prefix}{c}:audit:seq`, `${prefix}{c}:cred`]);
    expect(await admin.hkeys(`${prefix}{c}:cred`)).toEqual(['client:portal:1']);
    const stored = JSON.parse((await admin.hget(`${prefix}{c}:cred`, 'client:portal:1'))!) as Record<string, unknown>;
    // An empty array stays an array: the scripts never re-encode the JSON.
    expect(stored).toEqual({ version: 1, createdAt: now, updatedAt: now, kind: 'client', id: 'portal:1', data: { secretHash: 'sha256$x', list: [] } });
  });

  it('is not fooled by ids and data that look like the stored header', async () => {
    const store = await connect(nextPrefix());
    const id = 'x","version":99,"createdAt":1,';
    const data = { version: 42, createdAt: 'never', seq: 7, nested: { '"version":': 5 } };
    await store.credentials.put('key', id, data, null, now, audit());
    const updated = await store.credentials.put('key', id, { ...data, n: 2 }, 1, now + 10, audit({ action: 'update' }));
    expect(updated).toEqual({ ok: true, record: { kind: 'key', id, version: 2, createdAt: now, updatedAt: now + 10, data: { ...data, n: 2 } } });
    expect(await store.credentials.remove('key', id, 99, audit({ action: 'delete' }))).toMatchObject({ ok: false, current: { version: 2 } });
  });

  it('trims the audit log to its retention and still pages it by seq', async () => {
    const prefix = nextPrefix();
    const store = await connect(prefix, 5);
    const seqs: number[] = [];
    for (let i = 0; i < 8; i++) seqs.push((await store.credentials.appendAudit(audit({ target: `t${i}` }))).seq);
    expect(await admin.llen(`${prefix}{c}:audit`)).toBe(5);
    const kept = await store.credentials.listAudit({ limit: 10 });
    expect(kept.map((e) => e.seq)).toEqual(seqs.slice(3).reverse());
    expect(kept.map((e) => e.target)).toEqual(['t7', 't6', 't5', 't4', 't3']);
    expect((await store.credentials.listAudit({ limit: 2, before: seqs[6]! })).map((e) => e.target)).toEqual(['t5', 't4']);
    expect(await store.credentials.listAudit({ limit: 10, before: seqs[3]! })).toEqual([]);
    // A page starting below what was trimmed away is empty rather than wrong.
    expect(await store.credentials.listAudit({ limit: 10, before: seqs[1]! })).toEqual([]);
  });
});

describe('RedisStore managed credentials on a private Redis', () => {
  let server: PrivateRedis | null = null;
  let store: RedisStore | undefined;
  let writer: RedisStore | undefined;
  let admin: Redis | undefined;

  beforeAll(async () => {
    server = await startPrivateRedis();
    if (!server) return;
    const options = redisStoreOptions({ url: server.url, keyPrefix: 'cred:', commandTimeout: '500ms' });
    store = new RedisStore(options, new ManualClock());
    writer = new RedisStore(options, new ManualClock());
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    await Promise.all([store.waitUntilReady(), writer.waitUntilReady()]);
  });

  afterAll(async () => {
    admin?.disconnect();
    await store?.close();
    await writer?.close();
    await server?.close();
  });

  it('calls the listeners on resync after the subscriber lost its connection', async (ctx) => {
    if (!server || !store || !writer || !admin) return ctx.skip();
    const seen = counting(store);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await eventually(async () => expect(seen.calls).toBeGreaterThanOrEqual(1), 5000, 20);
    // Resubscribed: the other process's writes arrive again.
    const before = seen.calls;
    await writer.credentials.put('key', 'after-resync', { n: 1 }, null, now, audit());
    await eventually(async () => expect(seen.calls).toBe(before + 1), 1000, 5);
  });

  it('lists 10 000 records with a single HGETALL', async (ctx) => {
    if (!server || !store || !writer || !admin) return ctx.skip();
    const ids = Array.from({ length: 10_000 }, (_, i) => `bulk-${i}`);
    // In chunks, so no write waits behind thousands of others past the command timeout.
    for (let i = 0; i < ids.length; i += 500) {
      await Promise.all(ids.slice(i, i + 500).map((id) => writer!.credentials.put('key', id, { id }, null, now, audit({ target: id }))));
    }
    await admin.call('CONFIG', 'RESETSTAT');
    const listed = await store.credentials.list();
    const stats = String(await admin.call('INFO', 'commandstats'));
    // Less this test's own CONFIG RESETSTAT and INFO (Redis 7 names subcommands `config|resetstat`).
    const calls = Object.fromEntries(
      [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].filter((m) => !/^(config|info)\b/.test(m[1]!)).map((m) => [m[1], Number(m[2])]),
    );
    expect(calls).toEqual({ hgetall: 1 });
    expect(listed.filter((r) => r.id.startsWith('bulk-'))).toHaveLength(10_000);
  });

  it('rejects with StoreUnavailableError while Redis is down, and works again after a restart', async (ctx) => {
    if (!server || !store) return ctx.skip();
    await server.stop();
    const s = store.credentials;
    for (const op of [
      () => s.put('key', 'down', { n: 1 }, null, now, audit()),
      () => s.list(),
      () => s.get('key', 'down'),
      () => s.remove('key', 'down', 1, audit({ action: 'delete' })),
      () => s.appendAudit(audit()),
      () => s.listAudit({ limit: 10 }),
    ]) {
      await expect(op()).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    await server.start();
    await eventually(async () => expect((await s.put('key', 'up', { n: 1 }, null, now, audit())).ok).toBe(true), 8000, 100);
    expect(await s.list()).toHaveLength(1);
  });
});

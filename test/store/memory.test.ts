// MemoryStore: the shared conformance suite plus what only the in-process store has (bounds and purging).

import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { createStore } from '../../src/store/factory.js';
import { MemoryStore } from '../../src/store/memory.js';
import { NO_STORE_SECRETS, memoryStoreOptions, memoryStoreSettings } from '../helpers/store-options.js';
import { storeConformanceSuite } from './conformance.js';
import { credentialConformanceSuite } from './credential-conformance.js';
import { sessionAt, T0 } from './records-fixtures.js';

// Small bounds: the LRU maps preallocate their capacity, which at the 100k defaults costs ~100 ms per store.
const smallBounds = { maxSessions: 1000, maxFamilies: 1000, maxRevocations: 1000, maxFailureKeys: 1000 };

const memoryHarness = async () => {
  const clock = new ManualClock();
  const store = await createStore(memoryStoreSettings(smallBounds), clock, NO_STORE_SECRETS);
  return { store, clock, cleanup: () => store.close() };
};
storeConformanceSuite('MemoryStore', memoryHarness);
credentialConformanceSuite('MemoryStore', memoryHarness);

describe('MemoryStore specifics', () => {
  const t0 = T0;
  const session = sessionAt;

  it('is a memory store', async () => {
    expect((await createStore(memoryStoreSettings({ maxSessions: 5 }), systemClock, NO_STORE_SECRETS)).kind).toBe('memory');
  });

  it('rejects nonsensical bounds', () => {
    expect(() => new MemoryStore({ ...memoryStoreOptions(), maxSessions: 0 })).toThrow(RangeError);
    expect(() => new MemoryStore({ ...memoryStoreOptions(), maxFailureKeys: 1.5 })).toThrow(RangeError);
  });

  it('keeps four refresh tokens per family unless told otherwise', () => {
    expect(memoryStoreOptions({ maxFamilies: 10 }).maxRefreshTokens).toBe(40);
    expect(memoryStoreOptions({ maxFamilies: 10, maxRefreshTokens: 15 }).maxRefreshTokens).toBe(15);
  });

  it('evicts the least recently used session beyond maxSessions', async () => {
    const store = new MemoryStore(memoryStoreOptions({ maxSessions: 2 }));
    await store.createSession(session('a'));
    await store.createSession(session('b'));
    await store.getSession('a', t0);
    await store.createSession(session('c'));
    expect(await store.getSession('a', t0)).not.toBeNull();
    expect(await store.getSession('b', t0)).toBeNull();
    expect(await store.getSession('c', t0)).not.toBeNull();
  });

  it('makes room from expired revocations before evicting a live one', async () => {
    const clock = new ManualClock(t0);
    const store = new MemoryStore(memoryStoreOptions({ maxRevocations: 2 }), clock);
    await store.revokeToken('live', t0 + 10_000);
    await store.revokeToken('old', t0 + 1_000);
    clock.advance(2_000);
    await store.revokeToken('new', t0 + 10_000);
    expect(await store.isTokenRevoked('live', clock.now())).toBe(true);
    expect(await store.isTokenRevoked('new', clock.now())).toBe(true);
  });

  it('purgeExpired drops exactly what is dead at `now`', async () => {
    const store = new MemoryStore(memoryStoreOptions());
    await store.createSession(session('idle', { idleTimeoutMs: 1000 }));
    await store.createSession(session('forever'));
    await store.createFamily(
      {
        id: 'f',
        clientId: 'c',
        subject: 's',
        scope: '',
        createdAt: t0,
        lastUsedAt: t0,
        refreshExpiresAt: t0 + 2000,
        accessExpiresAt: t0 + 500,
        revokedAt: null,
      },
      'h',
    );
    await store.revokeToken('j', t0 + 1000);
    await store.recordFailure('ip', 1000, t0);

    expect(store.purgeExpired(t0 + 999)).toBe(0);
    expect(store.purgeExpired(t0 + 1000)).toBe(3); // idle session, revocation, failure counter
    expect(await store.getSession('forever', t0 + 1000)).not.toBeNull();
    expect(await store.getFamily('f', t0 + 1999)).not.toBeNull();
    expect(store.purgeExpired(t0 + 2000)).toBe(2); // family and its refresh token
    expect(await store.redeemRefreshToken('h', 'h2', { refreshExpiresAt: t0 + 9000, accessExpiresAt: t0 + 9000 }, t0)).toEqual({
      status: 'unknown',
    });
  });

  it('refuses a refresh token for a family without refresh expiry', async () => {
    const store = new MemoryStore(memoryStoreOptions());
    await expect(
      store.createFamily(
        { id: 'f', clientId: 'c', subject: 's', scope: '', createdAt: t0, lastUsedAt: t0, refreshExpiresAt: null, accessExpiresAt: t0, revokedAt: null },
        'h',
      ),
    ).rejects.toThrow(TypeError);
  });
});

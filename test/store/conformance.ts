// The behaviour every Store implementation must show, run against each of them. Time only moves through the
// injected ManualClock, so every expiry boundary is checked to the millisecond.

import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import type { RevocationEvent, SessionRecord, Store, TokenFamilyRecord } from '../../src/store/store.js';

export interface StoreHarness {
  store: Store;
  clock: ManualClock;
  cleanup(): Promise<void>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Long enough for a Redis pub/sub echo of our own event to arrive if it were (wrongly) delivered again. */
const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

export function storeConformanceSuite(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`${name} conformance`, () => {
    let harness: StoreHarness;
    let store: Store;
    let clock: ManualClock;
    let t0: number;
    let events: RevocationEvent[];

    beforeEach(async () => {
      harness = await makeStore();
      ({ store, clock } = harness);
      t0 = clock.now();
      events = [];
      store.onRevocation((e) => events.push(e));
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    const session = (over: Partial<SessionRecord> = {}): SessionRecord => ({
      id: `s-${randomUUID()}`,
      keyId: 'key-a',
      user: 'alice',
      createdAt: clock.now(),
      lastActivity: clock.now(),
      expiresAt: clock.now() + 8 * HOUR,
      idleTimeoutMs: 15 * MINUTE,
      ...over,
    });

    const family = (over: Partial<TokenFamilyRecord> = {}): TokenFamilyRecord => ({
      id: `f-${randomUUID()}`,
      clientId: 'portal',
      subject: 'alice',
      scope: 'openid tickets',
      createdAt: clock.now(),
      lastUsedAt: clock.now(),
      refreshExpiresAt: clock.now() + 24 * HOUR,
      accessExpiresAt: clock.now() + 5 * MINUTE,
      revokedAt: null,
      ...over,
    });

    const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();

    describe('sessions', () => {
      it('round-trips a session and returns null for an unknown id', async () => {
        const s = session();
        await store.createSession(s);
        expect(await store.getSession(s.id, t0)).toEqual(s);
        expect(await store.getSession('nope', t0)).toBeNull();
      });

      it('returns copies that callers cannot use to change the stored record', async () => {
        const s = session();
        await store.createSession(s);
        s.user = 'mallory';
        const got = (await store.getSession(s.id, t0))!;
        got.lastActivity = t0 + HOUR;
        expect(await store.getSession(s.id, t0)).toMatchObject({ user: 'alice', lastActivity: t0 });
      });

      it('ends a session exactly at expiresAt', async () => {
        const s = session({ expiresAt: t0 + 1000, idleTimeoutMs: 0 });
        await store.createSession(s);
        expect(await store.getSession(s.id, t0 + 999)).not.toBeNull();
        expect(await store.getSession(s.id, t0 + 1000)).toBeNull();
      });

      it('ends an idle session exactly at lastActivity + idleTimeoutMs', async () => {
        const s = session({ expiresAt: null, idleTimeoutMs: 1000 });
        await store.createSession(s);
        clock.advance(999);
        expect(await store.getSession(s.id, clock.now())).not.toBeNull();
        clock.advance(1);
        expect(await store.getSession(s.id, clock.now())).toBeNull();
        expect(await store.touchSession(s.id, clock.now())).toBeNull();
      });

      it('keeps a session without limits alive however far the clock moves', async () => {
        const s = session({ expiresAt: null, idleTimeoutMs: 0 });
        await store.createSession(s);
        clock.advance(365 * 24 * HOUR);
        expect(await store.getSession(s.id, clock.now())).toEqual(s);
      });

      it('touch moves lastActivity forward and restarts the idle window', async () => {
        const s = session({ expiresAt: null, idleTimeoutMs: 1000 });
        await store.createSession(s);
        clock.advance(900);
        expect(await store.touchSession(s.id, clock.now())).toEqual({ ...s, lastActivity: t0 + 900 });
        expect(await store.getSession(s.id, t0 + 1899)).toEqual({ ...s, lastActivity: t0 + 900 });
        expect(await store.getSession(s.id, t0 + 1900)).toBeNull();
      });

      it('touch never moves lastActivity backwards', async () => {
        const s = session();
        await store.createSession(s);
        await store.touchSession(s.id, t0 + 500);
        expect(await store.touchSession(s.id, t0 + 100)).toMatchObject({ lastActivity: t0 + 500 });
        expect(await store.getSession(s.id, t0 + 600)).toMatchObject({ lastActivity: t0 + 500 });
      });

      it('touch cannot extend a session past its lifetime', async () => {
        const s = session({ expiresAt: t0 + 1000, idleTimeoutMs: 600 });
        await store.createSession(s);
        expect(await store.touchSession(s.id, t0 + 500)).not.toBeNull();
        expect(await store.getSession(s.id, t0 + 999)).not.toBeNull();
        expect(await store.getSession(s.id, t0 + 1000)).toBeNull();
        expect(await store.touchSession(s.id, t0 + 1000)).toBeNull();
      });

      it('touch of an unknown session returns null', async () => {
        expect(await store.touchSession('nope', t0)).toBeNull();
      });

      it('deletes a session once, publishing one event, and a later touch cannot bring it back', async () => {
        const s = session();
        await store.createSession(s);
        expect(await store.deleteSession(s.id)).toBe(true);
        expect(await store.deleteSession(s.id)).toBe(false);
        expect(await store.touchSession(s.id, t0 + 1)).toBeNull();
        expect(await store.getSession(s.id, t0 + 1)).toBeNull();
        await settle();
        expect(events).toEqual([{ kind: 'session', id: s.id }]);
      });

      it('a touch racing a delete never resurrects the session', async () => {
        const all = Array.from({ length: 10 }, () => session());
        for (const s of all) await store.createSession(s);
        await Promise.all(
          all.flatMap((s) => [store.touchSession(s.id, t0 + 10), store.deleteSession(s.id), store.touchSession(s.id, t0 + 20)]),
        );
        for (const s of all) expect(await store.getSession(s.id, t0 + 30)).toBeNull();
      });

      it('lists live sessions by key id and user', async () => {
        const a1 = session({ keyId: 'key-a', user: 'alice', createdAt: t0 - 3 });
        const a2 = session({ keyId: 'key-a', user: 'bob', createdAt: t0 - 2 });
        const b1 = session({ keyId: 'key-b', user: 'alice', createdAt: t0 - 1 });
        const dead = session({ keyId: 'key-a', user: 'alice', expiresAt: t0 + 10 });
        for (const s of [a1, a2, b1, dead]) await store.createSession(s);
        await store.touchSession(a1.id, t0 + 50);
        const now = t0 + 100;

        expect(await store.listSessions({}, now)).toEqual([{ ...a1, lastActivity: t0 + 50 }, a2, b1]);
        expect(ids(await store.listSessions({ keyId: 'key-a' }, now))).toEqual(ids([a1, a2]));
        expect(ids(await store.listSessions({ user: 'alice' }, now))).toEqual(ids([a1, b1]));
        expect(ids(await store.listSessions({ keyId: 'key-a', user: 'alice' }, now))).toEqual([a1.id]);
        expect(await store.listSessions({ keyId: 'key-c' }, now)).toEqual([]);
        expect(ids(await store.listSessions({}, t0 + 5))).toEqual(ids([a1, a2, b1, dead]));
      });

      it('does not list deleted sessions', async () => {
        const a = session();
        const b = session();
        await store.createSession(a);
        await store.createSession(b);
        await store.deleteSession(a.id);
        expect(ids(await store.listSessions({ user: 'alice' }, t0))).toEqual([b.id]);
        expect(ids(await store.listSessions({}, t0))).toEqual([b.id]);
      });

      it('deletes sessions by filter, one event each', async () => {
        const a1 = session({ keyId: 'key-a', user: 'alice' });
        const a2 = session({ keyId: 'key-a', user: 'bob' });
        const b1 = session({ keyId: 'key-b', user: 'alice' });
        const b2 = session({ keyId: 'key-b', user: 'carol' });
        for (const s of [a1, a2, b1, b2]) await store.createSession(s);

        expect((await store.deleteSessions({ keyId: 'key-b', user: 'bob' })).sort()).toEqual([]);
        expect((await store.deleteSessions({ user: 'alice' })).sort()).toEqual(ids([a1, b1]));
        expect(ids(await store.listSessions({}, t0))).toEqual(ids([a2, b2]));
        expect((await store.deleteSessions({ keyId: 'key-a' })).sort()).toEqual([a2.id]);
        expect((await store.deleteSessions({})).sort()).toEqual([b2.id]);
        expect(await store.listSessions({}, t0)).toEqual([]);
        expect(await store.getSession(a1.id, t0)).toBeNull();

        await settle();
        expect(events.map((e) => (e.kind === 'session' ? e.id : '?')).sort()).toEqual(ids([a1, a2, b1, b2]));
      });

      it('matches a model of lifetime, idleness and touches (property)', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.option(fc.integer({ min: 1, max: 5000 }), { nil: null }),
            fc.integer({ min: 0, max: 2000 }),
            fc.array(fc.record({ advance: fc.integer({ min: 0, max: 1500 }), touch: fc.boolean() }), { maxLength: 8 }),
            async (lifetime, idle, steps) => {
              const start = clock.now();
              const s = session({ expiresAt: lifetime === null ? null : start + lifetime, idleTimeoutMs: idle });
              await store.createSession(s);
              let now = start;
              let lastActivity = start;
              let dead = false;
              for (const step of steps) {
                now += step.advance;
                const modelLive: boolean =
                  !dead && (s.expiresAt === null || now < s.expiresAt) && (idle === 0 || now < lastActivity + idle);
                dead = !modelLive;
                const got = step.touch ? await store.touchSession(s.id, now) : await store.getSession(s.id, now);
                if (modelLive && step.touch) lastActivity = now;
                expect(got === null ? null : got.lastActivity).toBe(modelLive ? lastActivity : null);
              }
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    describe('refresh-token families', () => {
      const rotate = (over: { refresh?: number; access?: number } = {}) => ({
        refreshExpiresAt: clock.now() + (over.refresh ?? 24 * HOUR),
        accessExpiresAt: clock.now() + (over.access ?? 5 * MINUTE),
      });

      it('round-trips a family and returns null for an unknown id', async () => {
        const f = family();
        await store.createFamily(f, 'h1');
        expect(await store.getFamily(f.id, t0)).toEqual(f);
        expect(await store.getFamily('nope', t0)).toBeNull();
      });

      it('keeps a family until the later of its refresh and access expiry', async () => {
        const f = family({ accessExpiresAt: t0 + 1000, refreshExpiresAt: t0 + 5000 });
        await store.createFamily(f, 'h1');
        expect(await store.getFamily(f.id, t0 + 1000)).toEqual(f);
        expect(await store.getFamily(f.id, t0 + 4999)).toEqual(f);
        expect(await store.getFamily(f.id, t0 + 5000)).toBeNull();
      });

      it('keeps a family without refresh token until its access expiry', async () => {
        const f = family({ accessExpiresAt: t0 + 1000, refreshExpiresAt: null });
        await store.createFamily(f, null);
        expect(await store.getFamily(f.id, t0 + 999)).toEqual(f);
        expect(await store.getFamily(f.id, t0 + 1000)).toBeNull();
      });

      it('rotates: the old token is consumed, the new one becomes redeemable', async () => {
        const f = family();
        await store.createFamily(f, 'h1');
        clock.advance(MINUTE);
        const next = rotate();
        const r1 = await store.redeemRefreshToken('h1', 'h2', next, clock.now());
        const rotated = { ...f, lastUsedAt: clock.now(), ...next };
        expect(r1).toEqual({ status: 'rotated', family: rotated });
        expect(await store.getFamily(f.id, clock.now())).toEqual(rotated);

        clock.advance(MINUTE);
        const r2 = await store.redeemRefreshToken('h2', 'h3', rotate(), clock.now());
        expect(r2.status).toBe('rotated');
        await settle();
        expect(events).toEqual([]);
      });

      it('reuse of a consumed token revokes the family, once', async () => {
        const f = family();
        await store.createFamily(f, 'h1');
        clock.advance(MINUTE);
        expect((await store.redeemRefreshToken('h1', 'h2', rotate(), clock.now())).status).toBe('rotated');
        clock.advance(MINUTE);
        const reuseAt = clock.now();
        const reused = await store.redeemRefreshToken('h1', 'hx', rotate(), reuseAt);
        expect(reused).toMatchObject({ status: 'reused', family: { id: f.id, revokedAt: reuseAt } });
        expect(await store.getFamily(f.id, clock.now())).toMatchObject({ revokedAt: reuseAt });
        // The thief's replacement was never issued; the legitimate holder's token is now dead too.
        expect(await store.redeemRefreshToken('hx', 'hy', rotate(), clock.now())).toEqual({ status: 'unknown' });
        clock.advance(1);
        expect(await store.redeemRefreshToken('h2', 'h3', rotate(), clock.now())).toEqual({ status: 'revoked' });
        // Replaying again still reports reuse but keeps the first revocation time and publishes nothing new.
        expect(await store.redeemRefreshToken('h1', 'hz', rotate(), clock.now())).toMatchObject({
          status: 'reused',
          family: { revokedAt: reuseAt },
        });
        await settle();
        expect(events).toEqual([{ kind: 'family', id: f.id }]);
      });

      it('keeps a consumed token until the family refresh expiry set by its rotation', async () => {
        const f = family({ refreshExpiresAt: t0 + 1000 });
        await store.createFamily(f, 'h1');
        const next = { refreshExpiresAt: t0 + 10_000, accessExpiresAt: t0 + 600 };
        expect((await store.redeemRefreshToken('h1', 'h2', next, t0 + 500)).status).toBe('rotated');
        // Past the consumed token's own expiry, but replaying it is still recognised as reuse.
        expect((await store.redeemRefreshToken('h1', 'hx', next, t0 + 9_999)).status).toBe('reused');
        expect(await store.redeemRefreshToken('h1', 'hx', next, t0 + 10_000)).toEqual({ status: 'expired' });
      });

      it('rejects a refresh token exactly at its expiry', async () => {
        const f = family({ refreshExpiresAt: t0 + 1000, accessExpiresAt: t0 + 500 });
        const g = family({ refreshExpiresAt: t0 + 1000, accessExpiresAt: t0 + 500 });
        await store.createFamily(f, 'hf');
        await store.createFamily(g, 'hg');
        expect(await store.redeemRefreshToken('hf', 'hf2', rotate(), t0 + 1000)).toEqual({ status: 'expired' });
        expect((await store.redeemRefreshToken('hg', 'hg2', rotate(), t0 + 999)).status).toBe('rotated');
      });

      it('tells which family a refresh token redeems, without redeeming it', async () => {
        const f = family({ refreshExpiresAt: t0 + HOUR, accessExpiresAt: t0 + MINUTE });
        await store.createFamily(f, 'h1');
        expect(await store.redeemableRefreshToken('h1', t0)).toEqual(f);
        // Asking again changes nothing: the token is still the one to redeem.
        expect(await store.redeemableRefreshToken('h1', t0 + 1)).toEqual(f);
        expect(await store.redeemableRefreshToken('never-issued', t0)).toBeNull();
        expect(await store.redeemableRefreshToken('h1', t0 + HOUR)).toBeNull();

        clock.advance(MINUTE);
        expect((await store.redeemRefreshToken('h1', 'h2', rotate(), clock.now())).status).toBe('rotated');
        expect(await store.redeemableRefreshToken('h1', clock.now())).toBeNull();
        expect(await store.redeemableRefreshToken('h2', clock.now())).toMatchObject({ id: f.id, lastUsedAt: clock.now() });

        await store.revokeFamily(f.id, clock.now());
        expect(await store.redeemableRefreshToken('h2', clock.now())).toBeNull();
      });

      it('reports unknown tokens', async () => {
        expect(await store.redeemRefreshToken('never-issued', 'h2', rotate(), t0)).toEqual({ status: 'unknown' });
      });

      it('revokes a family: one event, its token is refused, and it stays listed until it expires', async () => {
        const f = family({ refreshExpiresAt: t0 + HOUR, accessExpiresAt: t0 + MINUTE });
        await store.createFamily(f, 'h1');
        clock.advance(10);
        expect(await store.revokeFamily(f.id, clock.now())).toBe(true);
        expect(await store.revokeFamily('nope', clock.now())).toBe(false);
        const revoked = { ...f, revokedAt: t0 + 10 };
        expect(await store.getFamily(f.id, clock.now())).toEqual(revoked);
        expect(await store.redeemRefreshToken('h1', 'h2', rotate(), clock.now())).toEqual({ status: 'revoked' });
        expect(await store.listFamilies({ subject: 'alice' }, clock.now())).toEqual([revoked]);
        expect(await store.revokeFamily(f.id, t0 + HOUR)).toBe(false);
        expect(await store.listFamilies({}, t0 + HOUR)).toEqual([]);
        await settle();
        expect(events).toEqual([{ kind: 'family', id: f.id }]);
      });

      it('lists live families by client id and subject', async () => {
        const p1 = family({ clientId: 'portal', subject: 'alice', createdAt: t0 - 3 });
        const p2 = family({ clientId: 'portal', subject: 'bob', createdAt: t0 - 2 });
        const m1 = family({ clientId: 'mobile', subject: 'alice', createdAt: t0 - 1, refreshExpiresAt: null });
        const old = family({ clientId: 'portal', subject: 'alice', accessExpiresAt: t0 + 10, refreshExpiresAt: t0 + 20 });
        await store.createFamily(p1, 'hp1');
        await store.createFamily(p2, 'hp2');
        await store.createFamily(m1, null);
        await store.createFamily(old, 'hold');
        const now = t0 + 100;
        expect(await store.listFamilies({}, now)).toEqual([p1, p2, m1]);
        expect(ids(await store.listFamilies({ clientId: 'portal' }, now))).toEqual(ids([p1, p2]));
        expect(ids(await store.listFamilies({ subject: 'alice' }, now))).toEqual(ids([p1, m1]));
        expect(ids(await store.listFamilies({ clientId: 'mobile', subject: 'alice' }, now))).toEqual([m1.id]);
        expect(await store.listFamilies({ clientId: 'other' }, now)).toEqual([]);
        expect(ids(await store.listFamilies({ subject: 'alice' }, t0 + 19))).toEqual(ids([p1, m1, old]));
      });

      it('a rotation extends how long a family is listed', async () => {
        const f = family({ refreshExpiresAt: t0 + 1000, accessExpiresAt: t0 + 500 });
        await store.createFamily(f, 'h1');
        await store.redeemRefreshToken('h1', 'h2', { refreshExpiresAt: t0 + 5000, accessExpiresAt: t0 + 1500 }, t0 + 900);
        expect(ids(await store.listFamilies({ clientId: 'portal' }, t0 + 4999))).toEqual([f.id]);
        expect(await store.listFamilies({ clientId: 'portal' }, t0 + 5000)).toEqual([]);
      });

      it('of 20 concurrent redeems of one token exactly one rotates; the rest see reuse', async () => {
        const f = family();
        await store.createFamily(f, 'h1');
        clock.advance(SECOND);
        const next = rotate();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.redeemRefreshToken('h1', `next-${i}`, next, clock.now())),
        );
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1);
        expect(statuses.filter((s) => s === 'reused')).toHaveLength(19);
        expect((await store.getFamily(f.id, clock.now()))?.revokedAt).toBe(clock.now());
        const winner = statuses.indexOf('rotated');
        expect(await store.redeemRefreshToken(`next-${winner}`, 'later', rotate(), clock.now())).toEqual({ status: 'revoked' });
        const loser = winner === 0 ? 1 : 0;
        expect(await store.redeemRefreshToken(`next-${loser}`, 'later', rotate(), clock.now())).toEqual({ status: 'unknown' });
        await settle();
        expect(events).toEqual([{ kind: 'family', id: f.id }]);
      });
    });

    describe('token revocations', () => {
      it('revokes a jti until `until`, exclusive, with one event', async () => {
        await store.revokeToken('jti-1', t0 + 1000);
        expect(await store.isTokenRevoked('jti-1', t0)).toBe(true);
        expect(await store.isTokenRevoked('jti-1', t0 + 999)).toBe(true);
        expect(await store.isTokenRevoked('jti-1', t0 + 1000)).toBe(false);
        expect(await store.isTokenRevoked('jti-2', t0)).toBe(false);
        await settle();
        expect(events).toEqual([{ kind: 'token', jti: 'jti-1', until: t0 + 1000 }]);
      });

      it('keeps the later of two revocations of the same jti', async () => {
        await store.revokeToken('jti-1', t0 + 5000);
        await store.revokeToken('jti-1', t0 + 1000);
        expect(await store.isTokenRevoked('jti-1', t0 + 4999)).toBe(true);
        await store.revokeToken('jti-1', t0 + 8000);
        expect(await store.isTokenRevoked('jti-1', t0 + 7999)).toBe(true);
        expect(await store.isTokenRevoked('jti-1', t0 + 8000)).toBe(false);
      });
    });

    describe('failure counters', () => {
      it('counts in a fixed window starting at the first failure', async () => {
        const window = 10_000;
        expect(await store.failureCount('ip:1', t0)).toEqual({ count: 0, resetAt: t0 });
        expect(await store.recordFailure('ip:1', window, t0)).toEqual({ count: 1, resetAt: t0 + window });
        expect(await store.recordFailure('ip:1', window, t0 + 4000)).toEqual({ count: 2, resetAt: t0 + window });
        expect(await store.recordFailure('ip:1', window, t0 + 9999)).toEqual({ count: 3, resetAt: t0 + window });
        expect(await store.failureCount('ip:1', t0 + 9999)).toEqual({ count: 3, resetAt: t0 + window });
        expect(await store.failureCount('ip:1', t0 + window)).toEqual({ count: 0, resetAt: t0 + window });
        expect(await store.recordFailure('ip:1', window, t0 + window)).toEqual({ count: 1, resetAt: t0 + 2 * window });
      });

      it('keeps keys apart and clears one', async () => {
        await store.recordFailure('user:alice', MINUTE, t0);
        await store.recordFailure('user:alice', MINUTE, t0);
        await store.recordFailure('user:bob', MINUTE, t0);
        await store.clearFailures('user:alice');
        await store.clearFailures('user:nobody');
        expect((await store.failureCount('user:alice', t0)).count).toBe(0);
        expect((await store.failureCount('user:bob', t0)).count).toBe(1);
        expect((await store.recordFailure('user:alice', MINUTE, t0 + 1)).count).toBe(1);
      });

      it('counts concurrent failures without losing any', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => store.recordFailure('ip:2', MINUTE, t0)));
        expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(await store.failureCount('ip:2', t0)).toEqual({ count: 20, resetAt: t0 + MINUTE });
      });
    });

    describe('purging', () => {
      it('purgeExpired keeps everything live, and what it drops was dead already', async () => {
        const live = session({ expiresAt: t0 + HOUR, idleTimeoutMs: 0 });
        const ending = session({ expiresAt: t0 + 1000, idleTimeoutMs: 0 });
        const f = family();
        await store.createSession(live);
        await store.createSession(ending);
        await store.createFamily(f, 'h1');
        await store.revokeToken('jti-p', t0 + HOUR);
        await store.recordFailure('ip:p', MINUTE, t0);
        const now = t0 + 1000;
        expect(store.purgeExpired(now)).toBeGreaterThanOrEqual(0);
        expect(ids(await store.listSessions({}, now))).toEqual([live.id]);
        expect(await store.getSession(ending.id, now)).toBeNull();
        expect(await store.getFamily(f.id, now)).toEqual(f);
        expect(await store.isTokenRevoked('jti-p', now)).toBe(true);
        expect((await store.failureCount('ip:p', now)).count).toBe(1);
      });
    });

    describe('revocation listeners and health', () => {
      it('delivers each event once to every listener until it unsubscribes', async () => {
        const second: RevocationEvent[] = [];
        const unsubscribe = store.onRevocation((e) => second.push(e));
        const s = session();
        await store.createSession(s);
        await store.deleteSession(s.id);
        await settle();
        unsubscribe();
        await store.revokeToken('jti-x', t0 + 1000);
        await settle();
        expect(second).toEqual([{ kind: 'session', id: s.id }]);
        expect(events).toEqual([
          { kind: 'session', id: s.id },
          { kind: 'token', jti: 'jti-x', until: t0 + 1000 },
        ]);
      });

      it('keeps delivering when a listener throws', async () => {
        const warnings: Error[] = [];
        const onWarning = (w: Error) => warnings.push(w);
        process.on('warning', onWarning);
        try {
          store.onRevocation(() => {
            throw new Error('listener bug');
          });
          await store.revokeToken('jti-y', t0 + 1000);
          await settle();
          expect(events).toEqual([{ kind: 'token', jti: 'jti-y', until: t0 + 1000 }]);
          expect(warnings.some((w) => w.message === 'listener bug')).toBe(true);
        } finally {
          process.off('warning', onWarning);
        }
      });

      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}

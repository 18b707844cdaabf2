// The record rules both stores share: a session's end reason must agree with whether the stores treat it as live.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSessionLive, sessionEndReason } from '../../src/store/records.js';
import type { SessionRecord } from '../../src/store/store.js';

const t0 = Date.UTC(2026, 0, 1);

const unlimited: SessionRecord = { id: 's', keyId: 'k', user: 'u', createdAt: t0, lastActivity: t0, expiresAt: null, idleTimeoutMs: 0 };
const session = (over: Partial<SessionRecord>): SessionRecord => ({ ...unlimited, ...over });

describe('sessionEndReason', () => {
  it('names the limit that ended the session, exactly at its boundary', () => {
    const s = session({ expiresAt: t0 + 5000, idleTimeoutMs: 1000 });
    expect(sessionEndReason(s, t0 + 999)).toBeNull();
    expect(sessionEndReason(s, t0 + 1000)).toBe('session_idle');
    expect(sessionEndReason({ ...s, lastActivity: t0 + 4500 }, t0 + 5000)).toBe('session_expired');
    expect(sessionEndReason(session({}), t0 + 365 * 24 * 3_600_000)).toBeNull();
  });

  it('counts a session past both limits as expired', () => {
    expect(sessionEndReason(session({ expiresAt: t0 + 2000, idleTimeoutMs: 1000 }), t0 + 3000)).toBe('session_expired');
  });

  it('is null exactly while the stores treat the session as live (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 20_000 }),
        (activityAfterStart, lifetime, idleTimeoutMs, elapsed) => {
          const s = session({ lastActivity: t0 + activityAfterStart, expiresAt: lifetime === null ? null : t0 + lifetime, idleTimeoutMs });
          expect(sessionEndReason(s, t0 + elapsed) === null).toBe(isSessionLive(s, t0 + elapsed));
        },
      ),
    );
  });
});

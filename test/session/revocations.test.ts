// The process's revocation view forgets what the store already answers for: an ended session's id after
// SESSION_REVOCATION_MEMORY_MS (its record is gone from the store), a revoked family only after the longest a token
// of it can live, so a busy portal's logouts do not pile up in every process.

import { describe, expect, it } from 'vitest';
import { RevocationView, SESSION_REVOCATION_MEMORY_MS } from '../../src/session/revocations.js';

const WEEK = 7 * 24 * 3600_000;

describe('RevocationView', () => {
  it('forgets an ended session after the session memory, a revoked family and token only when they expire', () => {
    const view = new RevocationView(WEEK);
    const t0 = Date.UTC(2026, 0, 15);
    view.apply({ kind: 'session', id: 's1' }, t0);
    view.apply({ kind: 'family', id: 'f1' }, t0);
    view.apply({ kind: 'token', jti: 'j1', until: t0 + 3600_000 }, t0);

    view.purge(t0 + SESSION_REVOCATION_MEMORY_MS - 1);
    expect([view.isSessionRevoked('s1'), view.isFamilyRevoked('f1'), view.isTokenRevoked('j1')]).toEqual([true, true, true]);
    view.purge(t0 + SESSION_REVOCATION_MEMORY_MS);
    expect([view.isSessionRevoked('s1'), view.isFamilyRevoked('f1'), view.isTokenRevoked('j1')]).toEqual([false, true, true]);
    view.purge(t0 + 3600_000);
    expect(view.isTokenRevoked('j1')).toBe(false);
    view.purge(t0 + WEEK - 1);
    expect(view.isFamilyRevoked('f1')).toBe(true);
    view.purge(t0 + WEEK);
    expect(view.isFamilyRevoked('f1')).toBe(false);
  });

  it('never remembers a session longer than a family', () => {
    const view = new RevocationView(60_000);
    view.apply({ kind: 'session', id: 's1' }, 0);
    view.purge(60_000);
    expect(view.isSessionRevoked('s1')).toBe(false);
  });
});

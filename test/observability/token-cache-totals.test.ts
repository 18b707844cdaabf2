// Totals of the verified-token caches across runtimes: a cache kept by a reload keeps counting, a replaced
// one's final counts are folded in before the new one's.

import { describe, expect, it } from 'vitest';
import { TokenCacheTotals } from '../../src/observability/token-cache-totals.js';
import type { Runtime } from '../../src/pipeline/runtime.js';

const counts = (hits: number, misses: number) => ({ hits, misses });
const runtime = (access: { hits: number; misses: number }, session: { hits: number; misses: number }) =>
  ({ accessTokens: { cache: access }, faces: [{ id: 'oauth' }, { id: 'pcr', tokenCaches: { session } }] }) as unknown as Runtime;

describe('TokenCacheTotals', () => {
  it('adds what a kept cache counted since the last fold', () => {
    const totals = new TokenCacheTotals();
    const access = counts(2, 1);
    const session = counts(0, 1);
    totals.fold(runtime(access, session));
    access.hits = 5;
    session.hits = 4;
    totals.fold(runtime(access, session));
    expect(totals.totals).toEqual({ access: { hits: 5, misses: 1 }, session: { hits: 4, misses: 1 } });
  });

  it("folds in a replaced cache's last counts, then counts the new one from zero", () => {
    const totals = new TokenCacheTotals();
    const first = counts(3, 1);
    const session = counts(1, 1);
    totals.fold(runtime(first, session));
    first.hits = 7;
    const second = counts(1, 2);
    totals.fold(runtime(second, session));
    expect(totals.totals.access).toEqual({ hits: 8, misses: 3 });
  });
});

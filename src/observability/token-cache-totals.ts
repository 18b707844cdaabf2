// Running totals of the verified-token caches' hits and misses. A reload may replace a cache, and a cache's
// counters start again at zero, so totals are folded in from every cache object the proxy has had.

import type { Runtime } from '../pipeline/runtime.js';
import type { CacheTotals, HitsAndMisses } from './metric-families.js';

/** A cache's counters as read on the last fold; the object is kept to read its final counts. */
interface CacheView extends HitsAndMisses {
  cache: HitsAndMisses | null;
}

export class TokenCacheTotals {
  readonly totals: CacheTotals = { access: { hits: 0, misses: 0 }, session: { hits: 0, misses: 0 } };
  readonly #accessCache: CacheView = { cache: null, hits: 0, misses: 0 };
  readonly #sessionCache: CacheView = { cache: null, hits: 0, misses: 0 };

  /** Adds what the runtime's caches counted since the last fold; a replaced cache's last counts are added first. */
  fold(runtime: Runtime): void {
    fold(this.#accessCache, runtime.accessTokens.cache, this.totals.access);
    fold(this.#sessionCache, runtime.faces.find((face) => face.tokenCaches?.['session'] !== undefined)?.tokenCaches?.['session'] ?? null, this.totals.session);
  }
}

function fold(view: CacheView, current: HitsAndMisses | null, totals: HitsAndMisses): void {
  if (view.cache !== null && view.cache !== current) {
    totals.hits += view.cache.hits - view.hits;
    totals.misses += view.cache.misses - view.misses;
    view.cache = null;
  }
  if (current === null) return;
  if (view.cache === null) {
    view.cache = current;
    view.hits = 0;
    view.misses = 0;
  }
  totals.hits += current.hits - view.hits;
  totals.misses += current.misses - view.misses;
  view.hits = current.hits;
  view.misses = current.misses;
}

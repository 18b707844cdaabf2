// Remembers tokens whose signature and claims were verified, until they expire, so a token seen before costs a
// map lookup instead of crypto. Bounded by entry count and by bytes (keys are the tokens themselves), so a
// flood of distinct tokens cannot grow memory past the configured bound.

import { LRUCache } from 'lru-cache';

/** Bytes counted per entry beyond the token's own length (claims object, bookkeeping). */
const ENTRY_OVERHEAD = 256;

export class VerifiedTokenCache<Claims extends { exp: number }> {
  readonly #entries: LRUCache<string, Claims>;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number, averageTokenBytes = 768) {
    this.#entries = new LRUCache({
      max: maxEntries,
      maxSize: maxEntries * (averageTokenBytes + ENTRY_OVERHEAD),
      sizeCalculation: (_claims, token) => token.length + ENTRY_OVERHEAD,
    });
  }

  /** The cached claims while the token is unexpired at `nowSeconds`; 'expired' once it is; undefined if unseen. */
  get(token: string, nowSeconds: number): Claims | 'expired' | undefined {
    const claims = this.#entries.get(token);
    if (claims === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (nowSeconds < claims.exp) return claims;
    this.#entries.delete(token);
    return 'expired';
  }

  set(token: string, claims: Claims): void {
    this.#entries.set(token, claims);
  }

  get size(): number {
    return this.#entries.size;
  }
}

// The signing keys of one external issuer, fetched from its JWKS URL and kept for the requests that need them.
//
// jose's createRemoteJWKSet would do the fetching, cooldown and caching, but not everything this proxy must bound:
// it neither limits the body while it streams nor the number of keys, its cooldown starts only after a success
// (so a down endpoint is asked again by every request), and once its cache is old a failed refetch fails the
// request instead of serving the last good set. So the fetch is ours (jwks-fetch.ts) and jose does the rest:
// createLocalJWKSet picks and imports the key for a token, jwtVerify checks it.
//
// The rules, all per issuer and with the injected clock:
// - one fetch in flight at a time; every request that needs keys meanwhile waits for that one;
// - at most one fetch per cooldown, whatever the reason (unknown `kid`, failure, first use), so a flood of
//   tokens with made-up `kid`s costs one fetch per cooldown at most;
// - a set older than maxAge is refreshed in the background while the old one keeps serving;
// - a failed fetch keeps the last good set.

import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../../clock.js';
import { fetchKeySet, KEY_SET_FETCH_OUTCOMES, type KeySetFetchOutcome, type KeySetSource } from './jwks-fetch.js';

export interface KeySet {
  /** Picks the key a token names (by `kid`, `alg` and key type) for jwtVerify. */
  resolve: JWTVerifyGetKey;
  /** The `kid`s in the set, so a token naming another one is known to need a refetch without any crypto. */
  kids: ReadonlySet<string>;
  fetchedAt: number;
}

export interface KeySetTiming {
  cooldownMs: number;
  maxAgeMs: number;
}

/** Fetches by outcome; kept by the caller so the totals outlive one key set (a reload that changes its settings). */
export type KeySetFetchTally = Record<KeySetFetchOutcome, number>;

export function emptyTally(): KeySetFetchTally {
  return Object.fromEntries(KEY_SET_FETCH_OUTCOMES.map((outcome) => [outcome, 0])) as KeySetFetchTally;
}

/** What one fetch did, for the log: never a token, only the issuer's name and what came back. */
export interface KeySetFetchReport {
  issuer: string;
  outcome: KeySetFetchOutcome;
  keys?: number;
  ignored?: number;
  /** Whether an earlier set is still in use after a failure. */
  keptPrevious?: boolean;
}

export class IssuerKeys {
  #current: KeySet | null = null;
  #inFlight: Promise<void> | null = null;
  #lastAttemptAt: number | null = null;

  constructor(
    readonly issuerName: string,
    private readonly source: KeySetSource,
    private readonly timing: KeySetTiming,
    private readonly clock: Clock,
    private readonly report: (fetch: KeySetFetchReport) => void,
    /** Where this set's fetches are counted, by outcome. */
    readonly fetches: KeySetFetchTally = emptyTally(),
  ) {}

  /** The set to verify with right now, without waiting; an old set starts a background refresh and keeps serving. */
  current(): KeySet | null {
    const set = this.#current;
    if (set !== null && this.clock.now() - set.fetchedAt >= this.timing.maxAgeMs) this.#fetchIfAllowed();
    return set;
  }

  /** The set, fetching the first one when the cooldown allows it; null while no fetch ever succeeded. */
  async firstSet(): Promise<KeySet | null> {
    if (this.#current !== null) return this.#current;
    await this.#fetchIfAllowed();
    return this.#current;
  }

  /**
   * After a token named a key that `seen` lacks: the set again, fetched anew unless the cooldown forbids it (a fetch
   * already in flight is waited for). Null when no other set came of it, so the token is refused.
   */
  async afterUnknownKey(seen: KeySet): Promise<KeySet | null> {
    if (this.#current !== seen) return this.#current;
    await this.#fetchIfAllowed();
    return this.#current !== seen ? this.#current : null;
  }

  #fetchIfAllowed(): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    const now = this.clock.now();
    if (this.#lastAttemptAt !== null && now - this.#lastAttemptAt < this.timing.cooldownMs) return Promise.resolve();
    this.#lastAttemptAt = now;
    // A fetch never fails the requests waiting for it: whatever went wrong, they see the set as it now is.
    const fetching = this.#fetch()
      .catch(() => {})
      .finally(() => {
        this.#inFlight = null;
      });
    this.#inFlight = fetching;
    return fetching;
  }

  async #fetch(): Promise<void> {
    const result = await fetchKeySet(this.source);
    if (result.ok) {
      try {
        this.#current = {
          resolve: createLocalJWKSet({ keys: result.keys }),
          kids: new Set(result.keys.flatMap((key) => (key.kid === undefined ? [] : [key.kid]))),
          fetchedAt: this.clock.now(),
        };
      } catch {
        this.#counted({ issuer: this.issuerName, outcome: 'invalid', keptPrevious: this.#current !== null });
        return;
      }
      this.#counted({ issuer: this.issuerName, outcome: 'ok', keys: result.keys.length, ignored: result.ignored });
      return;
    }
    this.#counted({ issuer: this.issuerName, outcome: result.failure, keptPrevious: this.#current !== null });
  }

  #counted(fetch: KeySetFetchReport): void {
    this.fetches[fetch.outcome]++;
    this.report(fetch);
  }
}

// This process's view of what has been revoked: sessions, token families and single tokens. The hot path asks
// it on every request (a Set lookup), so a revocation takes effect on the very next request even when the token
// itself is still in the verification cache. The store's revocation events keep it current across processes.
//
// Events can be missed (a replica started after the revocation, or its pub/sub connection dropped for a while),
// so a credential is checked against the store the first time this process sees it and trusted to the events
// only from then on. When the store reports a gap in its events (a resync), that trust is withdrawn: every
// credential is checked against the store again on its next use.

import type { RevocationEvent, Store } from '../store/store.js';

/** Far longer than a store read or the local session view (seconds), short enough that logouts do not pile up. */
export const SESSION_REVOCATION_MEMORY_MS = 10 * 60_000;

export class RevocationView {
  readonly #sessions = new Map<string, number>();
  readonly #families = new Map<string, number>();
  readonly #tokens = new Map<string, number>();
  /** Verified token claims (the cached objects themselves) whose revocation state the store has confirmed. */
  #confirmed = new WeakSet<object>();
  #generation = 0;
  #unsubscribe: (() => void) | null = null;
  /** Lets the session tracker drop its local copy the moment a session is revoked. */
  onSessionRevoked: ((id: string) => void) | null = null;

  constructor(
    /** How long a revoked family id is remembered locally (the longest a token of it can live). */
    private readonly rememberMs: number,
    /**
     * How long an ended session id is. Its record is gone from the store, which every later read asks, so the
     * memory only has to outlive the reads and local copies under way when the event came; keeping it as long as
     * a family's would grow with every logout.
     */
    private readonly sessionRememberMs: number = Math.min(rememberMs, SESSION_REVOCATION_MEMORY_MS),
  ) {}

  attach(store: Store, now: () => number): void {
    this.#unsubscribe?.();
    const offRevocation = store.onRevocation((event) => this.apply(event, now()));
    const offResync = store.onResync?.(() => this.resync()) ?? (() => {});
    this.#unsubscribe = () => {
      offRevocation();
      offResync();
    };
  }

  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  apply(event: RevocationEvent, now: number): void {
    if (event.kind === 'session') {
      this.#sessions.set(event.id, now + this.sessionRememberMs);
      this.onSessionRevoked?.(event.id);
    }
    else if (event.kind === 'family') this.#families.set(event.id, now + this.rememberMs);
    else this.#tokens.set(event.jti, event.until);
  }

  isSessionRevoked(id: string): boolean {
    return this.#sessions.has(id);
  }

  isFamilyRevoked(id: string): boolean {
    return this.#families.has(id);
  }

  isTokenRevoked(jti: string): boolean {
    return this.#tokens.has(jti);
  }

  /**
   * Bumped by every resync. Whoever checks the store captures it before asking and passes it back when
   * recording the answer, so an answer that may predate the gap is not trusted afterwards.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Whether the store was asked about this verified token since the last resync. */
  isConfirmed(claims: object): boolean {
    return this.#confirmed.has(claims);
  }

  /** Records that the store found the token live, as asked under `generation`. */
  confirm(claims: object, generation: number): void {
    if (generation === this.#generation) this.#confirmed.add(claims);
  }

  /** Events may have been lost: nothing confirmed so far is trusted without asking the store again. */
  resync(): void {
    this.#generation++;
    this.#confirmed = new WeakSet();
  }

  /** Drops entries whose tokens can no longer be valid anyway; called periodically. */
  purge(now: number): void {
    for (const map of [this.#sessions, this.#families, this.#tokens]) {
      for (const [id, until] of map) if (until <= now) map.delete(id);
    }
  }

  get size(): number {
    return this.#sessions.size + this.#families.size + this.#tokens.size;
  }
}

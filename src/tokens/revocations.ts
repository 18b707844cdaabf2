// This process's view of what has been revoked: sessions, token families and single tokens. The hot path asks
// it on every request (a Set lookup), so a revocation takes effect on the very next request even when the token
// itself is still in the verification cache. The store's revocation events keep it current across processes.

import type { RevocationEvent, Store } from '../store/store.js';

export class RevocationView {
  readonly #sessions = new Map<string, number>();
  readonly #families = new Map<string, number>();
  readonly #tokens = new Map<string, number>();
  #unsubscribe: (() => void) | null = null;
  /** Lets the session tracker drop its local copy the moment a session is revoked. */
  onSessionRevoked: ((id: string) => void) | null = null;

  /** How long a revoked session or family id is remembered locally (the longest a token of it can live). */
  constructor(private readonly rememberMs: number) {}

  attach(store: Store, now: () => number): void {
    this.#unsubscribe?.();
    this.#unsubscribe = store.onRevocation((event) => this.apply(event, now()));
  }

  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  apply(event: RevocationEvent, now: number): void {
    if (event.kind === 'session') {
      this.#sessions.set(event.id, now + this.rememberMs);
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

// A Store decorator that reports every operation's latency and failures, and every revocation event the process
// receives, to an observer (the metrics). Decisions stay with the wrapped store: results and errors pass through
// untouched, so wrapping can never change what the proxy does.

import { performance } from 'node:perf_hooks';
import type { FamilyFilter, RedeemResult, RevocationEvent, SessionFilter, SessionRecord, Store, TokenFamilyRecord } from './store.js';

/** The timed operations; a fixed list so the metric label stays bounded whatever a store implementation adds. */
export const STORE_OPERATIONS = [
  'createSession',
  'getSession',
  'touchSession',
  'deleteSession',
  'listSessions',
  'deleteSessions',
  'createFamily',
  'getFamily',
  'redeemRefreshToken',
  'redeemableRefreshToken',
  'revokeFamily',
  'listFamilies',
  'revokeToken',
  'isTokenRevoked',
  'recordFailure',
  'failureCount',
  'clearFailures',
  'ping',
] as const;

export type StoreOperation = (typeof STORE_OPERATIONS)[number];

export interface StoreObserver {
  storeOperation(operation: StoreOperation, seconds: number, failed: boolean): void;
  revocationReceived(kind: RevocationEvent['kind']): void;
}

export class InstrumentedStore implements Store {
  readonly #inner: Store;
  readonly #observer: StoreObserver;
  readonly #unsubscribe: () => void;
  /** Present when the wrapped store has it (Redis store), so resyncs reach the proxy through the wrapper. */
  readonly onResync?: (listener: () => void) => () => void;
  /** Present when the wrapped store holds login attempts for every process (Redis store); passed through untimed. */
  readonly holdLoginAttempt?: NonNullable<Store['holdLoginAttempt']>;
  readonly releaseLoginAttempts?: NonNullable<Store['releaseLoginAttempts']>;

  constructor(inner: Store, observer: StoreObserver) {
    this.#inner = inner;
    this.#observer = observer;
    // One subscription of our own, so each event is counted once however many listeners the proxy registers.
    this.#unsubscribe = inner.onRevocation((event) => observer.revocationReceived(event.kind));
    if (typeof inner.onResync === 'function') this.onResync = (listener) => inner.onResync!(listener);
    if (typeof inner.holdLoginAttempt === 'function' && typeof inner.releaseLoginAttempts === 'function') {
      this.holdLoginAttempt = (...hold) => inner.holdLoginAttempt!(...hold);
      this.releaseLoginAttempts = (key, holdIds) => inner.releaseLoginAttempts!(key, holdIds);
    }
  }

  get kind(): Store['kind'] {
    return this.#inner.kind;
  }

  /** Admin writes, not the hot path: passed through untimed. */
  get credentials(): Store['credentials'] {
    return this.#inner.credentials;
  }

  #time<T>(operation: StoreOperation, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const done = (failed: boolean) => this.#observer.storeOperation(operation, (performance.now() - started) / 1000, failed);
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (error) {
      done(true);
      throw error;
    }
    return pending.then(
      (value) => {
        done(false);
        return value;
      },
      (error: unknown) => {
        done(true);
        throw error;
      },
    );
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.#time('createSession', () => this.#inner.createSession(session));
  }

  getSession(id: string, now: number): Promise<SessionRecord | null> {
    return this.#time('getSession', () => this.#inner.getSession(id, now));
  }

  touchSession(id: string, now: number): Promise<SessionRecord | null> {
    return this.#time('touchSession', () => this.#inner.touchSession(id, now));
  }

  deleteSession(id: string): Promise<boolean> {
    return this.#time('deleteSession', () => this.#inner.deleteSession(id));
  }

  listSessions(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    return this.#time('listSessions', () => this.#inner.listSessions(filter, now));
  }

  deleteSessions(filter: SessionFilter): Promise<string[]> {
    return this.#time('deleteSessions', () => this.#inner.deleteSessions(filter));
  }

  createFamily(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void> {
    return this.#time('createFamily', () => this.#inner.createFamily(family, refreshTokenHash));
  }

  getFamily(id: string, now: number): Promise<TokenFamilyRecord | null> {
    return this.#time('getFamily', () => this.#inner.getFamily(id, now));
  }

  redeemRefreshToken(
    refreshTokenHash: string,
    nextHash: string,
    next: { refreshExpiresAt: number; accessExpiresAt: number },
    now: number,
  ): Promise<RedeemResult> {
    return this.#time('redeemRefreshToken', () => this.#inner.redeemRefreshToken(refreshTokenHash, nextHash, next, now));
  }

  redeemableRefreshToken(refreshTokenHash: string, now: number): Promise<TokenFamilyRecord | null> {
    return this.#time('redeemableRefreshToken', () => this.#inner.redeemableRefreshToken(refreshTokenHash, now));
  }

  revokeFamily(id: string, now: number): Promise<boolean> {
    return this.#time('revokeFamily', () => this.#inner.revokeFamily(id, now));
  }

  listFamilies(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]> {
    return this.#time('listFamilies', () => this.#inner.listFamilies(filter, now));
  }

  revokeToken(jti: string, until: number): Promise<void> {
    return this.#time('revokeToken', () => this.#inner.revokeToken(jti, until));
  }

  isTokenRevoked(jti: string, now: number): Promise<boolean> {
    return this.#time('isTokenRevoked', () => this.#inner.isTokenRevoked(jti, now));
  }

  recordFailure(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.#time('recordFailure', () => this.#inner.recordFailure(key, windowMs, now));
  }

  failureCount(key: string, now: number): Promise<{ count: number; resetAt: number }> {
    return this.#time('failureCount', () => this.#inner.failureCount(key, now));
  }

  clearFailures(key: string): Promise<void> {
    return this.#time('clearFailures', () => this.#inner.clearFailures(key));
  }

  /** Not timed: it is local bookkeeping, not a round trip, and STORE_OPERATIONS names the round trips. */
  purgeExpired(now: number): number {
    return this.#inner.purgeExpired(now);
  }

  onRevocation(listener: (event: RevocationEvent) => void): () => void {
    return this.#inner.onRevocation(listener);
  }

  ping(): Promise<void> {
    return this.#time('ping', () => this.#inner.ping());
  }

  close(): Promise<void> {
    this.#unsubscribe();
    return this.#inner.close();
  }
}

export function instrumentStore(store: Store, observer: StoreObserver): Store {
  return new InstrumentedStore(store, observer);
}

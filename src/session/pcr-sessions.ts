// Decides whether a PCR session is alive and records its use. Each process keeps a short-lived local copy of
// the session records it serves, so a busy session does not cost a store round trip per request, and writes
// activity back coalesced: at most once per write interval per session. Revocations (logout, admin) reach the
// local copy through the store's revocation events and win over anything cached.
//
// Accuracy: another process sees activity at most `writeIntervalMs` late, so on a multi-process deployment an
// inactivity timeout can end a session up to that much early; a local view is at most `localTtlMs` stale.
// After a resync (revocation events may have been lost) every local copy is read from the store again.

import { LRUCache } from 'lru-cache';
import type { Logger } from '../log/logger.js';
import { sessionEndReason } from '../store/records.js';
import type { SessionRecord, Store } from '../store/store.js';
import type { RevocationView } from './revocations.js';

/** Why a session can no longer be used; null while it can. */
export type SessionEnd = 'session_ended' | 'session_idle' | 'session_expired';

interface LocalSession {
  session: SessionRecord;
  fetchedAt: number;
  /** The lastActivity the store is known to hold. */
  storedActivity: number;
  /** The revocation view's generation when the copy was read; a resync since makes the copy stale. */
  generation: number;
}

export interface PcrSessionsOptions {
  /** How long a local copy is trusted before the store is asked again; 0 asks every time. */
  localTtlMs: number;
  /** Minimum time between two activity write-backs for one session; 0 writes every use. */
  writeIntervalMs: number;
  maxLocalSessions: number;
}

export class PcrSessions {
  readonly #local: LRUCache<string, LocalSession>;

  constructor(
    private readonly store: Store,
    private readonly revocations: RevocationView,
    private readonly logger: Logger,
    private readonly options: PcrSessionsOptions,
  ) {
    this.#local = new LRUCache({ max: options.maxLocalSessions });
    revocations.onSessionRevoked = (id) => this.#local.delete(id);
  }

  /**
   * Null while the session may be used, else why not. Answered from the local copy while it is fresh (no promise,
   * no allocation: the warm path), from the store otherwise.
   */
  check(sessionId: string, now: number): SessionEnd | null | Promise<SessionEnd | null> {
    if (this.revocations.isSessionRevoked(sessionId)) return 'session_ended';
    const local = this.#local.get(sessionId);
    if (local !== undefined && now - local.fetchedAt < this.options.localTtlMs && local.generation === this.revocations.generation) {
      return sessionEndReason(local.session, now);
    }
    return this.#refresh(sessionId, now, local);
  }

  async #refresh(sessionId: string, now: number, local: LocalSession | undefined): Promise<SessionEnd | null> {
    const generation = this.revocations.generation;
    const stored = await this.store.getSession(sessionId, now);
    // The revocation may have arrived while the store answered.
    if (this.revocations.isSessionRevoked(sessionId)) return 'session_ended';
    if (stored === null) {
      // A stale local copy still tells why the store let the session go; without one it simply ended.
      const reason = local ? sessionEndReason(local.session, now) : null;
      this.#local.delete(sessionId);
      return reason ?? 'session_ended';
    }
    const lastActivity = Math.max(stored.lastActivity, local?.session.lastActivity ?? 0);
    // Activity seen here since then still counts; whether the session lives is the store's word.
    const fresh: LocalSession = { session: { ...stored, lastActivity }, fetchedAt: now, storedActivity: stored.lastActivity, generation };
    this.#local.set(sessionId, fresh);
    return sessionEndReason(fresh.session, now);
  }

  /** Keeps a session just created here, so its first check needs no store round trip and knows why it died. */
  remember(session: SessionRecord, now: number): void {
    this.#local.set(session.id, { session: { ...session }, fetchedAt: now, storedActivity: session.lastActivity, generation: this.revocations.generation });
  }

  /** Records a successful use at `now`; the store hears of it at most once per write interval. */
  touch(sessionId: string, now: number): void {
    const local = this.#local.get(sessionId);
    if (local === undefined || this.revocations.isSessionRevoked(sessionId)) return;
    // The local copy is this object's own (copied from the store or from the login), so it is updated in place.
    if (now > local.session.lastActivity) local.session.lastActivity = now;
    if (now - local.storedActivity < this.options.writeIntervalMs) return;
    local.storedActivity = now;
    this.store.touchSession(sessionId, now).then(
      (updated) => {
        if (updated === null) this.#local.delete(sessionId);
      },
      (error: unknown) => this.logger.warn({ err: (error as Error).message }, 'session activity could not be written to the store'),
    );
  }

  forget(sessionId: string): void {
    this.#local.delete(sessionId);
  }
}

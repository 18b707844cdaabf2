// The rules about stored records that every store applies the same way: when a session or a family is dead,
// which records a filter selects, the listing order, and how revocation events reach listeners.

import type { FamilyFilter, RevocationEvent, SessionFilter, SessionRecord, TokenFamilyRecord } from './store.js';

type SessionTimes = Pick<SessionRecord, 'lastActivity' | 'expiresAt' | 'idleTimeoutMs'>;

/** The instant a session dies for good (lifetime or idleness, whichever comes first); Infinity if never. */
export function sessionDeadline(session: SessionTimes): number {
  let deadline = session.expiresAt ?? Number.POSITIVE_INFINITY;
  if (session.idleTimeoutMs > 0) deadline = Math.min(deadline, session.lastActivity + session.idleTimeoutMs);
  return deadline;
}

export function isSessionLive(session: SessionRecord, now: number): boolean {
  return now < sessionDeadline(session);
}

/**
 * Why a session is dead at `now`, or null while it lives (then `isSessionLive` agrees). A session past both
 * limits counts as expired: the lifetime is the limit nobody can extend.
 */
export function sessionEndReason(session: SessionTimes, now: number): 'session_expired' | 'session_idle' | null {
  if (session.expiresAt !== null && now >= session.expiresAt) return 'session_expired';
  if (session.idleTimeoutMs > 0 && now - session.lastActivity >= session.idleTimeoutMs) return 'session_idle';
  return null;
}

/** Families stay visible (even when revoked) until neither their refresh nor their access tokens can be valid. */
export function familyKeepUntil(family: Pick<TokenFamilyRecord, 'refreshExpiresAt' | 'accessExpiresAt'>): number {
  return Math.max(family.refreshExpiresAt ?? Number.NEGATIVE_INFINITY, family.accessExpiresAt);
}

export function matchesSessionFilter(session: SessionRecord, filter: SessionFilter): boolean {
  return (
    (filter.keyId === undefined || session.keyId === filter.keyId) &&
    (filter.user === undefined || session.user === filter.user)
  );
}

export function matchesFamilyFilter(family: TokenFamilyRecord, filter: FamilyFilter): boolean {
  return (
    (filter.clientId === undefined || family.clientId === filter.clientId) &&
    (filter.subject === undefined || family.subject === filter.subject)
  );
}

/** Stable listing order for admin views: oldest first, ties broken by id. */
export function byCreation<T extends { createdAt: number; id: string }>(a: T, b: T): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export type RevocationListener = (event: RevocationEvent) => void;

/** The revocation listeners of one store: what every store's `onRevocation` hands out and delivers to. */
export class RevocationListeners {
  readonly #listeners = new Set<RevocationListener>();

  /** Adds `listener`; the function returned removes it. */
  add(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  deliver(event: RevocationEvent): void {
    deliverRevocation(this.#listeners, event);
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** Calls every listener on a later microtask so a store operation never runs listener code inline. */
function deliverRevocation(listeners: Iterable<RevocationListener>, event: RevocationEvent): void {
  for (const listener of [...listeners]) {
    queueMicrotask(() => callListener(() => listener(event)));
  }
}

/** One faulty listener must neither break the store operation nor starve the other listeners. */
export function callListener(call: () => void): void {
  try {
    call();
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'RevocationListenerWarning');
  }
}

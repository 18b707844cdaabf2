// The contract every state store fulfils: sessions, refresh-token families, revocations, login-failure
// counters, and (through `credentials`) the credentials administrators manage with the audit log of their
// changes. The memory and SQLite stores serve one process; the Redis store shares the same state across processes
// and replicas. Every time in here is milliseconds since the epoch read from the injected clock, never Date.now().

import type { CredentialStore } from './credentials.js';

/** A PCR-360 API session, created by header login and ended by logout, idleness, lifetime or an admin. */
export interface SessionRecord {
  /** Random session id; also the `sid` claim of the session token. */
  id: string;
  /** Id (from config) of the API key the session was opened with. */
  keyId: string;
  /** Login of the API user. */
  user: string;
  createdAt: number;
  /** Last authenticated, successful use. */
  lastActivity: number;
  /** Absolute end (lifetime, user expiry, key expiry, whichever is first); null = no limit. */
  expiresAt: number | null;
  /** Inactivity limit in ms; 0 = no limit. */
  idleTimeoutMs: number;
}

/** An OAuth grant: every access and refresh token issued from one password login shares a family. */
export interface TokenFamilyRecord {
  id: string;
  clientId: string;
  /** The operator login (`sub`). */
  subject: string;
  scope: string;
  createdAt: number;
  /** Last time a refresh token of this family was redeemed (or the family was created). */
  lastUsedAt: number;
  /** When the newest refresh token of the family stops being redeemable; null when no refresh token was issued. */
  refreshExpiresAt: number | null;
  /** When the newest access token of the family expires. */
  accessExpiresAt: number;
  /** Set when the family was revoked (reuse detected or an admin); revoked families stay until they expire. */
  revokedAt: number | null;
}

export type RedeemResult =
  | { status: 'rotated'; family: TokenFamilyRecord }
  /** The token had already been redeemed: the whole family is now revoked. */
  | { status: 'reused'; family: TokenFamilyRecord }
  | { status: 'expired' }
  | { status: 'revoked' }
  | { status: 'unknown' };

export interface SessionFilter {
  keyId?: string;
  user?: string;
}

export interface FamilyFilter {
  clientId?: string;
  subject?: string;
}

/** Published whenever a credential stops being valid, so every process drops its cached copy. */
export type RevocationEvent =
  | { kind: 'session'; id: string }
  | { kind: 'family'; id: string }
  | { kind: 'token'; jti: string; until: number };

export type LoginAttemptHold = { status: 'held' } | { status: 'busy' } | { status: 'blocked'; resetAt: number };

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  /** Managed API keys, API users, OAuth clients and operators, and the audit log of admin changes. */
  readonly credentials: CredentialStore;

  // Sessions
  createSession(session: SessionRecord): Promise<void>;
  /** The live session, or null when it is missing, ended, idle past its limit or past its lifetime at `now`. */
  getSession(id: string, now: number): Promise<SessionRecord | null>;
  /**
   * Moves lastActivity forward to `now` (never backwards) if the session is still live at `now`.
   * Returns the updated record, or null if it was not live (then nothing is written).
   */
  touchSession(id: string, now: number): Promise<SessionRecord | null>;
  /** Ends the session; returns whether it existed. Publishes a revocation event. */
  deleteSession(id: string): Promise<boolean>;
  listSessions(filter: SessionFilter, now: number): Promise<SessionRecord[]>;
  /** Ends every matching session; returns their ids. Publishes one revocation event per session. */
  deleteSessions(filter: SessionFilter): Promise<string[]>;

  // Refresh-token families
  /**
   * Stores a new family. `refreshTokenHash` (may be null when the client gets no refresh token) becomes the
   * family's one redeemable refresh token.
   */
  createFamily(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void>;
  getFamily(id: string, now: number): Promise<TokenFamilyRecord | null>;
  /**
   * Atomically redeems `refreshTokenHash` once: on success the token is consumed, `nextHash` becomes the family's
   * redeemable token with `next.refreshExpiresAt` / `next.accessExpiresAt`, and the family is returned.
   * A token that was already consumed revokes the whole family ('reused'). Exactly one of any number of
   * concurrent redeems of the same token sees 'rotated'.
   */
  redeemRefreshToken(
    refreshTokenHash: string,
    nextHash: string,
    next: { refreshExpiresAt: number; accessExpiresAt: number },
    now: number,
  ): Promise<RedeemResult>;
  /**
   * The family whose redeemable refresh token `refreshTokenHash` is, without redeeming it: null when the token is
   * unknown, already redeemed, expired, or its family is revoked or gone (introspection asks this).
   */
  redeemableRefreshToken(refreshTokenHash: string, now: number): Promise<TokenFamilyRecord | null>;
  /** Marks the family revoked; returns whether it existed. Publishes a revocation event. */
  revokeFamily(id: string, now: number): Promise<boolean>;
  listFamilies(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]>;

  // Revocations of single tokens (by jti), kept until the token would have expired anyway
  revokeToken(jti: string, until: number): Promise<void>;
  isTokenRevoked(jti: string, now: number): Promise<boolean>;

  // Login-failure counters for brute-force protection
  /** Adds one failure to `key` in a fixed window of `windowMs` starting at the first failure; returns the count and the window's end. */
  recordFailure(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  failureCount(key: string, now: number): Promise<{ count: number; resetAt: number }>;
  /** Forgets the counter, and any attempts held on it. */
  clearFailures(key: string): Promise<void>;
  /**
   * Stores shared by several processes hold the login attempts under way, so parallel guesses spread over
   * processes cannot get more password checks in all than `limit` (LoginGuard keeps its own holds per process
   * too). Atomically: 'blocked' when `key` has `limit` failures in its window, 'busy' when its failures plus the
   * attempts held reach `limit`, else the attempt `holdId` is held until released or for `holdMs` of real time
   * (an attempt whose process died frees its place by itself). `now` is the clock time the window is read at.
   */
  holdLoginAttempt?(key: string, limit: number, holdId: string, holdMs: number, now: number): Promise<LoginAttemptHold>;
  /** Frees attempts held with `holdLoginAttempt`; unknown ones are ignored. */
  releaseLoginAttempts?(key: string, holdIds: string[]): Promise<void>;

  /** Revocation events from this and every other process sharing the store. Returns an unsubscribe function. */
  onRevocation(listener: (event: RevocationEvent) => void): () => void;
  /**
   * Stores whose event delivery can have gaps (Redis pub/sub while reconnecting) call `listener` once events
   * flow again, so caches that relied on those events check the store anew. Returns an unsubscribe function.
   */
  onResync?(listener: () => void): () => void;

  /**
   * Forgets what is dead at `now` and did not expire by itself; returns how many entries went. The server calls
   * it periodically. Synchronous and local, so a periodic call can never wait on or fail with the backend.
   */
  purgeExpired(now: number): number;

  /** Resolves when the store answers; rejects otherwise (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by a store when its backend is unreachable or too slow; the pipeline turns it into a 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

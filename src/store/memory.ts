// In-process state store for a single Portcullis instance: bounded LRU maps that forget expired entries
// lazily on access and in bulk when the server calls purgeExpired().

import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../clock.js';
import type { FamilyFilter, RedeemResult, RevocationEvent, SessionFilter, SessionRecord, Store, TokenFamilyRecord } from './store.js';
import { byCreation, familyKeepUntil, RevocationListeners, isSessionLive, matchesFamilyFilter, matchesSessionFilter, type RevocationListener } from './records.js';
import { MemoryCredentialStore } from './memory-credentials.js';

/** The bounds of each map; the config schema's store section holds their defaults. */
export interface MemoryStoreOptions {
  maxSessions: number;
  maxFamilies: number;
  /** Refresh-token entries, live and consumed: a family's live token and those kept for reuse detection. */
  maxRefreshTokens: number;
  maxRevocations: number;
  maxFailureKeys: number;
}

const MEMORY_STORE_BOUNDS = [
  'maxSessions',
  'maxFamilies',
  'maxRefreshTokens',
  'maxRevocations',
  'maxFailureKeys',
] as const satisfies readonly (keyof MemoryStoreOptions)[];

interface RefreshTokenEntry {
  familyId: string;
  consumed: boolean;
  /**
   * For a live token: when it stops being redeemable. For a consumed one: how long it is kept so that
   * presenting it again is recognised as reuse, i.e. the family's refresh expiry as of the rotation.
   */
  expiresAt: number;
}

interface FailureEntry {
  count: number;
  resetAt: number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly credentials = new MemoryCredentialStore();

  readonly #sessions: LRUCache<string, SessionRecord>;
  readonly #families: LRUCache<string, TokenFamilyRecord>;
  readonly #refreshTokens: LRUCache<string, RefreshTokenEntry>;
  readonly #revocations: LRUCache<string, number>;
  readonly #failures: LRUCache<string, FailureEntry>;
  readonly #maxRevocations: number;
  readonly #listeners = new RevocationListeners();
  readonly #clock: Clock;

  constructor(options: MemoryStoreOptions, clock: Clock = systemClock) {
    for (const name of MEMORY_STORE_BOUNDS) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`MemoryStore: ${name} must be a positive integer`);
    }
    this.#clock = clock;
    this.#sessions = new LRUCache({ max: options.maxSessions });
    this.#families = new LRUCache({ max: options.maxFamilies });
    this.#refreshTokens = new LRUCache({ max: options.maxRefreshTokens });
    this.#revocations = new LRUCache({ max: options.maxRevocations });
    this.#maxRevocations = options.maxRevocations;
    this.#failures = new LRUCache({ max: options.maxFailureKeys });
  }

  // Sessions

  async createSession(session: SessionRecord): Promise<void> {
    this.#sessions.set(session.id, { ...session });
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const session = this.#liveSession(id, now);
    return session ? { ...session } : null;
  }

  async touchSession(id: string, now: number): Promise<SessionRecord | null> {
    const session = this.#liveSession(id, now);
    if (!session) return null;
    if (now > session.lastActivity) session.lastActivity = now;
    return { ...session };
  }

  async deleteSession(id: string): Promise<boolean> {
    if (!this.#sessions.delete(id)) return false;
    this.#emit({ kind: 'session', id });
    return true;
  }

  async listSessions(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const session of this.#sessions.values()) {
      if (matchesSessionFilter(session, filter) && isSessionLive(session, now)) out.push({ ...session });
    }
    return out.sort(byCreation);
  }

  async deleteSessions(filter: SessionFilter): Promise<string[]> {
    const ids: string[] = [];
    for (const session of this.#sessions.values()) {
      if (matchesSessionFilter(session, filter)) ids.push(session.id);
    }
    for (const id of ids) {
      this.#sessions.delete(id);
      this.#emit({ kind: 'session', id });
    }
    return ids;
  }

  // Refresh-token families

  async createFamily(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void> {
    if (refreshTokenHash !== null && family.refreshExpiresAt === null) {
      throw new TypeError('createFamily: a refresh token needs family.refreshExpiresAt');
    }
    this.#families.set(family.id, { ...family });
    if (refreshTokenHash !== null) {
      this.#refreshTokens.set(refreshTokenHash, {
        familyId: family.id,
        consumed: false,
        expiresAt: family.refreshExpiresAt as number,
      });
    }
  }

  async getFamily(id: string, now: number): Promise<TokenFamilyRecord | null> {
    const family = this.#liveFamily(id, now);
    return family ? { ...family } : null;
  }

  async redeemRefreshToken(
    refreshTokenHash: string,
    nextHash: string,
    next: { refreshExpiresAt: number; accessExpiresAt: number },
    now: number,
  ): Promise<RedeemResult> {
    // No await below: the whole check-and-rotate runs in one turn of the event loop, which is what makes it
    // atomic against concurrent redeems in this process.
    const token = this.#refreshTokens.get(refreshTokenHash);
    if (!token) return { status: 'unknown' };
    if (now >= token.expiresAt) {
      this.#refreshTokens.delete(refreshTokenHash);
      return { status: 'expired' };
    }
    const family = this.#families.get(token.familyId);
    if (!family) return { status: 'unknown' };
    if (now >= familyKeepUntil(family)) {
      this.#families.delete(family.id);
      return { status: 'expired' };
    }
    if (token.consumed) {
      // Reuse is checked before revocation so every replay of a stolen token reports 'reused', not only the first.
      if (family.revokedAt === null) {
        family.revokedAt = now;
        this.#emit({ kind: 'family', id: family.id });
      }
      return { status: 'reused', family: { ...family } };
    }
    if (family.revokedAt !== null) return { status: 'revoked' };

    token.consumed = true;
    token.expiresAt = next.refreshExpiresAt;
    this.#refreshTokens.set(nextHash, { familyId: family.id, consumed: false, expiresAt: next.refreshExpiresAt });
    family.lastUsedAt = now;
    family.refreshExpiresAt = next.refreshExpiresAt;
    family.accessExpiresAt = next.accessExpiresAt;
    return { status: 'rotated', family: { ...family } };
  }

  async redeemableRefreshToken(refreshTokenHash: string, now: number): Promise<TokenFamilyRecord | null> {
    const token = this.#refreshTokens.peek(refreshTokenHash);
    if (!token || token.consumed || now >= token.expiresAt) return null;
    const family = this.#liveFamily(token.familyId, now);
    return family && family.revokedAt === null ? { ...family } : null;
  }

  async revokeFamily(id: string, now: number): Promise<boolean> {
    const family = this.#liveFamily(id, now);
    if (!family) return false;
    if (family.revokedAt === null) family.revokedAt = now;
    this.#emit({ kind: 'family', id });
    return true;
  }

  async listFamilies(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]> {
    const out: TokenFamilyRecord[] = [];
    for (const family of this.#families.values()) {
      if (matchesFamilyFilter(family, filter) && now < familyKeepUntil(family)) out.push({ ...family });
    }
    return out.sort(byCreation);
  }

  // Single-token revocations

  async revokeToken(jti: string, until: number): Promise<void> {
    const current = this.#revocations.get(jti);
    if (current === undefined && this.#revocations.size >= this.#maxRevocations) {
      // Evicting a live revocation would make a revoked token valid again, so make room from expired ones first.
      this.#purge(this.#revocations, (u) => this.#clock.now() >= u);
    }
    this.#revocations.set(jti, Math.max(until, current ?? Number.NEGATIVE_INFINITY));
    this.#emit({ kind: 'token', jti, until });
  }

  async isTokenRevoked(jti: string, now: number): Promise<boolean> {
    const until = this.#revocations.get(jti);
    if (until === undefined) return false;
    if (now >= until) {
      this.#revocations.delete(jti);
      return false;
    }
    return true;
  }

  // Login-failure counters

  async recordFailure(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const entry = this.#failures.get(key);
    if (!entry || now >= entry.resetAt) {
      const fresh = { count: 1, resetAt: now + windowMs };
      this.#failures.set(key, fresh);
      return { ...fresh };
    }
    entry.count += 1;
    return { ...entry };
  }

  async failureCount(key: string, now: number): Promise<{ count: number; resetAt: number }> {
    const entry = this.#failures.get(key);
    if (!entry || now >= entry.resetAt) {
      if (entry) this.#failures.delete(key);
      return { count: 0, resetAt: now };
    }
    return { ...entry };
  }

  async clearFailures(key: string): Promise<void> {
    this.#failures.delete(key);
  }

  // Events and lifecycle

  onRevocation(listener: RevocationListener): () => void {
    return this.#listeners.add(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  /** Drops everything that is dead at `now`; returns how many entries were removed. */
  purgeExpired(now: number): number {
    let removed = 0;
    removed += this.#purge(this.#sessions, (s) => !isSessionLive(s, now));
    removed += this.#purge(this.#families, (f) => now >= familyKeepUntil(f));
    // After the families, so tokens whose family just went are dropped in the same pass.
    removed += this.#purge(this.#refreshTokens, (t) => now >= t.expiresAt || !this.#families.has(t.familyId));
    removed += this.#purge(this.#revocations, (until) => now >= until);
    removed += this.#purge(this.#failures, (f) => now >= f.resetAt);
    return removed;
  }

  #liveSession(id: string, now: number): SessionRecord | undefined {
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (!isSessionLive(session, now)) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  #liveFamily(id: string, now: number): TokenFamilyRecord | undefined {
    const family = this.#families.get(id);
    if (!family) return undefined;
    if (now >= familyKeepUntil(family)) {
      this.#families.delete(id);
      return undefined;
    }
    return family;
  }

  #purge<V extends {}>(cache: LRUCache<string, V>, isDead: (value: V) => boolean): number {
    // Collected first: deleting while walking the LRU's linked list would skip entries.
    const dead: string[] = [];
    for (const [key, value] of cache.entries()) if (isDead(value)) dead.push(key);
    for (const key of dead) cache.delete(key);
    return dead.length;
  }

  #emit(event: RevocationEvent): void {
    this.#listeners.deliver(event);
  }
}

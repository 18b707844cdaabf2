// Brute-force protection for the two places that check passwords (the OAuth token endpoint and PCR header
// login): failures are counted per username and per client address in the store, so every replica sees the
// same counts, and past a threshold further attempts are refused with 429 and Retry-After until the window ends.

import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';

export interface LoginGuardSettings {
  enabled: boolean;
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  /** Window length in ms: a counter starts at the first failure and is forgotten when the window ends. */
  window: number;
}

export type GuardVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const userKey = (face: string, username: string) => `user:${face}:${username}`;
const addressKey = (address: string) => `addr:${address}`;

/**
 * How long an allowed attempt may hold its place before it is assumed finished. Callers report most outcomes
 * (failed / succeeded) but not all of them (a bad scope, an operator without API access), so places must free
 * themselves; this is far longer than a password check takes.
 */
const ATTEMPT_HOLD_MS = 10_000;

interface PendingAttempts {
  /** Expiry timers of the attempts allowed and not yet reported, oldest first. */
  holds: NodeJS.Timeout[];
  waiters: (() => void)[];
}

export class LoginGuard {
  /**
   * Attempts per username that were allowed and whose outcome is not known yet. Without them, parallel guesses
   * would all pass the check before the first failure is counted, and the per-user limit would only bound how
   * many guesses an attacker sends one after another, not in total.
   */
  readonly #pending = new Map<string, PendingAttempts>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Read on every use, so a config reload changes thresholds at once. */
    private readonly currentSettings: () => LoginGuardSettings,
  ) {}

  private get settings(): LoginGuardSettings {
    return this.currentSettings();
  }

  /** Whether another attempt may be checked at all; asked before any password is verified. */
  async check(face: 'oauth' | 'pcr', username: string | null, address: string): Promise<GuardVerdict> {
    for (;;) {
      const settings = this.settings;
      if (!settings.enabled) return { allowed: true };
      const now = this.clock.now();
      const [byAddress, byUser] = await Promise.all([
        this.store.failureCount(addressKey(address), now),
        username === null ? Promise.resolve({ count: 0, resetAt: now }) : this.store.failureCount(userKey(face, username), now),
      ]);
      const blockedUntil = Math.max(
        byAddress.count >= settings.maxFailuresPerAddress ? byAddress.resetAt : 0,
        byUser.count >= settings.maxFailuresPerUser ? byUser.resetAt : 0,
      );
      if (blockedUntil !== 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((blockedUntil - now) / 1000)) };
      if (username === null) return { allowed: true };
      const key = userKey(face, username);
      const pending = this.#pending.get(key);
      if (pending === undefined || byUser.count + pending.holds.length < settings.maxFailuresPerUser) {
        this.#hold(key);
        return { allowed: true };
      }
      // The attempts under way could use up what is left of the allowance: wait for one to finish, then look
      // again. Honest parallel logins pass one by one this way; parallel guesses are refused once counted.
      await new Promise<void>((resolve) => pending.waiters.push(resolve));
    }
  }

  async failed(face: 'oauth' | 'pcr', username: string | null, address: string): Promise<void> {
    try {
      if (!this.settings.enabled) return;
      const now = this.clock.now();
      await Promise.all([
        this.store.recordFailure(addressKey(address), this.settings.window, now),
        username === null ? Promise.resolve() : this.store.recordFailure(userKey(face, username), this.settings.window, now),
      ]);
    } finally {
      // Only once the failure is in the store, so a waiting attempt sees it.
      if (username !== null) this.#release(userKey(face, username));
    }
  }

  /** A successful login clears the user's counter; the address keeps its count (it may be guessing others). */
  async succeeded(face: 'oauth' | 'pcr', username: string): Promise<void> {
    try {
      if (!this.settings.enabled) return;
      await this.store.clearFailures(userKey(face, username));
    } finally {
      this.#release(userKey(face, username));
    }
  }

  #hold(key: string): void {
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = { holds: [], waiters: [] };
      this.#pending.set(key, pending);
    }
    const timer = setTimeout(() => this.#release(key, timer), ATTEMPT_HOLD_MS);
    timer.unref();
    pending.holds.push(timer);
  }

  /** Frees the given hold (one that expired) or the oldest one (an attempt that reported its outcome). */
  #release(key: string, expired?: NodeJS.Timeout): void {
    const pending = this.#pending.get(key);
    if (pending === undefined) return;
    const index = expired === undefined ? 0 : pending.holds.indexOf(expired);
    if (index === -1 || pending.holds.length === 0) return;
    clearTimeout(pending.holds[index]);
    pending.holds.splice(index, 1);
    const waiters = pending.waiters.splice(0);
    if (pending.holds.length === 0) this.#pending.delete(key);
    for (const wake of waiters) wake();
  }
}

// Brute-force protection for the two places that check passwords (the OAuth token endpoint and PCR header
// login): failures are counted per username and per client address in the store, so every replica sees the
// same counts, and past a threshold further attempts are refused with 429 and Retry-After until the window ends.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

type Face = 'oauth' | 'pcr';

const userKey = (face: string, username: string) => `user:${face}:${username}`;
const addressKey = (address: string) => `addr:${address}`;

/**
 * How long an allowed attempt may hold its place before it is taken as finished. Callers report most outcomes
 * but not every one (a bad scope, an operator without API access), so places must also free themselves; this is
 * far longer than a password check takes.
 */
const ATTEMPT_HOLD_MS = 5_000;

/**
 * How often an attempt held back by another process's attempts looks again: that process's outcome is not
 * announced here, so it is polled for (a guess waits, an honest login rarely meets this).
 */
const SHARED_HOLD_POLL_MS = 25;

interface Hold {
  /** The attempt's name in the store, for stores that hold attempts for every process. */
  id: string;
  timer: NodeJS.Timeout;
}

interface PendingAttempts {
  /** Attempts allowed whose outcome is not reported yet, oldest first. */
  holds: Hold[];
  waiters: (() => void)[];
}

export class LoginGuard {
  /**
   * Attempts per username that were allowed and whose outcome is not known yet. Without them, parallel guesses
   * would all pass the check before the first failure is counted, and the per-user limit would bound how many
   * guesses arrive one after another, not how many arrive in all. They are per process; a store shared by
   * several processes (Redis) also holds each attempt for all of them, so the limit bounds the attempts of every
   * replica together.
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

  /**
   * Whether another attempt may be checked at all; asked before any password is verified. An allowed attempt
   * with a username should be followed by `failed`, `succeeded` or `finished`.
   */
  async check(face: Face, username: string | null, address: string): Promise<GuardVerdict> {
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
        const hold = this.#hold(key);
        if (this.store.holdLoginAttempt === undefined) return { allowed: true };
        let shared;
        try {
          shared = await this.store.holdLoginAttempt(key, settings.maxFailuresPerUser, hold.id, ATTEMPT_HOLD_MS, now);
        } catch (err) {
          // A command that timed out may still have held the attempt: let go of it too, as far as possible.
          await this.#release(key, hold);
          throw err;
        }
        if (shared.status === 'held') return { allowed: true };
        await this.#release(key, hold, false);
        if (shared.status === 'blocked') {
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((shared.resetAt - now) / 1000)) };
        }
        // Attempts under way in other processes could use up what is left: look again shortly.
        await sleep(SHARED_HOLD_POLL_MS);
        continue;
      }
      // The attempts under way could use up what is left of the allowance: wait for one to finish, then look
      // again. Honest parallel logins pass one after another this way; parallel guesses are refused once counted.
      await new Promise<void>((resolve) => pending.waiters.push(resolve));
    }
  }

  /** A wrong password (with the username), or a wrong client secret (without: it says nothing about the user). */
  async failed(face: Face, username: string | null, address: string): Promise<void> {
    try {
      if (!this.settings.enabled) return;
      const now = this.clock.now();
      await Promise.all([
        this.store.recordFailure(addressKey(address), this.settings.window, now),
        username === null ? Promise.resolve() : this.store.recordFailure(userKey(face, username), this.settings.window, now),
      ]);
    } finally {
      // Only once the failure is in the store, so a waiting attempt sees it. A failure without a username (a
      // wrong client secret) holds no place; its caller frees the attempt's place with `finished`.
      if (username !== null) await this.#release(userKey(face, username));
    }
  }

  /** A successful login clears the user's counter; the address keeps its count (it may be guessing others). */
  async succeeded(face: Face, username: string): Promise<void> {
    try {
      if (!this.settings.enabled) return;
      await this.store.clearFailures(userKey(face, username));
    } finally {
      // The counter starts again from nothing, so no attempt under way needs to be waited for any more. Clearing
      // the counter also cleared the attempts held on it in the store.
      await this.#release(userKey(face, username), 'all', false);
    }
  }

  /** An allowed attempt that ended without a verdict on the password: frees its place, counts nothing. */
  finished(face: Face, username: string): void {
    void this.#release(userKey(face, username));
  }

  #hold(key: string): Hold {
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = { holds: [], waiters: [] };
      this.#pending.set(key, pending);
    }
    const hold: Hold = { id: randomUUID(), timer: setTimeout(() => void this.#release(key, hold), ATTEMPT_HOLD_MS) };
    hold.timer.unref();
    pending.holds.push(hold);
    return hold;
  }

  /**
   * Frees one hold (the given one, or the oldest), or all of them, here and (unless `inStore` is false) in a store
   * that holds attempts too. Any of this process's holds stands for any of its attempts, as only their number
   * counts. Waiters are woken once the store has let go, so the place they wait for is really free.
   */
  async #release(key: string, which: Hold | 'oldest' | 'all' = 'oldest', inStore = true): Promise<void> {
    const pending = this.#pending.get(key);
    if (pending === undefined) return;
    const index = which === 'oldest' || which === 'all' ? 0 : pending.holds.indexOf(which);
    if (index === -1 || pending.holds.length === 0) return;
    const freed = pending.holds.splice(index, which === 'all' ? pending.holds.length : 1);
    for (const hold of freed) clearTimeout(hold.timer);
    if (inStore && this.store.releaseLoginAttempts !== undefined) {
      try {
        await this.store.releaseLoginAttempts(key, freed.map((hold) => hold.id));
      } catch {
        // A hold the store could not drop frees itself after ATTEMPT_HOLD_MS.
      }
    }
    const waiters = pending.waiters.splice(0);
    if (pending.holds.length === 0 && this.#pending.get(key) === pending) this.#pending.delete(key);
    for (const wake of waiters) wake();
  }
}

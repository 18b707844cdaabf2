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

export class LoginGuard {
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
    if (!this.settings.enabled) return { allowed: true };
    const now = this.clock.now();
    const [byAddress, byUser] = await Promise.all([
      this.store.failureCount(addressKey(address), now),
      username === null ? Promise.resolve({ count: 0, resetAt: now }) : this.store.failureCount(userKey(face, username), now),
    ]);
    const blockedUntil = Math.max(
      byAddress.count >= this.settings.maxFailuresPerAddress ? byAddress.resetAt : 0,
      byUser.count >= this.settings.maxFailuresPerUser ? byUser.resetAt : 0,
    );
    if (blockedUntil === 0) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((blockedUntil - now) / 1000)) };
  }

  async failed(face: 'oauth' | 'pcr', username: string | null, address: string): Promise<void> {
    if (!this.settings.enabled) return;
    const now = this.clock.now();
    await Promise.all([
      this.store.recordFailure(addressKey(address), this.settings.window, now),
      username === null ? Promise.resolve() : this.store.recordFailure(userKey(face, username), this.settings.window, now),
    ]);
  }

  /** A successful login clears the user's counter; the address keeps its count (it may be guessing others). */
  async succeeded(face: 'oauth' | 'pcr', username: string): Promise<void> {
    if (!this.settings.enabled) return;
    await this.store.clearFailures(userKey(face, username));
  }
}

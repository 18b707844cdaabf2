// Verifies presented secrets against stored scrypt hashes. scrypt is deliberately slow, so a successful
// verification is remembered (keyed by a SHA-256 of the stored hash and the presented secret, never the secret
// itself) for a few minutes: a script that calls /oauth/token in a loop with its client secret does not pay for
// scrypt every time. Failures are never cached, so guessing stays as slow as scrypt makes it.

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { decoyHashForTiming, verifySecret, type parseSecretHash } from './hash.js';

type ParsedHash = NonNullable<ReturnType<typeof parseSecretHash>>;

export interface StoredSecret {
  /** The hash as written in config; part of the cache key so a changed hash invalidates old successes. */
  text: string;
  parsed: ParsedHash;
}

export class SecretVerifier {
  readonly #successes = new LRUCache<string, true>({ max: 10_000, ttl: 5 * 60_000, ttlAutopurge: false });

  /**
   * Checks `presented` against `stored`; with `stored` null (unknown account) it spends the same time and fails.
   * With `rememberSuccess: false` the remembered successes are neither read nor written: for an account that is
   * refused anyway, where a fast right answer would tell a right secret from a wrong one.
   */
  async verify(presented: string, stored: StoredSecret | null, options: { rememberSuccess?: boolean } = {}): Promise<boolean> {
    if (stored === null) {
      await verifySecret(presented, await decoyHashForTiming());
      return false;
    }
    if (options.rememberSuccess === false) return verifySecret(presented, stored.parsed);
    const cacheKey = createHash('sha256').update(stored.text).update('\0').update(presented).digest('base64url');
    if (this.#successes.has(cacheKey)) return true;
    const ok = await verifySecret(presented, stored.parsed);
    if (ok) this.#successes.set(cacheKey, true);
    return ok;
  }
}

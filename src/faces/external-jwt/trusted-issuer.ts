// One configured external issuer at request time: its keys, its rules and the tokens of it already verified.
//
// Warm path: a token verified before is found by the SHA-256 of its text in this issuer's own cache and answered
// synchronously with the attribution built when it was verified: no decoding, no crypto, no promise. The cache
// belongs to one issuer, so a verification can never be reused for another. An entry lasts
// until the token expires (with the leeway) or until the issuer's keys are due for a refresh, whichever is first,
// so a key the issuer withdraws stops being honoured within that time.
//
// Cold path: the algorithm and `kid` are checked before any key is asked for; the key set is the current one, or
// the first fetch when there was none (503 issuer_keys_unavailable while none ever arrived); a `kid` the set lacks
// asks for one refetch, which the key set allows at most once per cooldown.

import type { Attribution, AuthOutcome } from '../../authenticate/contract.js';
import type { Clock } from '../../clock.js';
import type { ExternalIssuerConfig } from '../../config/schema/external-issuers.js';
import type { DenialReason } from '../../errors/reasons.js';
import { BEARER_STYLE, bearerDenial, type Denial } from '../../respond/errors.js';
import { STANDING } from '../../session/liveness.js';
import { VerifiedTokenCache } from '../../tokens/verified-cache.js';
import { identityOf } from './identity-claims.js';
import type { IssuerKeys, KeySet } from './issuer-keys.js';
import type { UnverifiedToken } from './unverified-token.js';
import { verifyExternalToken, type Verification } from './verify-token.js';

/** What the cache keeps per token: until when (seconds) the verification may be reused, and its outcome. */
interface VerifiedEntry {
  exp: number;
  attribution: Attribution;
}

/** Cache keys are SHA-256 digests in base64url: 43 characters whatever the token's size. */
const DIGEST_CHARS = 43;

export class TrustedIssuer {
  readonly cache: VerifiedTokenCache<VerifiedEntry>;
  readonly #unavailable: Denial;

  constructor(
    readonly config: ExternalIssuerConfig,
    readonly keys: IssuerKeys,
    private readonly clock: Clock,
  ) {
    this.cache = new VerifiedTokenCache(config.cacheSize, DIGEST_CHARS);
    this.#unavailable = bearerDenial('issuer_keys_unavailable', { 'retry-after': String(Math.max(1, Math.ceil(config.jwks.cooldown / 1000))) });
  }

  /** The attribution of a token this issuer verified before and may still reuse, by the token's digest. */
  verified(digest: string): Attribution | undefined {
    const cached = this.cache.get(digest, Math.floor(this.clock.now() / 1000));
    return cached === undefined || cached === 'expired' ? undefined : cached.attribution;
  }

  /** Verifies a token not found in the cache; the cheap refusals come back without a promise. */
  authenticate(token: string, unverified: UnverifiedToken, digest: string): AuthOutcome | Promise<AuthOutcome> {
    if (!(this.config.algorithms as readonly string[]).includes(unverified.alg)) return bearerDenial('external_algorithm_refused');
    if (!unverified.kidUsable) return bearerDenial('external_key_unknown');
    return this.#verify(token, unverified, digest);
  }

  async #verify(token: string, unverified: UnverifiedToken, digest: string): Promise<AuthOutcome> {
    let keys: KeySet | null = this.keys.current() ?? (await this.keys.firstSet());
    if (keys === null) return this.#unavailable;
    let verification: Verification | null = null;
    // Two tries at most: with the set as it is, then once more if a refetch brought another set.
    for (let attempt = 0; attempt < 2 && keys !== null; attempt++) {
      const named = unverified.kid === undefined || keys.kids.has(unverified.kid);
      verification = named ? await verifyExternalToken(token, this.config, keys, this.clock) : { ok: false, reason: 'key_not_in_set' };
      if (verification.ok || verification.reason !== 'key_not_in_set') break;
      keys = attempt === 0 ? await this.keys.afterUnknownKey(keys) : null;
    }
    if (verification === null || !verification.ok) {
      const reason: DenialReason = verification === null || verification.reason === 'key_not_in_set' ? 'external_key_unknown' : verification.reason;
      return bearerDenial(reason);
    }
    const identity = identityOf(verification.claims, this.config);
    if (identity === null) return bearerDenial('external_claims_invalid');
    const attribution: Attribution = {
      kind: 'identity',
      identity,
      // The token lives until its `exp`, which the cache and the verification enforce; nothing else ends it.
      credential: STANDING,
      carriedIn: 'header',
      denialStyle: BEARER_STYLE,
    };
    const required = this.config.requiredScope;
    if (required !== undefined) attribution.permission = { kind: 'scope', granted: identity.scope ?? '', required };
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const reuseUntil = Math.min(verification.claims.exp + Math.floor(this.config.leeway / 1000), nowSeconds + Math.ceil(this.config.jwks.maxAge / 1000));
    this.cache.set(digest, { exp: reuseUntil, attribution });
    return attribution;
  }
}

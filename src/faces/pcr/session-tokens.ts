// PCR-360 session tokens: the JSON Web Token that header login returns and clients send back in
// PCR-AUTH-TOKEN. It names the session, its API key and user; whether the session is still alive (logout,
// inactivity, lifetime, revocation) is decided by the session tracker, not by the token alone.

import type { Clock } from '../../clock.js';
import type { KeyRing } from '../../tokens/keyring.js';
import { signJws, verifyJws, type JwsFailure } from '../../tokens/jws.js';
import { VerifiedTokenCache } from '../../tokens/verified-cache.js';

export const SESSION_TOKEN_TYPE = 'pcr-session+jwt';

export interface SessionTokenClaims {
  /** API user login. */
  sub: string;
  /** API key id the session is bound to. */
  key: string;
  /** Session id (also the jti). */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

/** Sessions without any absolute limit still carry an `exp`; this far out it never decides anything. */
const UNLIMITED_SECONDS = 10 * 365 * 24 * 3600;

type SessionTokenSettings = { issuer: string; audience: string; leewaySeconds: number; cacheSize: number };

/**
 * Runtimes built one after another (a reload, a managed key created) share one SessionTokens while the keys,
 * settings and clock stay the same, so the tokens already verified stay verified instead of costing a signature
 * check each after every admin change.
 */
const shared = new WeakMap<KeyRing, WeakMap<Clock, Map<string, SessionTokens>>>();

export function sessionTokensFor(keys: KeyRing, settings: SessionTokenSettings, clock: Clock): SessionTokens {
  let byClock = shared.get(keys);
  if (byClock === undefined) shared.set(keys, (byClock = new WeakMap()));
  let bySettings = byClock.get(clock);
  if (bySettings === undefined) byClock.set(clock, (bySettings = new Map()));
  const key = JSON.stringify(settings);
  let tokens = bySettings.get(key);
  if (tokens === undefined) bySettings.set(key, (tokens = new SessionTokens(keys, settings, clock)));
  return tokens;
}

export class SessionTokens {
  readonly cache: VerifiedTokenCache<SessionTokenClaims>;

  constructor(
    private readonly keys: KeyRing,
    private readonly settings: SessionTokenSettings,
    private readonly clock: Clock,
  ) {
    this.cache = new VerifiedTokenCache(settings.cacheSize);
  }

  async issue(input: { user: string; keyId: string; sessionId: string; expiresAt: number | null }): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = input.expiresAt === null ? iat + UNLIMITED_SECONDS : Math.ceil(input.expiresAt / 1000);
    const claims: SessionTokenClaims = { sub: input.user, key: input.keyId, sid: input.sessionId, jti: input.sessionId, iat, exp };
    return signJws({ ...claims }, this.keys, { typ: SESSION_TOKEN_TYPE, issuer: this.settings.issuer, audience: this.settings.audience });
  }

  verify(token: string): { ok: true; claims: SessionTokenClaims } | { ok: false; reason: JwsFailure } {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const cached = this.cache.get(token, nowSeconds);
    if (cached === 'expired') return { ok: false, reason: 'token_expired' };
    if (cached !== undefined) return { ok: true, claims: cached };
    const result = verifyJws(token, this.keys, { typ: SESSION_TOKEN_TYPE, ...this.settings }, nowSeconds);
    if (!result.ok) return result;
    const { sub, key, sid } = result.claims;
    if (typeof sub !== 'string' || typeof key !== 'string' || typeof sid !== 'string') return { ok: false, reason: 'token_claims_invalid' };
    const claims = result.claims as unknown as SessionTokenClaims;
    this.cache.set(token, claims);
    return { ok: true, claims };
  }
}

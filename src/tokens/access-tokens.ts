// OAuth access tokens: issued as JWTs (RFC 9068 `at+jwt`) by the token endpoint, verified on every protected
// request. A verified token is cached until it expires, so a token seen before costs one map lookup, no crypto.

import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { KeyRing } from './keyring.js';
import { signJws, verifyJws, type JwsFailure } from './jws.js';
import { VerifiedTokenCache } from './verified-cache.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * The `gty` claim of a token a client got for itself (grant_type=client_credentials). Its `sub` is then the client
 * id (RFC 9068 §2.2) and names no operator, so a token without this claim is always an operator's and a token with
 * it never is, whatever logins and client ids happen to be equal.
 */
export const CLIENT_CREDENTIALS_GRANT_TYPE = 'client_credentials';

export interface AccessTokenClaims {
  sub: string;
  client_id: string;
  scope: string;
  jti: string;
  /** Token family (the grant it came from); revoking the family revokes every token of it. */
  fid: string;
  iat: number;
  exp: number;
  /** Present only on a client's own token: see CLIENT_CREDENTIALS_GRANT_TYPE. */
  gty?: typeof CLIENT_CREDENTIALS_GRANT_TYPE;
}

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  leewaySeconds: number;
  cacheSize: number;
}

export type AccessTokenCheck = { ok: true; claims: AccessTokenClaims } | { ok: false; reason: JwsFailure };

export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}

function asAccessClaims(claims: Record<string, unknown>): AccessTokenClaims | null {
  const { sub, client_id, scope, fid, gty } = claims;
  if (typeof sub !== 'string' || typeof client_id !== 'string' || typeof scope !== 'string' || typeof fid !== 'string') return null;
  if (gty !== undefined && (gty !== CLIENT_CREDENTIALS_GRANT_TYPE || sub !== client_id)) return null;
  return claims as unknown as AccessTokenClaims;
}

export class AccessTokens {
  readonly cache: VerifiedTokenCache<AccessTokenClaims>;

  constructor(
    private readonly keys: KeyRing,
    private readonly settings: AccessTokenSettings,
    private readonly clock: Clock,
  ) {
    this.cache = new VerifiedTokenCache(settings.cacheSize);
  }

  /** An operator's token (`subject` is the login) or, with `forClient`, the client's own (`subject` is its id). */
  async issue(input: { subject: string; clientId: string; scope: string; familyId: string; ttlMs: number; forClient?: boolean }): Promise<{ token: string; claims: AccessTokenClaims }> {
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: AccessTokenClaims = {
      sub: input.subject,
      client_id: input.clientId,
      scope: input.scope,
      jti: newTokenId(),
      fid: input.familyId,
      iat,
      exp: iat + Math.max(1, Math.ceil(input.ttlMs / 1000)),
      ...(input.forClient === true ? { gty: CLIENT_CREDENTIALS_GRANT_TYPE } : {}),
    };
    const token = await signJws({ ...claims }, this.keys, { typ: ACCESS_TOKEN_TYPE, issuer: this.settings.issuer, audience: this.settings.audience });
    return { token, claims };
  }

  /** Signature and registered claims; revocation and the subject's current rights are checked by the caller. */
  verify(token: string): AccessTokenCheck {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const cached = this.cache.get(token, nowSeconds);
    if (cached === 'expired') return { ok: false, reason: 'token_expired' };
    if (cached !== undefined) return { ok: true, claims: cached };
    const result = verifyJws(token, this.keys, { typ: ACCESS_TOKEN_TYPE, issuer: this.settings.issuer, audience: this.settings.audience, leewaySeconds: this.settings.leewaySeconds }, nowSeconds);
    if (!result.ok) return result;
    const claims = asAccessClaims(result.claims);
    if (claims === null) return { ok: false, reason: 'token_claims_invalid' };
    this.cache.set(token, claims);
    return { ok: true, claims };
  }
}

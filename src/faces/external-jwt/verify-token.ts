// Verifies one token against one issuer's keys and rules with jose's jwtVerify: the algorithms the issuer is
// configured with (never the token's choice), `iss` exactly, `aud` holding any configured audience, `exp`
// required, `exp`/`nbf`/`iat` with the issuer's leeway on the injected clock, then the required claims. jose's
// failures become reason ids here; a key the set lacks is reported apart, so the caller may refetch once.

import { jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../../clock.js';
import type { ExternalIssuerConfig } from '../../config/schema/external-issuers.js';
import type { DenialReason } from '../../errors/reasons.js';
import type { KeySet } from './issuer-keys.js';

export type VerifyFailure = Extract<
  DenialReason,
  | 'external_token_invalid'
  | 'external_algorithm_refused'
  | 'external_token_expired'
  | 'external_token_not_yet_valid'
  | 'external_audience_mismatch'
  | 'external_claim_missing'
  | 'external_claims_invalid'
>;

export type Verification = { ok: true; claims: JWTPayload & { exp: number } } | { ok: false; reason: VerifyFailure } | { ok: false; reason: 'key_not_in_set' };

function failureOf(error: unknown): Verification {
  const { code, claim } = (error ?? {}) as { code?: unknown; claim?: unknown };
  switch (code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { ok: false, reason: 'key_not_in_set' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { ok: false, reason: 'external_algorithm_refused' };
    case 'ERR_JWT_EXPIRED':
      return { ok: false, reason: 'external_token_expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return { ok: false, reason: 'external_token_not_yet_valid' };
      if (claim === 'aud') return { ok: false, reason: 'external_audience_mismatch' };
      if (claim === 'exp') return { ok: false, reason: 'external_claims_invalid' };
      return { ok: false, reason: 'external_token_invalid' };
    default:
      // A bad signature, a malformed token, a key that will not import: one answer, nothing of the cause leaks.
      return { ok: false, reason: 'external_token_invalid' };
  }
}

/** Whether the token's claim satisfies one `requiredClaims` entry; an array claim matches when it holds a value. */
export function claimSatisfies(actual: unknown, expected: true | string | number | boolean | readonly (string | number | boolean)[]): boolean {
  if (actual === undefined || actual === null) return false;
  if (expected === true) return true;
  const accepted: readonly unknown[] = Array.isArray(expected) ? expected : [expected];
  return Array.isArray(actual) ? actual.some((value) => accepted.includes(value)) : accepted.includes(actual);
}

export async function verifyExternalToken(token: string, issuer: ExternalIssuerConfig, keys: KeySet, clock: Clock): Promise<Verification> {
  const now = clock.now();
  const leewaySeconds = Math.floor(issuer.leeway / 1000);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.resolve, {
      algorithms: [...issuer.algorithms],
      issuer: issuer.issuer,
      audience: [...issuer.audiences],
      requiredClaims: ['exp'],
      clockTolerance: leewaySeconds,
      currentDate: new Date(now),
    }));
  } catch (error) {
    return failureOf(error);
  }
  const { exp, iat } = payload;
  if (typeof exp !== 'number') return { ok: false, reason: 'external_claims_invalid' };
  // jose checks `iat` only against a maximum age; a token issued in our future is not valid yet.
  if (typeof iat === 'number' && iat > Math.floor(now / 1000) + leewaySeconds) return { ok: false, reason: 'external_token_not_yet_valid' };
  for (const [name, expected] of Object.entries(issuer.requiredClaims)) {
    if (!claimSatisfies(payload[name], expected)) return { ok: false, reason: 'external_claim_missing' };
  }
  return { ok: true, claims: payload as JWTPayload & { exp: number } };
}

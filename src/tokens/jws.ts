// Signs and verifies the proxy's own compact JWS tokens. Signing goes through jose; verification of our own
// tokens uses node:crypto's synchronous verify, which measured about twice as fast as jose's WebCrypto path and
// keeps the request path free of promises. Verification is deliberately narrow: only the header members we
// write (alg, kid, typ) are accepted, so `crit`, `b64`, `jwk`, `jku`, `x5u`, `x5c`, `zip` and friends are refused
// outright instead of being interpreted.

import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { JwsFailure } from '../errors/reasons.js';
import type { KeyRing, SigningAlgorithm } from './keyring.js';

export type { JwsFailure };

export type JwsResult = { ok: true; claims: Record<string, unknown>; kid: string } | { ok: false; reason: JwsFailure };

export interface JwsExpectations {
  typ: string;
  issuer: string;
  audience: string;
  /** Tolerated clock skew in seconds for `iat` and `nbf`. */
  leewaySeconds: number;
}

const MAX_TOKEN_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ALLOWED_HEADER_MEMBERS = new Set(['alg', 'kid', 'typ']);

/** A base64url JSON object (a JWS header or payload), or null for anything else. */
export function decodeJsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function signatureValid(alg: SigningAlgorithm, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const data = Buffer.from(signingInput, 'ascii');
  switch (alg) {
    case 'RS256':
      return verifySignature('sha256', data, key, signature);
    case 'ES256':
      return signature.length === 64 && verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'EdDSA':
      return verifySignature(null, data, key, signature);
  }
}

const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** Verifies signature, header and the registered claims; `nowSeconds` comes from the injected clock. */
export function verifyJws(token: string, keys: KeyRing, expect: JwsExpectations, nowSeconds: number): JwsResult {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token_malformed' };
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot <= 0 || secondDot <= firstDot + 1 || token.indexOf('.', secondDot + 1) !== -1 || secondDot === token.length - 1) {
    return { ok: false, reason: 'token_malformed' };
  }
  const headerPart = token.slice(0, firstDot);
  const payloadPart = token.slice(firstDot + 1, secondDot);
  const signaturePart = token.slice(secondDot + 1);
  if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) {
    return { ok: false, reason: 'token_malformed' };
  }
  const header = decodeJsonObject(headerPart);
  if (header === null) return { ok: false, reason: 'token_malformed' };
  for (const member of Object.keys(header)) {
    if (!ALLOWED_HEADER_MEMBERS.has(member)) return { ok: false, reason: 'token_header_invalid' };
  }
  const { alg, kid, typ } = header;
  if (typeof kid !== 'string') return { ok: false, reason: 'token_header_invalid' };
  if (typ !== expect.typ) return { ok: false, reason: 'token_type_invalid' };
  const claims = decodeJsonObject(payloadPart);
  if (claims === null) return { ok: false, reason: 'token_malformed' };
  // Read before any key is: a token another issuer wrote is not ours to judge (an external issuer's may be), even
  // when its key id happens to equal one of ours. Nothing else in the unverified payload is believed.
  if (claims['iss'] !== expect.issuer) return { ok: false, reason: 'token_issuer_invalid' };
  const key = keys.verificationKey(kid);
  if (key === undefined) return { ok: false, reason: 'token_unknown_key' };
  // The algorithm is the key's, never the token's choice: a header naming anything else is refused.
  if (alg !== key.alg) return { ok: false, reason: 'token_algorithm_invalid' };
  if (!signatureValid(key.alg, key.publicKey, token.slice(0, secondDot), Buffer.from(signaturePart, 'base64url'))) {
    return { ok: false, reason: 'token_signature_invalid' };
  }
  const { exp, iat, nbf, aud, jti } = claims;
  if (!isNumericDate(exp) || !isNumericDate(iat) || (nbf !== undefined && !isNumericDate(nbf)) || typeof jti !== 'string') {
    return { ok: false, reason: 'token_claims_invalid' };
  }
  if (!(aud === expect.audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === expect.audience))) {
    return { ok: false, reason: 'token_audience_invalid' };
  }
  // Expiry is exact (we issued the token and `expires_in` promised that second); the leeway only forgives an
  // issuing replica whose clock runs slightly ahead of ours.
  if (nowSeconds >= exp) return { ok: false, reason: 'token_expired' };
  if (iat > nowSeconds + expect.leewaySeconds || (nbf !== undefined && nbf > nowSeconds + expect.leewaySeconds)) {
    return { ok: false, reason: 'token_not_yet_valid' };
  }
  return { ok: true, claims, kid };
}

export async function signJws(
  claims: JWTPayload & { iat: number; exp: number; jti: string },
  keys: KeyRing,
  options: { typ: string; issuer: string; audience: string },
): Promise<string> {
  const key = keys.active;
  return new SignJWT({ ...claims, iss: options.issuer, aud: options.audience })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: options.typ })
    .sign(key.privateKey);
}

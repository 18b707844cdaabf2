// Turns a fetched JSON Web Key Set into the public verification keys an issuer may sign with. Only what could
// verify one of this issuer's tokens survives: keys of a type the configured algorithms use, meant for signatures,
// public members only (copied member by member, so private halves, `oct` secrets, certificate chains and unknown
// members never reach the key import), and at most `maxKeys` of them.

import type { JWK } from 'jose';
import type { ExternalAlgorithm } from '../../config/schema/external-issuers.js';

/** A `kid` longer than this is not a key id anyone publishes; tokens naming one are refused without a fetch. */
export const MAX_KID_LENGTH = 256;

/** RSA moduli below 2048 bits are refused (in base64url characters of the modulus). */
const MIN_RSA_MODULUS_CHARS = Math.ceil((2048 / 8) * (4 / 3));
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface UsableKeys {
  keys: JWK[];
  /** Entries that were skipped: unusable, or beyond the key limit. */
  ignored: number;
}

interface KeyShape {
  kty: 'RSA' | 'EC' | 'OKP';
  crv?: readonly string[];
}

const SHAPE: Record<ExternalAlgorithm, KeyShape> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: ['P-256'] },
  ES384: { kty: 'EC', crv: ['P-384'] },
  ES512: { kty: 'EC', crv: ['P-521'] },
  EdDSA: { kty: 'OKP', crv: ['Ed25519'] },
};

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 2048 && BASE64URL.test(value);

function fitsAnAlgorithm(entry: Record<string, unknown>, algorithms: readonly ExternalAlgorithm[]): boolean {
  const { kty, crv, alg } = entry;
  if (alg !== undefined && !(algorithms as readonly unknown[]).includes(alg)) return false;
  const candidates = alg === undefined ? algorithms : [alg as ExternalAlgorithm];
  return candidates.some((candidate) => {
    const shape = SHAPE[candidate];
    return shape.kty === kty && (shape.crv === undefined || shape.crv.includes(crv as string));
  });
}

/** The public members of a usable signature key, or null when the entry cannot verify this issuer's tokens. */
function publicKeyOf(entry: unknown, algorithms: readonly ExternalAlgorithm[]): JWK | null {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return null;
  const jwk = entry as Record<string, unknown>;
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return null;
  const operations = jwk['key_ops'];
  if (operations !== undefined && !(Array.isArray(operations) && operations.includes('verify'))) return null;
  const kid = jwk['kid'];
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) return null;
  if (!fitsAnAlgorithm(jwk, algorithms)) return null;
  const key: JWK = { kty: jwk['kty'] as string };
  if (kid !== undefined) key.kid = kid as string;
  if (jwk['alg'] !== undefined) key.alg = jwk['alg'] as string;
  key.use = 'sig';
  if (key.kty === 'RSA') {
    const { n, e } = jwk;
    if (!isText(n) || !isText(e) || n.length < MIN_RSA_MODULUS_CHARS) return null;
    key.n = n;
    key.e = e;
  } else {
    const { crv, x, y } = jwk;
    if (!isText(x) || (key.kty === 'EC' && !isText(y))) return null;
    key.crv = crv as string;
    key.x = x;
    if (key.kty === 'EC') key.y = y as string;
  }
  return key;
}

/** The usable keys of a parsed document; null when it is not a key set at all (or holds no usable key). */
export function usableKeysOf(document: unknown, algorithms: readonly ExternalAlgorithm[], maxKeys: number): UsableKeys | null {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return null;
  const entries = (document as { keys?: unknown }).keys;
  if (!Array.isArray(entries)) return null;
  const keys: JWK[] = [];
  let ignored = 0;
  for (const entry of entries) {
    const key = keys.length < maxKeys ? publicKeyOf(entry, algorithms) : null;
    if (key === null) ignored++;
    else keys.push(key);
  }
  // A set with nothing usable in it would only refuse every token: keeping the previous set is the better answer.
  return keys.length === 0 ? null : { keys, ignored };
}

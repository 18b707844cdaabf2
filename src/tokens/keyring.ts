// The proxy's token-signing keys: one active key signs, every configured key verifies (so a key can be rotated
// out without invalidating tokens it already signed), and the public halves are published as a JWKS.

import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { SigningKeyMaterial } from '../config/load.js';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface PublicJwk {
  kty: string;
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
  [member: string]: unknown;
}

export class KeyRingError extends Error {
  override readonly name = 'KeyRingError';
}

function parsePrivateKey(material: string): KeyObject {
  const text = material.trim();
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as Record<string, unknown>;
    return createPrivateKey({ key: jwk as never, format: 'jwk' });
  }
  return createPrivateKey({ key: text, format: 'pem' });
}

function checkKeyFits(key: KeyObject, alg: SigningAlgorithm, kid: string): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const fits =
    (alg === 'RS256' && type === 'rsa' && (details.modulusLength ?? 0) >= 2048) ||
    (alg === 'ES256' && type === 'ec' && details.namedCurve === 'prime256v1') ||
    (alg === 'EdDSA' && type === 'ed25519');
  if (!fits) {
    const want = alg === 'RS256' ? 'an RSA key of 2048 bits or more' : alg === 'ES256' ? 'an EC P-256 key' : 'an Ed25519 key';
    throw new KeyRingError(`signing key "${kid}" does not fit ${alg}: expected ${want}`);
  }
}

export function generateSigningKey(alg: SigningAlgorithm, kid = `dev-${randomBytes(6).toString('hex')}`): SigningKey {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('ed25519');
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

export class KeyRing {
  readonly #byKid: ReadonlyMap<string, SigningKey>;
  readonly active: SigningKey;
  /** True when no key was configured and a throw-away key was generated for this process. */
  readonly development: boolean;

  private constructor(keys: SigningKey[], active: SigningKey, development: boolean) {
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
    this.active = active;
    this.development = development;
  }

  static fromMaterial(materials: readonly SigningKeyMaterial[], alg: SigningAlgorithm): KeyRing {
    if (materials.length === 0) {
      const key = generateSigningKey(alg);
      return new KeyRing([key], key, true);
    }
    const keys = materials.map((m) => {
      let privateKey: KeyObject;
      try {
        privateKey = parsePrivateKey(m.material);
      } catch {
        throw new KeyRingError(`signing key "${m.kid}" is not a readable PEM (PKCS#8) or JWK private key`);
      }
      checkKeyFits(privateKey, alg, m.kid);
      return { kid: m.kid, alg, privateKey, publicKey: createPublicKey(privateKey), active: m.active };
    });
    const active = keys.find((k) => k.active) ?? keys[0]!;
    return new KeyRing(keys, active, false);
  }

  static fromKeys(keys: SigningKey[], active: SigningKey = keys[0]!): KeyRing {
    return new KeyRing(keys, active, false);
  }

  /** The key for a token's `kid`; undefined for anything we did not configure, so unknown kids cost no crypto. */
  verificationKey(kid: string): SigningKey | undefined {
    return this.#byKid.get(kid);
  }

  jwks(): { keys: PublicJwk[] } {
    return {
      keys: [...this.#byKid.values()].map((k) => ({
        ...(k.publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
        kty: String((k.publicKey.export({ format: 'jwk' }) as { kty: string }).kty),
        kid: k.kid,
        alg: k.alg,
        use: 'sig' as const,
      })),
    };
  }
}

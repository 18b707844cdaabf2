// Access tokens minted locally, exactly as the token endpoint would issue them, so `portcullis loadtest` and
// the benchmark can bring as many never-seen tokens as a cold run needs without asking the endpoint for each.

import { randomBytes, sign, type KeyObject } from 'node:crypto';

export type TokenAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

export interface MintSettings {
  key: KeyObject;
  kid: string;
  alg: TokenAlgorithm;
  issuer: string;
  audience: string;
  subject: string;
  clientId: string;
  scope: string;
  ttlSeconds: number;
  /**
   * The grant the tokens belong to. The proxy confirms a token's grant in its store the first time it sees the
   * token, so tokens must name a grant that exists there (one opened through the token endpoint); without it
   * each token gets a family of its own, which only a proxy that skips that check accepts.
   */
  familyId?: string;
}

/** The claims of a compact JWS, unverified: for reading back what a token endpoint issued. */
export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function algorithmOf(key: KeyObject): TokenAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new Error(`unsupported signing key type "${key.asymmetricKeyType ?? 'unknown'}" (expected RSA, EC P-256 or Ed25519)`);
}

/** `count` distinct access tokens; each has its own jti and token family, so none is a copy of another. */
export function mintAccessTokens(settings: MintSettings, count: number, nowSeconds = Math.floor(Date.now() / 1000)): string[] {
  const header = Buffer.from(JSON.stringify({ alg: settings.alg, kid: settings.kid, typ: 'at+jwt' })).toString('base64url');
  const prefix = randomBytes(9).toString('base64url');
  const tokens: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${i.toString(36)}`;
    const claims = {
      sub: settings.subject,
      client_id: settings.clientId,
      scope: settings.scope,
      jti: id,
      fid: settings.familyId ?? `f${id}`,
      iat: nowSeconds,
      exp: nowSeconds + settings.ttlSeconds,
      iss: settings.issuer,
      aud: settings.audience,
    };
    const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const data = Buffer.from(signingInput, 'ascii');
    const signature =
      settings.alg === 'RS256'
        ? sign('sha256', data, settings.key)
        : settings.alg === 'ES256'
          ? sign('sha256', data, { key: settings.key, dsaEncoding: 'ieee-p1363' })
          : sign(null, data, settings.key);
    tokens[i] = `${signingInput}.${signature.toString('base64url')}`;
  }
  return tokens;
}

// What introspection says about the OAuth face's own tokens. An access token is described exactly as the bearer
// authenticator and the session stage would accept it right now (signature, expiry, client and operator still
// allowed, not revoked itself or through its grant); a refresh token only while it is the one its grant would
// redeem next, so a token already rotated away (whose reuse would revoke the grant) is never called active.

import type { ResolvedClient, ResolvedOperator } from '../../config/load.js';
import type { Clock } from '../../clock.js';
import type { TokenDescription } from '../../pipeline/face.js';
import type { Liveness } from '../../session/liveness.js';
import type { Store } from '../../store/store.js';
import type { AccessTokens } from '../../tokens/access-tokens.js';
import type { BearerAuthenticator } from './bearer-authenticator.js';
import { hashRefreshToken, refreshTokenFamily } from './refresh-tokens.js';

export interface OAuthTokenDescriber {
  accessTokens: AccessTokens;
  bearer: BearerAuthenticator;
  liveness: Liveness;
  store: Store;
  clock: Clock;
  clients: ReadonlyMap<string, ResolvedClient>;
  operators: ReadonlyMap<string, ResolvedOperator>;
  issuer: string;
  audience: string;
}

export async function describeOAuthToken(token: string, context: OAuthTokenDescriber): Promise<TokenDescription | null> {
  return refreshTokenFamily(token) !== null ? describeRefreshToken(token, context) : describeAccessToken(token, context);
}

async function describeAccessToken(token: string, context: OAuthTokenDescriber): Promise<TokenDescription | null> {
  const verified = context.accessTokens.verify(token);
  if (!verified.ok) return null;
  const attribution = context.bearer.attribute(verified.claims);
  if (attribution.kind !== 'identity') return null;
  const verdict = await context.liveness.check(attribution.credential);
  if (!verdict.live) return null;
  const { claims } = verified;
  return {
    token_type: 'Bearer',
    client_id: claims.client_id,
    ...(attribution.identity.user === undefined ? {} : { username: attribution.identity.user }),
    sub: claims.sub,
    scope: claims.scope,
    exp: claims.exp,
    iat: claims.iat,
    iss: context.issuer,
    aud: context.audience,
    jti: claims.jti,
  };
}

async function describeRefreshToken(token: string, context: OAuthTokenDescriber): Promise<TokenDescription | null> {
  const now = context.clock.now();
  const family = await context.store.redeemableRefreshToken(hashRefreshToken(token), now);
  if (family === null || family.id !== refreshTokenFamily(token) || family.refreshExpiresAt === null) return null;
  // The refresh grant would refuse it for these, so it is no more active than a revoked one.
  if (context.clients.get(family.clientId)?.allowsRefresh !== true) return null;
  if (context.operators.get(family.subject)?.apiAccess !== true) return null;
  return {
    token_type: 'refresh_token',
    client_id: family.clientId,
    username: family.subject,
    sub: family.subject,
    scope: family.scope,
    exp: Math.ceil(family.refreshExpiresAt / 1000),
    // The family was created or last rotated when this refresh token was issued.
    iat: Math.floor(family.lastUsedAt / 1000),
    iss: context.issuer,
  };
}

// grant_type=refresh_token (RFC 6749 §6): redeems a refresh token exactly once for a new access token and a new
// refresh token of the same family. A refresh token presented again after it was used means it leaked: the whole
// family is revoked, so both the thief and the client must log in again.

import { OAuthError, invalidGrant } from '../../../errors/oauth-error.js';
import { hashRefreshToken, newRefreshToken, refreshTokenFamily } from '../refresh-tokens.js';
import { checkScope, requireParam, type GrantHandler } from './grant.js';

export const refreshTokenGrant: GrantHandler = async (context) => {
  const { client, params, operators, store, clock, accessTokens } = context;
  if (!client.allowsRefresh) {
    throw new OAuthError('unauthorized_client', 'this client may not use the refresh_token grant', 'grant_not_allowed');
  }
  const presented = requireParam(params, 'refresh_token');
  const familyId = refreshTokenFamily(presented);
  if (familyId === null) throw invalidGrant('the refresh token is not valid', 'refresh_token_unknown');
  const now = clock.now();
  const family = await store.getFamily(familyId, now);
  // A grant issued without a refresh token (client credentials, a client that may not refresh) has none to redeem.
  if (family === null || family.refreshExpiresAt === null) throw invalidGrant('the refresh token is not valid', 'refresh_token_unknown');
  if (family.clientId !== client.id) throw invalidGrant('the refresh token was issued to another client', 'refresh_token_client_mismatch');
  // The scope of a refresh may narrow but never widen the original grant (RFC 6749 §6).
  const scope = checkScope(params.get('scope'), family.scope);
  const operator = operators.get(family.subject);
  if (!operator || !operator.apiAccess) throw invalidGrant('the operator is no longer allowed to use the API', 'operator_disabled');

  const next = newRefreshToken(familyId);
  const accessTtlSeconds = Math.max(1, Math.ceil(client.accessTokenTtl / 1000));
  const accessExpiresAt = (Math.floor(now / 1000) + accessTtlSeconds) * 1000;
  const result = await store.redeemRefreshToken(hashRefreshToken(presented), next.hash, { refreshExpiresAt: now + client.refreshTokenTtl, accessExpiresAt }, now);
  switch (result.status) {
    case 'rotated':
      break;
    case 'reused':
      throw invalidGrant('the refresh token was already used; the grant has been revoked', 'refresh_token_reused');
    case 'expired':
      throw invalidGrant('the refresh token has expired', 'refresh_token_expired');
    case 'revoked':
      throw invalidGrant('the refresh token was revoked', 'refresh_token_revoked');
    case 'unknown':
      throw invalidGrant('the refresh token is not valid', 'refresh_token_unknown');
  }
  const { token, claims } = await accessTokens.issue({ subject: family.subject, clientId: client.id, scope, familyId, ttlMs: client.accessTokenTtl });
  return {
    subject: family.subject,
    response: { access_token: token, token_type: 'Bearer', expires_in: claims.exp - claims.iat, refresh_token: next.token, scope },
  };
};

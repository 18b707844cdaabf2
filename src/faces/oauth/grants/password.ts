// grant_type=password (RFC 6749 §4.3): an operator's login and password for an access token and, when the client
// may refresh, a refresh token that starts a new token family.

import { OAuthError, invalidGrant } from '../../../errors/oauth-error.js';
import { newFamilyId, newRefreshToken } from '../refresh-tokens.js';
import type { ReasonId } from '../../../errors/reasons.js';
import { checkScope, requireParam, type GrantHandler } from './grant.js';

const loginRefused = (reason: ReasonId) => invalidGrant('invalid username or password', reason);

export const passwordGrant: GrantHandler = async (context) => {
  const { client, params, operators, store, clock, accessTokens, verifier } = context;
  if (!client.allowsPassword) {
    throw new OAuthError('unauthorized_client', 'this client may not use the password grant', 'grant_not_allowed');
  }
  const username = requireParam(params, 'username');
  const password = requireParam(params, 'password');
  const scope = checkScope(params.get('scope'), context.scope);
  const operator = operators.get(username);
  // An operator without the API right is refused whatever the password, so a remembered success must not make its
  // right password answer faster than a wrong one: its check always pays for scrypt.
  const passwordOk = password.length <= 1024 && (await verifier.verify(password, operator?.password ?? null, { rememberSuccess: operator?.apiAccess === true }));
  // One answer (status, headers, body) for an unknown login, a wrong password and an operator without the API
  // right, so the endpoint tells neither which logins exist nor which passwords are right; only the reason id in
  // the log line and the metric says which it was. The endpoint counts all three as failed logins.
  if (!operator || !passwordOk) throw loginRefused('login_failed');
  if (!operator.apiAccess) throw loginRefused('operator_api_access_off');

  const now = clock.now();
  const familyId = newFamilyId();
  const refresh = client.allowsRefresh ? newRefreshToken(familyId) : null;
  const { token, claims } = await accessTokens.issue({ subject: operator.login, clientId: client.id, scope, familyId, ttlMs: client.accessTokenTtl });
  await store.createFamily(
    {
      id: familyId,
      clientId: client.id,
      subject: operator.login,
      scope,
      createdAt: now,
      lastUsedAt: now,
      refreshExpiresAt: refresh ? now + client.refreshTokenTtl : null,
      accessExpiresAt: claims.exp * 1000,
      revokedAt: null,
    },
    refresh?.hash ?? null,
  );
  return {
    subject: operator.login,
    response: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: claims.exp - claims.iat,
      ...(refresh ? { refresh_token: refresh.token } : {}),
      scope,
    },
  };
};

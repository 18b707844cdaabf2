// grant_type=client_credentials (RFC 6749 §4.4): a client that may act on its own behalf gets an access token for
// itself, forwarded upstream as its service identity. No refresh token is issued (§4.4.3): the client can always
// ask again with its secret. Each issuance still starts a grant record without a refresh token, like a password
// login by a client that may not refresh, so its tokens are revoked, listed and introspected like any other.

import { OAuthError } from '../../../errors/oauth-error.js';
import { newFamilyId } from '../refresh-tokens.js';
import { checkScope, type GrantHandler } from './grant.js';

/**
 * What a service grant is recorded under as its subject. The store's subject is an operator login everywhere else
 * (the Operators grid counts and revokes grants by it), and a login never contains a space, so no operator's
 * grants and a service's can be taken for one another.
 */
export const serviceGrantSubject = (serviceName: string): string => `${serviceName} (service)`;

export const clientCredentialsGrant: GrantHandler = async (context) => {
  const { client, params, store, clock, accessTokens } = context;
  const service = client.serviceIdentity;
  if (!client.allowsClientCredentials || service === undefined) {
    throw new OAuthError('unauthorized_client', 'this client may not use the client_credentials grant', 'grant_not_allowed');
  }
  const scope = checkScope(params.get('scope'), context.scope);
  const now = clock.now();
  const familyId = newFamilyId();
  const { token, claims } = await accessTokens.issue({ subject: client.id, clientId: client.id, scope, familyId, ttlMs: client.accessTokenTtl, forClient: true });
  await store.createFamily(
    {
      id: familyId,
      clientId: client.id,
      subject: serviceGrantSubject(service.name),
      scope,
      createdAt: now,
      lastUsedAt: now,
      refreshExpiresAt: null,
      accessExpiresAt: claims.exp * 1000,
      revokedAt: null,
    },
    null,
  );
  return { subject: service.name, response: { access_token: token, token_type: 'Bearer', expires_in: claims.exp - claims.iat, scope } };
};

// The OAuth face (Cockpit ITSM's public API): the bearer-token authenticator, the token and revocation endpoints
// and the authorization server metadata, on every config. Its tokens are recognised by value for admin revocation: refresh tokens by their shape, access tokens
// by their signature.

import type { FaceDefinition, RecognizedToken } from '../../pipeline/face.js';
import { BearerAuthenticator } from './bearer-authenticator.js';
import { refreshTokenFamily } from './refresh-tokens.js';
import { metadataEndpoint, METADATA_PATH } from './metadata-endpoint.js';
import { handleRevocation, REVOCATION_ENDPOINT_PATH, type RevocationContext } from './revocation-endpoint.js';
import { handleTokenRequest, type TokenEndpointContext } from './token-endpoint.js';

export const TOKEN_ENDPOINT_PATH = '/oauth/token';

export const oauthFace: FaceDefinition = {
  id: 'oauth',
  authenticatorIds: ['bearer'],
  create(context) {
    const { config, accessTokens } = context;
    const tokenContext: TokenEndpointContext = {
      clients: config.clients,
      operators: config.operators,
      scope: config.parsed.oauth.scope,
      store: context.store,
      clock: context.clock,
      accessTokens,
      verifier: context.verifier,
      maxBodyBytes: config.parsed.listen.maxOwnBodyBytes,
      guard: context.guard,
      logger: context.logger,
    };
    const revocationContext: RevocationContext = { ...tokenContext, revokeGrantWithAccessToken: config.parsed.oauth.revokeGrantWithAccessToken };
    const bearer = new BearerAuthenticator({ accessTokens, clients: config.clients, operators: config.operators, requiredScope: config.parsed.oauth.scope });
    return {
      id: 'oauth',
      authenticators: [bearer],
      endpoints: new Map([
        [
          TOKEN_ENDPOINT_PATH,
          {
            id: 'oauth-token',
            handle(req, res, report) {
              void handleTokenRequest(req, res, tokenContext, context.clientAddress(req)).then((outcome) => {
                report.reason = outcome.reason;
                report.outcome = outcome.status === 200 ? 'own' : 'denied';
                context.onOutcome({ endpoint: 'oauth-token', status: outcome.status, reason: outcome.reason, user: outcome.username, clientId: outcome.clientId, grantType: outcome.grantType });
              });
            },
          },
        ],
        [
          REVOCATION_ENDPOINT_PATH,
          {
            id: 'oauth-revoke',
            handle(req, res, report) {
              void handleRevocation(req, res, revocationContext, context.clientAddress(req)).then((outcome) => {
                report.reason = outcome.reason;
                report.outcome = outcome.status === 200 ? 'own' : 'denied';
                context.onOutcome({ endpoint: 'oauth-revoke', status: outcome.status, reason: outcome.reason, user: null, clientId: outcome.clientId });
              });
            },
          },
        ],
        [METADATA_PATH, metadataEndpoint(config, context.requestOrigin, { token: TOKEN_ENDPOINT_PATH, revocation: REVOCATION_ENDPOINT_PATH })],
      ]),
      recognizeToken(token): RecognizedToken | null {
        const familyId = refreshTokenFamily(token);
        if (familyId !== null) return { credential: { kind: 'refresh-family', familyId }, expiresAt: null };
        const access = accessTokens.verify(token);
        if (access.ok) return { credential: { kind: 'access-token', claims: access.claims }, expiresAt: access.claims.exp * 1000 };
        return null;
      },
      tokenCaches: { access: accessTokens.cache },
    };
  },
};

// The OAuth face (Cockpit ITSM's public API): the bearer-token authenticator, the token, revocation and
// introspection endpoints and the authorization server metadata, on every config. Its tokens are recognised by
// value for admin revocation and introspection: refresh tokens by their shape, access tokens by their signature.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaceContext, FaceDefinition, OwnEndpointOutcome, RecognizedToken } from '../../pipeline/face.js';
import type { OwnEndpoint } from '../../route/own-endpoint.js';
import { BearerAuthenticator } from './bearer-authenticator.js';
import { refreshTokenFamily } from './refresh-tokens.js';
import { metadataEndpoint, METADATA_PATH } from './metadata-endpoint.js';
import { handleRevocation, REVOCATION_ENDPOINT_PATH, type RevocationContext } from './revocation-endpoint.js';
import { handleTokenRequest, type TokenEndpointContext } from './token-endpoint.js';
import { handleIntrospection, INTROSPECTION_ENDPOINT_PATH, type IntrospectionContext } from './introspection-endpoint.js';
import { describeOAuthToken, type OAuthTokenDescriber } from './token-descriptions.js';

export const TOKEN_ENDPOINT_PATH = '/oauth/token';

/**
 * An endpoint whose handler answers the request itself and settles with what it did: the request's log line and
 * the observers (metrics) are told the same. The handlers never reject; they answer every failure.
 */
function reportingEndpoint(id: string, context: FaceContext, handle: (req: IncomingMessage, res: ServerResponse) => Promise<Omit<OwnEndpointOutcome, 'endpoint'>>): OwnEndpoint {
  return {
    id,
    handle(req, res, report) {
      void handle(req, res).then((outcome) => {
        report.reason = outcome.reason;
        report.outcome = outcome.status === 200 ? 'own' : 'denied';
        context.onOutcome({ endpoint: id, ...outcome });
      });
    },
  };
}

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
    const introspectionContext: IntrospectionContext = { ...tokenContext, adminTokens: config.adminTokens, faces: context.faces };
    const describer: OAuthTokenDescriber = {
      accessTokens,
      bearer,
      liveness: context.liveness,
      store: context.store,
      clock: context.clock,
      clients: config.clients,
      operators: config.operators,
      issuer: config.parsed.tokens.issuer,
      audience: config.parsed.tokens.audience,
    };
    return {
      id: 'oauth',
      authenticators: [bearer],
      endpoints: new Map([
        [
          TOKEN_ENDPOINT_PATH,
          reportingEndpoint('oauth-token', context, (req, res) =>
            handleTokenRequest(req, res, tokenContext, context.clientAddress(req)).then((o) => ({ ...o, user: o.username })),
          ),
        ],
        [
          REVOCATION_ENDPOINT_PATH,
          reportingEndpoint('oauth-revoke', context, (req, res) => handleRevocation(req, res, revocationContext, context.clientAddress(req)).then((o) => ({ ...o, user: null }))),
        ],
        [
          INTROSPECTION_ENDPOINT_PATH,
          reportingEndpoint('oauth-introspect', context, (req, res) =>
            handleIntrospection(req, res, introspectionContext, context.clientAddress(req)).then((o) => ({ ...o, user: null, clientId: o.caller })),
          ),
        ],
        [
          METADATA_PATH,
          metadataEndpoint(config, context.requestOrigin, { token: TOKEN_ENDPOINT_PATH, revocation: REVOCATION_ENDPOINT_PATH, introspection: INTROSPECTION_ENDPOINT_PATH }),
        ],
      ]),
      recognizeToken(token): RecognizedToken | null {
        const familyId = refreshTokenFamily(token);
        if (familyId !== null) return { credential: { kind: 'refresh-family', familyId }, expiresAt: null };
        const access = accessTokens.verify(token);
        if (access.ok) return { credential: { kind: 'access-token', claims: access.claims }, expiresAt: access.claims.exp * 1000 };
        return null;
      },
      describeToken: (token) => describeOAuthToken(token, describer),
      tokenCaches: { access: accessTokens.cache },
    };
  },
};

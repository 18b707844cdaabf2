// GET /.well-known/oauth-authorization-server (RFC 8414): what this authorization server offers, generated from
// the running config, with endpoint URLs at the origin the client used to reach the proxy.

import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/load.js';
import { sendJson } from '../../respond/json.js';
import type { OwnEndpoint } from '../../route/own-endpoint.js';
import { JWKS_PATH } from '../../tokens/jwks-endpoint.js';

export const METADATA_PATH = '/.well-known/oauth-authorization-server';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

export interface EndpointPaths {
  token: string;
  revocation: string;
  introspection: string;
}

export function authorizationServerMetadata(config: Config, origin: string, paths: EndpointPaths): Record<string, unknown> {
  const grants = new Set<string>();
  for (const client of config.clients.values()) for (const grant of client.grants) grants.add(grant);
  return {
    issuer: config.parsed.tokens.issuer,
    token_endpoint: `${origin}${paths.token}`,
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint: `${origin}${paths.revocation}`,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint: `${origin}${paths.introspection}`,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    jwks_uri: `${origin}${JWKS_PATH}`,
    grant_types_supported: [...grants].sort(),
    scopes_supported: [config.parsed.oauth.scope],
    // No authorization endpoint: clients get tokens at the token endpoint only (RFC 8414 requires the field).
    response_types_supported: [],
  };
}

export function metadataEndpoint(config: Config, origin: (req: IncomingMessage) => string | null, paths: EndpointPaths): OwnEndpoint {
  return {
    id: 'oauth-metadata',
    handle(req, res, report) {
      report.outcome = 'own';
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: 'method_not_allowed', error_description: 'use GET' }, { allow: 'GET, HEAD' });
        return;
      }
      const base = origin(req);
      if (base === null) {
        sendJson(res, 400, { error: 'invalid_request', error_description: 'the request has no valid Host header' });
        return;
      }
      sendJson(res, 200, authorizationServerMetadata(config, base, paths), { 'cache-control': 'public, max-age=300' });
    },
  };
}

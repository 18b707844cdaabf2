// The endpoints Portcullis answers itself on the public listener: the OAuth token endpoint, the JWKS of its
// signing keys, and the liveness and readiness probes. They are matched on the exact normalised path, before any
// route, so no upstream path can shadow them.

import type { Logger } from '../log/logger.js';
import { sendJson } from '../http/respond.js';
import { handleTokenRequest } from '../oauth/token-endpoint.js';
import type { OwnEndpoint, Runtime, Services } from './runtime.js';

export const TOKEN_BODY_LIMIT_BYTES = 16 * 1024;

export interface ReadinessProbe {
  ready(): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'failing'> }>;
}

export function ownEndpoints(
  runtime: Omit<Runtime, 'ownEndpoints'>,
  services: Pick<Services, 'store' | 'clock' | 'verifier'> & { logger: Logger; readiness: ReadinessProbe; onTokenRequest?: (outcome: Awaited<ReturnType<typeof handleTokenRequest>>) => void },
): Map<string, OwnEndpoint> {
  const config = runtime.config;
  const tokenContext = {
    clients: config.clients,
    operators: config.operators,
    scope: config.parsed.oauth.scope,
    store: services.store,
    clock: services.clock,
    accessTokens: runtime.accessTokens,
    verifier: services.verifier,
    maxBodyBytes: TOKEN_BODY_LIMIT_BYTES,
  };
  const endpoints = new Map<string, OwnEndpoint>();
  endpoints.set('/oauth/token', {
    id: 'oauth-token',
    handle(req, res, record) {
      void handleTokenRequest(req, res, tokenContext).then((outcome) => {
        record.reason = outcome.reason;
        record.outcome = outcome.status === 200 ? 'own' : 'denied';
        services.onTokenRequest?.(outcome);
      });
    },
  });
  const jwks = JSON.stringify(runtime.keys.jwks());
  endpoints.set('/.well-known/jwks.json', {
    id: 'jwks',
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(jwks) });
      res.end(req.method === 'HEAD' ? undefined : jwks);
    },
  });
  endpoints.set('/healthz', {
    id: 'healthz',
    handle(_req, res) {
      sendJson(res, 200, { status: 'ok' });
    },
  });
  endpoints.set('/readyz', {
    id: 'readyz',
    handle(_req, res) {
      void services.readiness.ready().then(
        (result) => sendJson(res, result.ready ? 200 : 503, { status: result.ready ? 'ready' : 'not_ready', checks: result.checks }),
        () => sendJson(res, 503, { status: 'not_ready' }),
      );
    },
  });
  return endpoints;
}

// The endpoints Portcullis answers itself on the public listener: the OAuth token endpoint, the JWKS of its
// signing keys, and the liveness and readiness probes. They are matched on the exact normalised path, before any
// route, so no upstream path can shadow them.

import type { Logger } from '../log/logger.js';
import { sendJson } from '../respond/json.js';
import { handleTokenRequest, type TokenEndpointOutcome } from '../faces/oauth/token-endpoint.js';
import { clientAddress } from '../rewrite/sanitize-headers.js';
import type { IncomingMessage } from 'node:http';
import type { OwnEndpoint, Runtime, Services } from './runtime.js';

/** The client's address as brute-force protection counts it: X-Forwarded-For only from a trusted proxy. */
export function requestClientAddress(req: IncomingMessage, runtime: Pick<Runtime, 'isTrustedPeer'>): string {
  const peerAddress = req.socket.remoteAddress ?? '';
  return clientAddress({ incoming: req.headers, peerAddress, trustedPeer: runtime.isTrustedPeer(peerAddress), isTrusted: runtime.isTrustedPeer });
}

export interface ReadinessProbe {
  ready(): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'failing'> }>;
}

export function ownEndpoints(
  runtime: Omit<Runtime, 'ownEndpoints'>,
  services: Pick<Services, 'store' | 'clock' | 'verifier' | 'guard'> & {
    logger: Logger;
    readiness: ReadinessProbe;
    onTokenRequest?: ((outcome: TokenEndpointOutcome) => void) | undefined;
  },
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
    maxBodyBytes: config.parsed.listen.maxOwnBodyBytes,
    guard: services.guard,
    logger: services.logger,
  };
  const endpoints = new Map<string, OwnEndpoint>();
  endpoints.set('/oauth/token', {
    id: 'oauth-token',
    handle(req, res, record) {
      void handleTokenRequest(req, res, tokenContext, requestClientAddress(req, runtime)).then((outcome) => {
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

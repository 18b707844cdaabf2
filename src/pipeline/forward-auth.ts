// The forward-auth endpoint: nginx, Traefik or Envoy in front ask whether a request may pass, and Portcullis
// decides exactly as it would in line — the same target normalisation, route match, authenticators, session
// checks and authorization, on the original method and URI, believed only from `listen.trustedProxies` — and
// answers 200 with the identity headers to copy upstream, or the face's own denial. Nothing addressed to the
// endpoint is forwarded. A pass counts as use of the credential, as if the upstream had answered 200.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthRequest } from '../authenticate/contract.js';
import { bearerDenial } from '../respond/errors.js';
import type { ForwardAuthEndpoint } from '../route/forward-auth-path.js';
import { forwardAuthPassHeaders, headerOnlyTheProxyMaySet } from '../rewrite/forward-auth-headers.js';
import { StoreUnavailableError } from '../store/store.js';
import { parseRequestTarget, type RequestTarget } from '../target/request-target.js';
import { deny, fail } from './answers.js';
import { decideRequest, type Decision, type DecisionReport } from './decide.js';
import { originalRequest } from './forward-auth-request.js';
import type { RequestRecord } from './request-record.js';
import type { PipelineServices, Runtime } from './runtime.js';

/** The endpoint's id in log lines and metrics (as an own endpoint: `own:forward-auth`). */
export const FORWARD_AUTH_ROUTE_ID = 'forward-auth';

/** `addressed` is the target the call came to: as sent, or normalised when the endpoint's path was spelled with escapes. */
export function answerForwardAuth(req: IncomingMessage, res: ServerResponse, runtime: Runtime, services: PipelineServices, record: RequestRecord, endpoint: ForwardAuthEndpoint, addressed: string): void {
  record.routeId = FORWARD_AUTH_ROUTE_ID;
  record.ownEndpoint = true;
  record.maskPath = runtime.maskPath;
  // Until the original target is known, the log line shows the target the call came to.
  const called = parseRequestTarget(addressed);
  if (called.ok) record.target = called.target;

  if (!runtime.isTrustedPeer(req.socket.remoteAddress ?? '')) {
    deny(res, record, bearerDenial('forward_auth_untrusted_peer'));
    return;
  }
  const original = originalRequest(req, endpoint.appendedTarget(addressed));
  if (!original.ok) {
    deny(res, record, bearerDenial(original.reason));
    return;
  }
  record.method = original.method;
  const parsed = parseRequestTarget(original.target);
  if (!parsed.ok) {
    deny(res, record, bearerDenial(parsed.reason));
    return;
  }
  const target = parsed.target;
  record.target = target;
  // Login, logout and the token endpoint take credentials that must not travel on to the upstream: the proxy in
  // front routes them to Portcullis itself.
  if (runtime.ownEndpointAt(target) !== undefined || endpoint.serves(target.path)) {
    deny(res, record, bearerDenial('forward_auth_own_endpoint'));
    return;
  }
  if (headerOnlyTheProxyMaySet(req.headers, runtime.headerPolicy) !== null) {
    deny(res, record, bearerDenial('forward_auth_header_refused'));
    return;
  }

  const request: AuthRequest = { method: original.method, target, headers: req.headers, rawHeaders: req.rawHeaders };
  // Log line and metrics name the endpoint as the route, not the route the decision matched.
  const report: DecisionReport = { routeId: null, authSeconds: null };
  const decision = decideRequest(request, runtime, services.liveness, report);
  const conclude = (settled: Decision) => {
    record.authSeconds = report.authSeconds;
    answer(res, runtime, record, endpoint, target, settled);
  };
  if (decision instanceof Promise) {
    decision.then(conclude, (error: unknown) => {
      if (error instanceof StoreUnavailableError) fail(res, record, 'store_unavailable', services);
      else fail(res, record, 'internal_error', services, error);
    });
  } else {
    conclude(decision);
  }
}

function answer(res: ServerResponse, runtime: Runtime, record: RequestRecord, endpoint: ForwardAuthEndpoint, target: RequestTarget, decision: Decision): void {
  if (decision.kind === 'denial') {
    deny(res, record, decision);
    return;
  }
  const attribution = decision.attribution;
  const forwardPath = attribution?.forwardPath ?? target.path;
  // A proxy that forwards the client's own path would hand the upstream the client's key.
  if (attribution !== null && forwardPath !== target.path && endpoint.rewrittenPaths === 'refuse') {
    deny(res, record, { kind: 'denial', reason: 'forward_auth_path_not_rewritable', style: attribution.denialStyle });
    return;
  }
  record.outcome = 'own';
  record.authMethod = attribution === null ? 'public' : attribution.identity.method;
  res.writeHead(200, forwardAuthPassHeaders(attribution === null ? null : attribution.identity, runtime.identityNames, forwardPath + target.search)).end();
  decision.afterUse?.(200);
}

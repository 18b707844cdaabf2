// One request, one pass: normalise the target, serve our own endpoints, match a route, authenticate, rewrite
// the headers and forward. Every decision is made on the normalised path, the one Authorization header and the
// method of the request that is forwarded. The runtime (config-derived state) is read once at the start, so a
// request finishes under the config it started with even if a reload swaps it meanwhile.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { NOT_MINE, type AuthDenial, type AuthOutcome, type AuthRequest, type AuthSuccess } from '../authenticate/contract.js';
import { REASONS, type ReasonId } from '../errors/reasons.js';
import { normalizeRequestTarget } from '../target/normalize-path.js';
import { sendBearerDenial } from '../respond/json.js';
import { forwardedHeaders, sanitizeRequestHeaders } from '../rewrite/sanitize-headers.js';
import { matchRoute, type CompiledRoute } from '../route/router.js';
import { StoreUnavailableError } from '../store/store.js';
import { addIdentityHeaders } from '../rewrite/identity-headers.js';
import type { Runtime, Services } from './runtime.js';
import type { RequestRecord } from './request-record.js';

export function createRequestHandler(services: Services) {
  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const runtime = services.current();
    const record: RequestRecord = {
      startedAt: process.hrtime.bigint(),
      method: req.method ?? 'GET',
      routeId: null,
      outcome: 'denied',
      reason: null,
      status: 0,
      upstreamStatus: null,
      upstreamSeconds: null,
      authSeconds: null,
      authMethod: null,
      path: null,
    };
    res.once('close', () => {
      record.status = res.statusCode;
      services.observer.requestFinished(record, req, res);
    });
    try {
      route(req, res, runtime, services, record);
    } catch (error) {
      fail(res, record, 'internal_error', services, error);
    }
  };
}

function deny(res: ServerResponse, record: RequestRecord, denial: AuthDenial, runtime: Runtime): void {
  record.outcome = 'denied';
  record.reason = denial.reason;
  if (denial.face === 'pcr' && runtime.pcr) runtime.pcr.sendDenial(res, denial);
  else sendBearerDenial(res, denial.reason, denial.headers);
}

function fail(res: ServerResponse, record: RequestRecord, reason: ReasonId, services: Services, error?: unknown): void {
  record.outcome = 'error';
  record.reason = reason;
  if (error !== undefined && reason === 'internal_error') services.logger.error({ err: error }, 'request failed');
  if (!res.headersSent) sendBearerDenial(res, reason);
  else res.destroy();
}

function route(req: IncomingMessage, res: ServerResponse, runtime: Runtime, services: Services, record: RequestRecord): void {
  const target = normalizeRequestTarget(req.url ?? '');
  if (!target.ok) {
    deny(res, record, { kind: 'denial', reason: target.reason, face: 'bearer' }, runtime);
    return;
  }
  record.path = target.path;
  const method = record.method;

  const own = runtime.ownEndpoints.get(target.path);
  if (own !== undefined) {
    record.outcome = 'own';
    record.routeId = own.id;
    own.handle(req, res, record);
    return;
  }
  const pcrOwn = runtime.pcr?.ownEndpoint(target.path);
  if (pcrOwn !== undefined) {
    record.outcome = 'own';
    record.routeId = pcrOwn.id;
    pcrOwn.handle(req, res, record);
    return;
  }

  const matched = matchRoute(runtime.routes, target.path);
  if (matched === undefined) {
    deny(res, record, { kind: 'denial', reason: 'route_not_found', face: 'bearer' }, runtime);
    return;
  }
  record.routeId = matched.id;
  if (!matched.methods.has(method)) {
    deny(res, record, { kind: 'denial', reason: 'method_not_allowed', face: 'bearer', headers: { allow: matched.allow } }, runtime);
    return;
  }
  const request: AuthRequest = { method, path: target.path, search: target.search, headers: req.headers, rawHeaders: req.rawHeaders };
  const authStarted = process.hrtime.bigint();
  const outcome = matched.public ? PUBLIC_ACCESS : authenticate(matched, request, runtime);
  const proceed = (result: AuthOutcome) => {
    record.authSeconds = Number(process.hrtime.bigint() - authStarted) / 1e9;
    if (result.kind === 'denial') {
      deny(res, record, result, runtime);
      return;
    }
    if (result.kind === 'not-mine') {
      deny(res, record, { kind: 'denial', reason: req.headers.authorization === undefined ? 'credentials_missing' : 'scheme_unsupported', face: 'bearer' }, runtime);
      return;
    }
    forward(req, res, runtime, services, record, request, result);
  };
  if (outcome instanceof Promise) {
    outcome.then(proceed, (error: unknown) => {
      if (error instanceof StoreUnavailableError) fail(res, record, 'store_unavailable', services);
      else fail(res, record, 'internal_error', services, error);
    });
  } else {
    proceed(outcome);
  }
}

const PUBLIC_ACCESS: AuthSuccess = { kind: 'identity', identity: { method: 'oauth' } };

/** Tries the route's authenticators in order; the first that recognises the credential decides. */
export function authenticate(route: CompiledRoute, request: AuthRequest, runtime: Runtime): AuthOutcome | Promise<AuthOutcome> {
  const ids = route.authenticators;
  const next = (index: number): AuthOutcome | Promise<AuthOutcome> => {
    for (let i = index; i < ids.length; i++) {
      const authenticator = runtime.authenticators.get(ids[i]!);
      if (authenticator === undefined) continue;
      const outcome = authenticator.authenticate(request);
      if (outcome instanceof Promise) return outcome.then((o) => (o.kind === 'not-mine' ? next(i + 1) : o));
      if (outcome.kind !== 'not-mine') return outcome;
    }
    return NOT_MINE;
  };
  return next(0);
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  runtime: Runtime,
  services: Services,
  record: RequestRecord,
  request: AuthRequest,
  success: AuthSuccess,
): void {
  // A request authenticated by a bearer token whose path also carries one of our API keys holds two
  // credentials; forwarding it would hand the key to the upstream, so it is refused.
  if (success.identity.method === 'oauth' && success !== PUBLIC_ACCESS && runtime.pcr?.carriesApiKey(request.path)) {
    deny(res, record, { kind: 'denial', reason: 'credentials_conflicting', face: 'bearer' }, runtime);
    return;
  }
  const headers = outgoingHeaders(req, runtime, success);
  record.outcome = 'forwarded';
  record.authMethod = success === PUBLIC_ACCESS ? 'public' : success.identity.method;
  services.forwarder.forward(req, res, { path: (success.forwardPath ?? request.path) + request.search, headers }, (result) => {
    record.upstreamStatus = result.upstreamStatus;
    record.upstreamSeconds = result.upstreamSeconds;
    if (result.failure !== null) {
      record.outcome = result.failure === 'client_aborted' ? 'aborted' : 'error';
      record.reason = result.failure;
    }
    if (result.upstreamStatus !== null) success.afterResponse?.(result.upstreamStatus);
  });
}

export function outgoingHeaders(req: IncomingMessage, runtime: Runtime, success: AuthSuccess): Record<string, string | string[]> {
  const headers = sanitizeRequestHeaders(req.headers, runtime.headerPolicy);
  const forwarded = forwardedHeaders({
    incoming: req.headers,
    peerAddress: req.socket.remoteAddress ?? '',
    encrypted: 'encrypted' in req.socket && req.socket.encrypted === true,
    trustedPeer: runtime.isTrustedPeer(req.socket.remoteAddress ?? ''),
  });
  headers['x-forwarded-for'] = forwarded['x-forwarded-for'];
  headers['x-forwarded-proto'] = forwarded['x-forwarded-proto'];
  if (forwarded['x-forwarded-host'] !== '') headers['x-forwarded-host'] = forwarded['x-forwarded-host'];
  if (success !== PUBLIC_ACCESS) addIdentityHeaders(headers, success.identity, runtime.identityNames);
  return headers;
}

/** Protocol upgrades (WebSocket) pass through the same decisions; a denial is written before any upgrade. */
export function createUpgradeHandler(services: Services) {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const runtime = services.current();
    const refuse = (reason: ReasonId, extra = '') => {
      const spec = REASONS[reason];
      const body = JSON.stringify({ error: 'bearerError' in spec ? spec.bearerError : 'request_refused', error_description: spec.message, reason });
      // Destroyed once written: the listener allows half-open connections, and a client that keeps its side open
      // would otherwise hold the socket, and a connection slot, for good.
      socket.end(
        `HTTP/1.1 ${spec.status} ${statusText(spec.status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extra}\r\n${body}`,
        () => socket.destroy(),
      );
    };
    socket.on('error', () => socket.destroy());
    const target = normalizeRequestTarget(req.url ?? '');
    if (!target.ok) return refuse(target.reason);
    const matched = matchRoute(runtime.routes, target.path);
    if (matched === undefined) return refuse('route_not_found');
    if (req.method !== 'GET' || !matched.methods.has('GET')) return refuse('method_not_allowed');
    const request: AuthRequest = { method: 'GET', path: target.path, search: target.search, headers: req.headers, rawHeaders: req.rawHeaders };
    const proceed = (outcome: AuthOutcome) => {
      if (outcome.kind === 'denial') {
        const challenge = REASONS[outcome.reason].status === 401 ? `www-authenticate: Bearer realm="portcullis"\r\n` : '';
        return refuse(outcome.reason, challenge);
      }
      if (outcome.kind === 'not-mine') return refuse('credentials_missing', `www-authenticate: Bearer realm="portcullis"\r\n`);
      // As for plain requests: a bearer upgrade whose path carries one of our API keys would hand the key upstream.
      if (outcome !== PUBLIC_ACCESS && outcome.identity.method === 'oauth' && runtime.pcr?.carriesApiKey(target.path)) return refuse('credentials_conflicting');
      const headers = outgoingHeaders(req, runtime, outcome);
      headers['connection'] = 'Upgrade';
      headers['upgrade'] = String(req.headers.upgrade ?? 'websocket');
      // Upgraded connections are not HTTP any more, so the server's own shutdown does not see them: they are
      // tracked here and cut when a graceful shutdown reaches its deadline.
      services.upgradedSockets.add(socket);
      socket.once('close', () => services.upgradedSockets.delete(socket));
      services.forwarder.forwardUpgrade(req, socket, head, { path: (outcome.forwardPath ?? target.path) + target.search, headers });
    };
    const outcome = matched.public ? PUBLIC_ACCESS : authenticate(matched, request, runtime);
    if (outcome instanceof Promise) outcome.then(proceed, () => refuse('store_unavailable'));
    else proceed(outcome);
  };
}

function statusText(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 414: 'URI Too Long', 503: 'Service Unavailable' } as Record<number, string>
  )[status] ?? 'Error';
}

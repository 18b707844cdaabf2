// Protocol upgrades (WebSocket) pass through the same decisions as plain requests; a denial is written on the
// raw socket before any upgrade, and an allowed upgrade is tunnelled to the upstream with the same rewritten
// headers a plain request would carry.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DenialReason } from '../errors/reasons.js';
import { rawDenial } from '../respond/errors.js';
import { outgoingHeaders } from '../rewrite/outgoing-headers.js';
import { matchRoute } from '../route/router.js';
import { parseRequestTarget } from '../target/request-target.js';
import { decide, type Decision } from './decide.js';
import type { PipelineServices } from './runtime.js';

export function createUpgradeHandler(services: PipelineServices) {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const runtime = services.current();
    // Destroyed once written: the listener allows half-open connections, and a client that keeps its side open
    // would otherwise hold the socket, and a connection slot, for good.
    const refuse = (reason: DenialReason) => void socket.end(rawDenial(reason), () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const parsed = parseRequestTarget(req.url ?? '');
    if (!parsed.ok) return refuse(parsed.reason);
    const target = parsed.target;
    // The proxy's own endpoints (and forward-auth's) answer plain requests only: nothing addressed to one of them is
    // tunnelled upstream, whatever route would match its path.
    if (runtime.forwardAuth?.serves(target.path) || runtime.ownEndpointAt(target) !== undefined) return refuse('upgrade_not_allowed');
    const matched = matchRoute(runtime.routes, target.path);
    if (matched === undefined) return refuse('route_not_found');
    if (req.method !== 'GET' || !matched.methods.has('GET')) return refuse('method_not_allowed');
    const proceed = (decision: Decision) => {
      if (decision.kind === 'denial') return refuse(decision.reason);
      const attribution = decision.attribution;
      const headers = outgoingHeaders(req, runtime, attribution === null ? null : attribution.identity);
      headers['connection'] = 'Upgrade';
      headers['upgrade'] = String(req.headers.upgrade ?? 'websocket');
      // Upgraded connections are not HTTP any more, so the server's own shutdown does not see them: they are
      // tracked here and cut when a graceful shutdown reaches its deadline.
      services.upgradedSockets.add(socket);
      socket.once('close', () => services.upgradedSockets.delete(socket));
      services.forwarder.forwardUpgrade(req, socket, head, { path: (attribution?.forwardPath ?? target.path) + target.search, headers });
    };
    const decision = decide(matched, { method: 'GET', target, headers: req.headers, rawHeaders: req.rawHeaders }, runtime, services.liveness);
    if (decision instanceof Promise) decision.then(proceed, () => refuse('store_unavailable'));
    else proceed(decision);
  };
}

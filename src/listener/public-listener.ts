// The public listener: the HTTP server clients connect to, with its limits and timeouts, its answer to requests
// Node cannot parse, and the wiring of plain requests and protocol upgrades to the pipeline. Every response is
// counted on its connection, so the listener's own answers keep request order behind the ones still owed.
// With `listen.tls` it is an HTTPS server (tls/https-listener.ts) with the same limits and the same wiring.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/load.js';
import { answerClientError } from './client-errors.js';
import { oweResponse } from './outstanding-responses.js';
import { HttpsListener } from './tls/https-listener.js';
import { tlsServerOptions, type ServedCertificate } from './tls/served-certificate.js';
import { routeUpgrades } from './unsupported-upgrades.js';

type ListenConfig = Config['parsed']['listen'];

export interface PublicListenerHandlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  /** WebSocket upgrades; the listener serves every other upgrade request as plain HTTP/1.1. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** An HTTPS listener when `certificate` is given (the one `listen.tls` names, already checked), else HTTP. */
export function createPublicListener(listen: ListenConfig, handlers: PublicListenerHandlers, certificate: ServedCertificate | null = null): Server {
  const handleRequest = handlers.request;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    oweResponse(req, res);
    handleRequest(req, res);
  };
  const options = { requireHostHeader: false, maxHeaderSize: listen.maxHeaderSize };
  const server =
    certificate === null || listen.tls === undefined
      ? createServer(options, onRequest)
      : new HttpsListener({ ...options, ...tlsServerOptions(listen.tls, certificate, listen.headersTimeout) }, onRequest);
  applyListenerLimits(server, listen);
  server.on('upgrade', routeUpgrades(server, handlers.upgrade));
  server.on('clientError', answerClientError);
  return server;
}

export function applyListenerLimits(server: Server, listen: ListenConfig): void {
  server.headersTimeout = listen.headersTimeout;
  server.requestTimeout = listen.requestTimeout;
  server.keepAliveTimeout = listen.keepAliveTimeout;
  server.maxConnections = listen.maxConnections;
  // Node enforces both timeouts only when it sweeps its connections, every 30 s by default, so a 10 s headers
  // timeout would really be up to 40 s. The sweep is armed when the server starts listening: a reload changes
  // the timeouts but keeps the sweep interval chosen at start.
  const shortest = Math.min(...[listen.headersTimeout, listen.requestTimeout].filter((ms) => ms > 0), 4000);
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(100, Math.floor(shortest / 4));
}

/** Resolves once the server listens on `port` and `host`; rejects if it cannot (port taken, say). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

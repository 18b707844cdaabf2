// The admin listener: its own port (loopback by default), never reachable through the public listener.
// Serves the admin API behind the admin tokens and their roles, plus unauthenticated liveness for probes.

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServer, type Server } from 'node:http';
import type { ListenerTlsConfig } from '../config/schema/tls.js';
import { urlOf } from '../listener/public-listeners.js';
import { CertificateReloader, type CertificateReloaderOptions } from '../listener/tls/certificate-reloader.js';
import { HttpsListener } from '../listener/tls/https-listener.js';
import { loadListenerCertificate, tlsServerOptions } from '../listener/tls/served-certificate.js';
import type { Services } from '../pipeline/runtime.js';
import { sendPlainError } from '../respond/errors.js';
import { addHsts, hstsHeaderValue } from '../respond/hsts.js';
import { enforceAdminRole, requireAdminToken } from './auth.js';
import { consoleApp } from './console/app.js';
import { CONSOLE_BASE } from './console/layout.js';
import { gridContext } from './grids/handler.js';
import type { ManagedContext } from './managed/definition.js';
import { managedGrids } from './managed/grids.js';
import { adminRoutes } from './routes.js';

/** What the JSON body parser's failures mean, in words that name no library. */
const BODY_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'the body is not valid JSON',
  'entity.too.large': 'the body is larger than 16 KiB',
  'encoding.unsupported': 'the body\'s content encoding is not supported',
  'charset.unsupported': 'the body\'s charset is not supported',
};

export interface AdminServer {
  app: Express;
  server: Server;
  url: string;
  /** A config reload: the `admin.tls` section as it is now, its files read again. */
  reloadCertificate(tls: ListenerTlsConfig | undefined): void;
  close(): Promise<void>;
}

/** The wait for an admin client's TLS handshake: scripts and browsers on a near network. */
const ADMIN_HANDSHAKE_TIMEOUT_MS = 10_000;

export async function startAdminServer(
  services: Services,
  managed: ManagedContext,
  options: { host: string; port: number; extend?: (app: Express) => void; tls?: ListenerTlsConfig | undefined; certificates?: CertificateReloaderOptions },
): Promise<AdminServer> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Every admin answer is the proxy's own: HSTS on all of them when admin.tls asks for it (respond/hsts.ts).
  let hsts = hstsHeaderValue(options.tls);
  app.use((req, res, next) => {
    addHsts(req, res, hsts);
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Routes that need no admin token (metrics scraping on a loopback listener) are added before the guard.
  options.extend?.(app);
  const grid = gridContext(services, managed.declared);
  const grids = managedGrids(managed, services);
  // The console signs in with an admin token once and then carries its own session cookie.
  app.use(CONSOLE_BASE, consoleApp({ grid, grids, services, keys: managed.keys }));
  // Read on every request, so a reload that adds, removes or re-roles a token applies to the next one.
  app.use(requireAdminToken(() => managed.declared().adminTokens, services.verifier, () => managed.declared().parsed.admin.certificateIdentities));
  app.use(enforceAdminRole);
  app.use(express.json({ limit: '16kb' }));
  app.use((_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });
  app.use(adminRoutes(grid, grids));
  app.use((_req, res) => sendPlainError(res, 404, 'not_found'));
  // Express's default error page would echo library messages; ours says only what is safe.
  app.use((error: { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status !== undefined && error.status >= 400 && error.status < 500 ? error.status : 500;
    const description = BODY_ERRORS[error.type ?? ''];
    sendPlainError(res, status, status === 500 ? 'internal_error' : 'invalid_request', status === 500 ? undefined : description);
  });
  // With admin.tls the request's socket is the TLSSocket, so a client certificate can be read off it.
  const tls = options.tls;
  const certificate = tls === undefined ? null : loadListenerCertificate('admin.tls', tls, options.certificates?.env);
  const server: Server = tls === undefined || certificate === null ? createServer(app) : new HttpsListener(tlsServerOptions(tls, certificate, ADMIN_HANDSHAKE_TIMEOUT_MS), app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const certificates =
    tls === undefined || certificate === null || options.certificates === undefined ? null : new CertificateReloader('admin', server as HttpsListener, tls, certificate, options.certificates);
  return {
    app,
    server,
    url: urlOf(server),
    reloadCertificate(next) {
      if (certificates === null || next === undefined) return;
      hsts = hstsHeaderValue(next);
      certificates.reload(next);
    },
    async close() {
      certificates?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

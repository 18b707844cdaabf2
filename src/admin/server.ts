// The admin listener: its own port (loopback by default), never reachable through the public listener.
// Serves the admin API behind the admin tokens and their roles, plus unauthenticated liveness for probes.

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Services } from '../pipeline/runtime.js';
import { sendPlainError } from '../respond/errors.js';
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
  close(): Promise<void>;
}

export async function startAdminServer(
  services: Services,
  managed: ManagedContext,
  options: { host: string; port: number; extend?: (app: Express) => void },
): Promise<AdminServer> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
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
  app.use(requireAdminToken(() => managed.declared().adminTokens, services.verifier));
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
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    app,
    server,
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

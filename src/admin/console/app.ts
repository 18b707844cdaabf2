// The console as the admin listener mounts it: its session service on the proxy's signing keys and store, its
// pages, and an error page that says only what is safe (a store outage is a 503 that asks to retry).

import type { NextFunction, Request, Response, Router } from 'express';
import type { GridContext } from '../grids/handler.js';
import type { ManagedGrids } from '../managed/grids.js';
import type { Services } from '../../pipeline/runtime.js';
import { StoreUnavailableError } from '../../store/store.js';
import type { KeyRing } from '../../tokens/keyring.js';
import { html } from './html.js';
import { notice, sendPage } from './layout.js';
import { CONSOLE_PAGES } from './pages/index.js';
import { consoleRouter } from './routes.js';
import { ConsoleSessions } from './session.js';

export function consoleApp(parts: { grid: GridContext; grids: ManagedGrids; services: Services; keys: () => KeyRing }): Router {
  const { services } = parts;
  const config = () => parts.grid.declared();
  const sessions = new ConsoleSessions({
    keys: parts.keys,
    adminTokens: () => config().adminTokens,
    store: services.store,
    clock: services.clock,
    issuer: () => config().parsed.tokens.issuer,
    audience: () => config().parsed.tokens.audience,
    lifetimeMs: () => config().parsed.admin.console.sessionLifetime,
  });
  const router = consoleRouter({ context: { grids: parts.grids, admin: parts.grid }, sessions, verifier: services.verifier, config, pages: CONSOLE_PAGES });
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const session = res.locals.console;
    if (error instanceof StoreUnavailableError) {
      return sendPage(res, { title: 'Try again', status: 503, ...(session ? { session } : {}), body: notice('error', 'The store is unavailable right now; nothing was changed. Try again in a moment.') });
    }
    services.logger.error({ err: error }, 'console request failed');
    sendPage(res, { title: 'Something went wrong', status: 500, ...(session ? { session } : {}), body: html`${notice('error', 'The console could not answer this request. Nothing was changed unless the page said so.')}` });
  });
  return router;
}

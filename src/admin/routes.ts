// The admin API: the vendors' grids as JSON endpoints — API keys, API users, API access (OAuth clients) and
// operators, each listed, read, created, edited and deleted; the Tokens grid's sessions and grants; the audit log
// of every change. Listings never include a key, a hash, a password or a token; changes take effect on the very
// next request on every process.

import express, { type Router } from 'express';
import { auditRoutes } from './grids/audit.js';
import { gridContext, type GridServices } from './grids/handler.js';
import { sessionRoutes } from './grids/sessions.js';
import { tokenRoutes } from './grids/tokens.js';
import { clientsGrid } from './managed/clients.js';
import type { ManagedContext } from './managed/definition.js';
import { keysGrid } from './managed/keys.js';
import { operatorsGrid } from './managed/operators.js';
import { managedGridRoutes } from './managed/routes.js';
import { usersGrid } from './managed/users.js';

export function adminRoutes(services: GridServices, managed: ManagedContext): Router {
  const router = express.Router();
  const grid = gridContext(services);
  // Session routes first: `/admin/users/:login/sessions` must not be read as a user called "sessions".
  sessionRoutes(router, grid);
  tokenRoutes(router, grid);
  managedGridRoutes(router, grid, managed, keysGrid);
  managedGridRoutes(router, grid, managed, usersGrid);
  managedGridRoutes(router, grid, managed, clientsGrid);
  managedGridRoutes(router, grid, managed, operatorsGrid);
  auditRoutes(router, grid);
  return router;
}

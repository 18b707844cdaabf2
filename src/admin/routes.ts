// The admin API: the vendors' grids as JSON endpoints — API keys, API users, API access (OAuth clients) and
// operators, each listed, read, created, edited and deleted; the Tokens grid's sessions and grants; the audit log
// of every change. Listings never include a key, a hash, a password or a token; changes take effect on the very
// next request on every process.

import express, { type Router } from 'express';
import { auditRoutes } from './grids/audit.js';
import type { GridContext } from './grids/handler.js';
import { sessionRoutes } from './grids/sessions.js';
import { tokenRoutes } from './grids/tokens.js';
import { gridList, type ManagedGrids } from './managed/grids.js';
import { managedGridRoutes } from './managed/routes.js';

export function adminRoutes(grid: GridContext, grids: ManagedGrids): Router {
  const router = express.Router();
  // Session routes first: `/admin/users/:login/sessions` must not be read as a user called "sessions".
  sessionRoutes(router, grid);
  tokenRoutes(router, grid);
  for (const service of gridList(grids)) managedGridRoutes(router, grid, service);
  auditRoutes(router, grid);
  return router;
}

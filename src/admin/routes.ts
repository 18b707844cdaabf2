// The admin API: the vendor's API Keys, Users and Tokens grids as JSON endpoints, one file per grid. Listings
// never include a key, a hash, a password or a token; revocations take effect on the very next request on every
// process.

import express, { type Router } from 'express';
import { gridContext, type GridServices } from './grids/handler.js';
import { keyRoutes } from './grids/keys.js';
import { sessionRoutes } from './grids/sessions.js';
import { tokenRoutes } from './grids/tokens.js';
import { userRoutes } from './grids/users.js';

export function adminRoutes(services: GridServices): Router {
  const router = express.Router();
  const grid = gridContext(services);
  keyRoutes(router, grid);
  userRoutes(router, grid);
  sessionRoutes(router, grid);
  tokenRoutes(router, grid);
  return router;
}

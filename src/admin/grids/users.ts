// The API Users grid and the operators with API access; "delete the user's sessions" forces its re-login.

import type { Router } from 'express';
import type { GridContext } from './handler.js';
import { iso } from './views.js';

export function userRoutes(router: Router, grid: GridContext): void {
  router.get('/admin/users', (_req, res) => {
    const config = grid.runtime().config;
    const users = [...config.apiUsers.values()].map((u) => ({ login: u.login, keys: u.keys, sessionExpiresAt: iso(u.sessionExpiresAt) }));
    const operators = [...config.operators.values()].map((o) => ({
      login: o.login,
      apiAccess: o.apiAccess,
      teams: o.teams,
      organizations: o.organizations,
      features: o.features,
    }));
    res.json({ users, operators });
  });

  router.delete(
    '/admin/users/:login/sessions',
    grid.route(async (req, res) => {
      const revoked = await grid.services.store.deleteSessions({ user: String(req.params['login']) });
      res.json({ revoked });
    }),
  );
}

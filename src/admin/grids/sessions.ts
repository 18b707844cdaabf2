// The Tokens grid's PCR-360 half: live sessions, ended one by one or all of a key's or a user's at once, on
// every process by the very next request.

import type { Router } from 'express';
import { sendPlainError } from '../../respond/errors.js';
import { deleteById, type GridContext } from './handler.js';
import { sessionView, stringQuery } from './views.js';

export function sessionRoutes(router: Router, grid: GridContext): void {
  const { store } = grid.services;
  const filterOf = (keyId: string | undefined, user: string | undefined) => ({ ...(keyId ? { keyId } : {}), ...(user ? { user } : {}) });

  router.get(
    '/admin/sessions',
    grid.route(async (req, res) => {
      const sessions = await store.listSessions(filterOf(stringQuery(req, 'keyId'), stringQuery(req, 'user')), grid.now());
      res.json({ sessions: sessions.map(sessionView) });
    }),
  );

  deleteById(router, grid, '/admin/sessions', 'session', (id) => store.deleteSession(id));

  // "Force all users of that key to re-authenticate", and the same for one user: a filter is required so a
  // bare DELETE cannot end every session by accident.
  router.delete(
    '/admin/sessions',
    grid.route(async (req, res) => {
      const keyId = stringQuery(req, 'keyId');
      const user = stringQuery(req, 'user');
      if (!keyId && !user) return sendPlainError(res, 400, 'invalid_request', 'name keyId or user');
      const revoked = await store.deleteSessions(filterOf(keyId, user));
      await grid.audited(res, { action: 'revoke', grid: 'sessions', target: keyId ? `key:${keyId}` : `user:${user}`, detail: { ...filterOf(keyId, user), sessionsEnded: revoked.length } });
      res.json({ revoked });
    }),
  );

  // The API Users tab's "delete the user's sessions": a forced re-login, the user itself stays.
  router.delete(
    '/admin/users/:login/sessions',
    grid.route(async (req, res) => {
      const user = String(req.params['login']);
      const revoked = await store.deleteSessions({ user });
      await grid.audited(res, { action: 'revoke', grid: 'sessions', target: `user:${user}`, detail: { user, sessionsEnded: revoked.length } });
      res.json({ revoked });
    }),
  );
}

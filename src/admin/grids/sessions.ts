// The Tokens grid's PCR-360 half: live sessions, ended one by one or all of a key's or a user's at once, on
// every process by the very next request. The ending-and-auditing functions are exported so the console's
// Tokens page ends sessions exactly as this API does, with the same audit entries.

import type { Response, Router } from 'express';
import { sendPlainError } from '../../respond/errors.js';
import type { GridContext } from './handler.js';
import { sessionView, stringQuery } from './views.js';

/** Whose sessions to end: one key's or one user's (both narrows to that user on that key). */
export interface SessionScope {
  keyId?: string | undefined;
  user?: string | undefined;
}

const filterOf = ({ keyId, user }: SessionScope) => ({ ...(keyId ? { keyId } : {}), ...(user ? { user } : {}) });

/** The live sessions in the scope (all of them when it is empty). */
export function liveSessionsOf(grid: GridContext, scope: SessionScope) {
  return grid.services.store.listSessions(filterOf(scope), grid.now());
}

/** Ends one session and audits it; false when no session had that id (nothing is audited then). */
export async function endSession(grid: GridContext, res: Response, id: string): Promise<boolean> {
  if (!(await grid.services.store.deleteSession(id))) return false;
  await grid.audited(res, { action: 'revoke', grid: 'sessions', target: id });
  return true;
}

/** "Force re-authentication": ends every session in the scope and audits how many ended; their ids. */
export async function endSessionsOf(grid: GridContext, res: Response, scope: SessionScope): Promise<string[]> {
  const filter = filterOf(scope);
  const revoked = await grid.services.store.deleteSessions(filter);
  await grid.audited(res, { action: 'revoke', grid: 'sessions', target: filter.keyId ? `key:${filter.keyId}` : `user:${filter.user}`, detail: { ...filter, sessionsEnded: revoked.length } });
  return revoked;
}

export function sessionRoutes(router: Router, grid: GridContext): void {
  router.get(
    '/admin/sessions',
    grid.route(async (req, res) => {
      const sessions = await liveSessionsOf(grid, { keyId: stringQuery(req, 'keyId'), user: stringQuery(req, 'user') });
      res.json({ sessions: sessions.map(sessionView) });
    }),
  );

  router.delete(
    '/admin/sessions/:id',
    grid.route(async (req, res) => {
      const id = String(req.params['id']);
      if (!(await endSession(grid, res, id))) return sendPlainError(res, 404, 'not_found', 'no such session');
      res.json({ revoked: [id] });
    }),
  );

  // "Force all users of that key to re-authenticate", and the same for one user: a filter is required so a
  // bare DELETE cannot end every session by accident.
  router.delete(
    '/admin/sessions',
    grid.route(async (req, res) => {
      const keyId = stringQuery(req, 'keyId');
      const user = stringQuery(req, 'user');
      if (!keyId && !user) return sendPlainError(res, 400, 'invalid_request', 'name keyId or user');
      res.json({ revoked: await endSessionsOf(grid, res, { keyId, user }) });
    }),
  );

  // The API Users tab's "delete the user's sessions": a forced re-login, the user itself stays.
  router.delete(
    '/admin/users/:login/sessions',
    grid.route(async (req, res) => {
      res.json({ revoked: await endSessionsOf(grid, res, { user: String(req.params['login']) }) });
    }),
  );
}

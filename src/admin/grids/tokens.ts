// The Tokens grid's OAuth half: grants (token families), revoked one by one or all of a client's or an
// operator's, and revocation of any credential by value — an access token, a refresh token or a PCR-360 session
// token — recognised by the face that issued it. The revoking-and-auditing functions are exported so the
// console's Tokens page revokes grants exactly as this API does, with the same audit entries.

import type { Response, Router } from 'express';
import { sendPlainError } from '../../respond/errors.js';
import type { TokenFamilyRecord } from '../../store/store.js';
import type { GridContext } from './handler.js';
import { familyView, stringQuery } from './views.js';

const MAX_TOKEN_LENGTH = 8192;

/** Whose grants to revoke: one client's or one operator's (both narrows to that operator on that client). */
export interface GrantScope {
  clientId?: string | undefined;
  operator?: string | undefined;
}

// The store calls the operator the family's subject; audit details have always used the store's name.
const filterOf = ({ clientId, operator }: GrantScope) => ({ ...(clientId ? { clientId } : {}), ...(operator ? { subject: operator } : {}) });

/** The grants in the scope that have not expired, revoked ones included (all of them when the scope is empty). */
export function grantsOf(grid: GridContext, scope: GrantScope): Promise<TokenFamilyRecord[]> {
  return grid.services.store.listFamilies(filterOf(scope), grid.now());
}

/** The grants in the scope that are still live, i.e. what revoking the scope would end. */
export async function liveGrantsOf(grid: GridContext, scope: GrantScope): Promise<TokenFamilyRecord[]> {
  return (await grantsOf(grid, scope)).filter((family) => family.revokedAt === null);
}

/** Revokes one grant and audits it; false when no grant had that id (nothing is audited then). */
export async function revokeGrant(grid: GridContext, res: Response, id: string): Promise<boolean> {
  if (!(await grid.services.store.revokeFamily(id, grid.now()))) return false;
  await grid.audited(res, { action: 'revoke', grid: 'token-families', target: id });
  return true;
}

/** Revokes every live grant in the scope and audits how many were revoked; their ids. */
export async function revokeGrantsOf(grid: GridContext, res: Response, scope: GrantScope): Promise<string[]> {
  const revoked: string[] = [];
  for (const family of await liveGrantsOf(grid, scope)) {
    if (await grid.services.store.revokeFamily(family.id, grid.now())) revoked.push(family.id);
  }
  const filter = filterOf(scope);
  await grid.audited(res, { action: 'revoke', grid: 'token-families', target: scope.clientId ? `client:${scope.clientId}` : `operator:${scope.operator}`, detail: { ...filter, grantsRevoked: revoked.length } });
  return revoked;
}

export function tokenRoutes(router: Router, grid: GridContext): void {
  const { store } = grid.services;

  router.get(
    '/admin/token-families',
    grid.route(async (req, res) => {
      const families = await grantsOf(grid, { clientId: stringQuery(req, 'clientId'), operator: stringQuery(req, 'operator') });
      res.json({ families: families.map(familyView) });
    }),
  );

  router.delete(
    '/admin/token-families/:id',
    grid.route(async (req, res) => {
      const id = String(req.params['id']);
      if (!(await revokeGrant(grid, res, id))) return sendPlainError(res, 404, 'not_found', 'no such token family');
      res.json({ revoked: [id] });
    }),
  );

  router.delete(
    '/admin/token-families',
    grid.route(async (req, res) => {
      const clientId = stringQuery(req, 'clientId');
      const operator = stringQuery(req, 'operator');
      if (!clientId && !operator) return sendPlainError(res, 400, 'invalid_request', 'name clientId or operator');
      res.json({ revoked: await revokeGrantsOf(grid, res, { clientId, operator }) });
    }),
  );

  // Revoke one credential by value (like RFC 7009).
  router.post(
    '/admin/revoke',
    grid.route(async (req, res) => {
      const token = typeof req.body?.token === 'string' ? (req.body.token as string) : undefined;
      if (token === undefined || token.length > MAX_TOKEN_LENGTH) return sendPlainError(res, 400, 'invalid_request', 'send {"token": "..."}');
      for (const face of grid.runtime().faces) {
        const recognized = face.recognizeToken?.(token);
        if (recognized === undefined || recognized === null) continue;
        const credential = recognized.credential;
        if (credential.kind === 'refresh-family') {
          const existed = await store.revokeFamily(credential.familyId, grid.now());
          if (!existed) return sendPlainError(res, 404, 'not_found');
          await grid.audited(res, { action: 'revoke', grid: 'token-families', target: credential.familyId });
          res.json({ revoked: { family: credential.familyId } });
          return;
        }
        if (credential.kind === 'access-token') {
          await store.revokeToken(credential.claims.jti, credential.claims.exp * 1000);
          await grid.audited(res, { action: 'revoke', grid: 'access-tokens', target: credential.claims.jti, detail: { clientId: credential.claims.client_id, operator: credential.claims.sub } });
          res.json({ revoked: { accessToken: credential.claims.jti } });
          return;
        }
        if (credential.kind === 'pcr-session') {
          const existed = await store.deleteSession(credential.sessionId);
          if (!existed) return sendPlainError(res, 404, 'not_found');
          await grid.audited(res, { action: 'revoke', grid: 'sessions', target: credential.sessionId });
          res.json({ revoked: { session: credential.sessionId } });
          return;
        }
      }
      sendPlainError(res, 404, 'not_found', 'not a live token issued by this proxy');
    }),
  );
}

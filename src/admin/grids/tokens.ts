// The Tokens grid's OAuth half: grants (token families), revoked one by one or all of a client's or an
// operator's, and revocation of any credential by value — an access token, a refresh token or a PCR-360 session
// token — recognised by the face that issued it.

import type { Router } from 'express';
import { sendPlainError } from '../../respond/errors.js';
import { deleteById, type GridContext } from './handler.js';
import { familyView, stringQuery } from './views.js';

const MAX_TOKEN_LENGTH = 8192;

export function tokenRoutes(router: Router, grid: GridContext): void {
  const { store } = grid.services;
  const filterOf = (clientId: string | undefined, operator: string | undefined) => ({ ...(clientId ? { clientId } : {}), ...(operator ? { subject: operator } : {}) });

  router.get(
    '/admin/token-families',
    grid.route(async (req, res) => {
      const families = await store.listFamilies(filterOf(stringQuery(req, 'clientId'), stringQuery(req, 'operator')), grid.now());
      res.json({ families: families.map(familyView) });
    }),
  );

  deleteById(router, grid, '/admin/token-families', 'token family', (id) => store.revokeFamily(id, grid.now()));

  router.delete(
    '/admin/token-families',
    grid.route(async (req, res) => {
      const clientId = stringQuery(req, 'clientId');
      const operator = stringQuery(req, 'operator');
      if (!clientId && !operator) return sendPlainError(res, 400, 'invalid_request', 'name clientId or operator');
      const families = await store.listFamilies(filterOf(clientId, operator), grid.now());
      const revoked: string[] = [];
      for (const family of families) {
        if (family.revokedAt === null && (await store.revokeFamily(family.id, grid.now()))) revoked.push(family.id);
      }
      const filter = filterOf(clientId, operator);
      await grid.audited(res, { action: 'revoke', grid: 'token-families', target: clientId ? `client:${clientId}` : `operator:${operator}`, detail: { ...filter, grantsRevoked: revoked.length } });
      res.json({ revoked });
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

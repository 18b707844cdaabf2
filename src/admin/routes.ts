// The admin API: the vendor's API Keys, Users and Tokens grids as JSON endpoints. Listings never include a key,
// a hash, a password or a token; revocations take effect on the very next request on every process.

import express, { type Request, type Response, type Router } from 'express';
import type { Runtime, Services } from '../pipeline/runtime.js';
import type { SessionRecord, TokenFamilyRecord } from '../store/store.js';
import { refreshTokenFamily } from '../faces/oauth/refresh-tokens.js';
import { StoreUnavailableError } from '../store/store.js';

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function sessionView(s: SessionRecord) {
  return {
    id: s.id,
    keyId: s.keyId,
    user: s.user,
    createdAt: iso(s.createdAt),
    lastActivity: iso(s.lastActivity),
    expiresAt: iso(s.expiresAt),
    idleTimeoutSeconds: s.idleTimeoutMs / 1000,
    idleExpiresAt: s.idleTimeoutMs > 0 ? iso(s.lastActivity + s.idleTimeoutMs) : null,
  };
}

function familyView(f: TokenFamilyRecord) {
  return {
    id: f.id,
    clientId: f.clientId,
    operator: f.subject,
    scope: f.scope,
    createdAt: iso(f.createdAt),
    lastUsedAt: iso(f.lastUsedAt),
    accessExpiresAt: iso(f.accessExpiresAt),
    refreshExpiresAt: iso(f.refreshExpiresAt),
    revokedAt: iso(f.revokedAt),
  };
}

function stringQuery(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

/** Turns store outages into 503 and anything unexpected into a bare 500, never a stack trace. */
function safe(handler: Handler, services: Pick<Services, 'logger'>): Handler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        res.status(503).set('retry-after', '1').json({ error: 'store_unavailable', error_description: 'the session store is unavailable' });
        return;
      }
      services.logger.error({ err: error }, 'admin request failed');
      res.status(500).json({ error: 'internal_error' });
    }
  };
}

export function adminRoutes(services: Pick<Services, 'store' | 'clock' | 'logger' | 'current'>): Router {
  const router = express.Router();
  const runtime = (): Runtime => services.current();
  const now = () => services.clock.now();
  const route = (handler: Handler) => safe(handler, services);

  router.get('/admin/keys', (_req, res) => {
    const keys = runtime().config.apiKeys.map((k) => ({
      id: k.id,
      description: k.description,
      read: k.read,
      write: k.write,
      tokenAuth: k.tokenAuth,
      expiresAt: iso(k.expiresAt),
      expired: k.expiresAt !== undefined && now() >= k.expiresAt,
      sessions: k.sessions ?? null,
    }));
    res.json({ keys });
  });

  router.get('/admin/users', (_req, res) => {
    const users = [...runtime().config.apiUsers.values()].map((u) => ({ login: u.login, keys: u.keys, sessionExpiresAt: iso(u.sessionExpiresAt) }));
    const operators = [...runtime().config.operators.values()].map((o) => ({
      login: o.login,
      apiAccess: o.apiAccess,
      teams: o.teams,
      organizations: o.organizations,
      features: o.features,
    }));
    res.json({ users, operators });
  });

  router.get(
    '/admin/sessions',
    route(async (req, res) => {
      const keyId = stringQuery(req, 'keyId');
      const user = stringQuery(req, 'user');
      const sessions = await services.store.listSessions({ ...(keyId ? { keyId } : {}), ...(user ? { user } : {}) }, now());
      res.json({ sessions: sessions.map(sessionView) });
    }),
  );

  router.delete(
    '/admin/sessions/:id',
    route(async (req, res) => {
      const existed = await services.store.deleteSession(String(req.params['id']));
      if (!existed) {
        res.status(404).json({ error: 'not_found', error_description: 'no such session' });
        return;
      }
      res.json({ revoked: [req.params['id']] });
    }),
  );

  // "Force all users of that key to re-authenticate", and the same for one user: a filter is required so a
  // bare DELETE cannot end every session by accident.
  router.delete(
    '/admin/sessions',
    route(async (req, res) => {
      const keyId = stringQuery(req, 'keyId');
      const user = stringQuery(req, 'user');
      if (!keyId && !user) {
        res.status(400).json({ error: 'invalid_request', error_description: 'name keyId or user' });
        return;
      }
      const revoked = await services.store.deleteSessions({ ...(keyId ? { keyId } : {}), ...(user ? { user } : {}) });
      res.json({ revoked });
    }),
  );

  router.delete(
    '/admin/users/:login/sessions',
    route(async (req, res) => {
      const revoked = await services.store.deleteSessions({ user: String(req.params['login']) });
      res.json({ revoked });
    }),
  );

  router.get(
    '/admin/token-families',
    route(async (req, res) => {
      const clientId = stringQuery(req, 'clientId');
      const operator = stringQuery(req, 'operator');
      const families = await services.store.listFamilies({ ...(clientId ? { clientId } : {}), ...(operator ? { subject: operator } : {}) }, now());
      res.json({ families: families.map(familyView) });
    }),
  );

  router.delete(
    '/admin/token-families/:id',
    route(async (req, res) => {
      const existed = await services.store.revokeFamily(String(req.params['id']), now());
      if (!existed) {
        res.status(404).json({ error: 'not_found', error_description: 'no such token family' });
        return;
      }
      res.json({ revoked: [req.params['id']] });
    }),
  );

  router.delete(
    '/admin/token-families',
    route(async (req, res) => {
      const clientId = stringQuery(req, 'clientId');
      const operator = stringQuery(req, 'operator');
      if (!clientId && !operator) {
        res.status(400).json({ error: 'invalid_request', error_description: 'name clientId or operator' });
        return;
      }
      const families = await services.store.listFamilies({ ...(clientId ? { clientId } : {}), ...(operator ? { subject: operator } : {}) }, now());
      const revoked: string[] = [];
      for (const family of families) {
        if (family.revokedAt === null && (await services.store.revokeFamily(family.id, now()))) revoked.push(family.id);
      }
      res.json({ revoked });
    }),
  );

  // Revoke one credential by value (like RFC 7009): an access token, a refresh token or a PCR session token.
  router.post(
    '/admin/revoke',
    route(async (req, res) => {
      const token = typeof req.body?.token === 'string' ? (req.body.token as string) : undefined;
      if (token === undefined || token.length > 8192) {
        res.status(400).json({ error: 'invalid_request', error_description: 'send {"token": "..."}' });
        return;
      }
      const current = runtime();
      const family = refreshTokenFamily(token);
      if (family !== null) {
        const existed = await services.store.revokeFamily(family, now());
        res.status(existed ? 200 : 404).json(existed ? { revoked: { family } } : { error: 'not_found' });
        return;
      }
      const access = current.accessTokens.verify(token);
      if (access.ok) {
        await services.store.revokeToken(access.claims.jti, access.claims.exp * 1000);
        res.json({ revoked: { accessToken: access.claims.jti } });
        return;
      }
      const session = current.pcr?.context.sessionTokens.verify(token);
      if (session?.ok) {
        const existed = await services.store.deleteSession(session.claims.sid);
        res.status(existed ? 200 : 404).json(existed ? { revoked: { session: session.claims.sid } } : { error: 'not_found' });
        return;
      }
      res.status(404).json({ error: 'not_found', error_description: 'not a live token issued by this proxy' });
    }),
  );

  return router;
}

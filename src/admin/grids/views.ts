// How the admin grids show records: ISO dates, no key, hash, password or token ever, and the query filters.

import type { Request } from 'express';
import type { SessionRecord, TokenFamilyRecord } from '../../store/store.js';

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function sessionView(s: SessionRecord) {
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

export function familyView(f: TokenFamilyRecord) {
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

export function stringQuery(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// Store records for the store-specific tests: a session and a token family at a fixed instant, with whatever a
// test changes on top.

import type { SessionRecord, TokenFamilyRecord } from '../../src/store/store.js';

export const T0 = Date.UTC(2026, 0, 1);

export function sessionAt(id: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return { id, keyId: 'k', user: 'u', createdAt: T0, lastActivity: T0, expiresAt: null, idleTimeoutMs: 0, ...over };
}

export function familyAt(id: string, over: Partial<TokenFamilyRecord> = {}): TokenFamilyRecord {
  return { id, clientId: 'c', subject: 's', scope: '', createdAt: T0, lastUsedAt: T0, refreshExpiresAt: T0 + 60_000, accessExpiresAt: T0 + 30_000, revokedAt: null, ...over };
}

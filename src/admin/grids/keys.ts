// The API Keys grid: every configured key with its description, Read and Write sections, expiry and session
// limits; never the key itself or its hash.

import type { Router } from 'express';
import type { GridContext } from './handler.js';
import { iso } from './views.js';

export function keyRoutes(router: Router, grid: GridContext): void {
  router.get('/admin/keys', (_req, res) => {
    const now = grid.now();
    const keys = grid.runtime().config.apiKeys.map((k) => ({
      id: k.id,
      description: k.description,
      read: k.read,
      write: k.write,
      tokenAuth: k.tokenAuth,
      expiresAt: iso(k.expiresAt),
      expired: k.expiresAt !== undefined && now >= k.expiresAt,
      sessions: k.sessions ?? null,
    }));
    res.json({ keys });
  });
}

// The change log: every admin change, newest first, paged with `?before=<seq>` and `?limit=` (at most 500), as
// long as the store keeps them (the newest 10 000).

import type { Router } from 'express';
import { sendPlainError } from '../../respond/errors.js';
import type { AuditEntry } from '../../store/credentials.js';
import type { GridContext } from './handler.js';
import { iso, stringQuery } from './views.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

const entryView = (e: AuditEntry) => ({ ...e, at: iso(e.at) });

export function auditRoutes(router: Router, grid: GridContext): void {
  router.get(
    '/admin/audit',
    grid.route(async (req, res) => {
      const limitText = stringQuery(req, 'limit');
      const beforeText = stringQuery(req, 'before');
      const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
      const before = beforeText === undefined ? undefined : Number(beforeText);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) return sendPlainError(res, 400, 'invalid_request', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
      if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) return sendPlainError(res, 400, 'invalid_request', 'before must be the seq of an entry');
      const entries = await grid.services.store.credentials.listAudit({ limit, ...(before === undefined ? {} : { before }) });
      const last = entries.at(-1);
      res.json({ entries: entries.map(entryView), next: entries.length === limit && last !== undefined ? `/admin/audit?before=${last.seq}&limit=${limit}` : null });
    }),
  );
}

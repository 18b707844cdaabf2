// What every admin grid handler shares: the services it reads, and one wrapper that turns store outages into
// 503 and anything unexpected into a bare 500, never a stack trace.

import type { Request, Response } from 'express';
import type { Config } from '../../config/load.js';
import type { Runtime, Services } from '../../pipeline/runtime.js';
import { sendPlainError } from '../../respond/errors.js';
import { StoreUnavailableError } from '../../store/store.js';
import type { AuditInput } from '../../store/credentials.js';

export type GridServices = Pick<Services, 'store' | 'clock' | 'logger' | 'current'>;

export type Handler = (req: Request, res: Response) => Promise<void> | void;

export interface GridContext {
  services: GridServices;
  runtime(): Runtime;
  /**
   * The config file's part of the running config. Admin calls read settings and admin tokens from it, so a burst
   * of managed changes does not rebuild the runtime on every admin call (the next proxied request does, once).
   */
  declared(): Config;
  now(): number;
  route(handler: Handler): Handler;
  /** Writes an audit entry for a change that is not a credential write (ending sessions, revoking grants), and logs it. */
  audited(res: Response, change: Pick<AuditInput, 'action' | 'grid' | 'target'> & { detail?: Record<string, unknown> }): Promise<void>;
}

export function gridContext(services: GridServices, declared: () => Config): GridContext {
  return {
    services,
    runtime: () => services.current(),
    declared,
    now: () => services.clock.now(),
    async audited(res, change) {
      const entry: AuditInput = { at: services.clock.now(), actor: res.locals.admin?.name ?? 'unknown', before: null, after: null, ...change };
      await services.store.credentials.appendAudit(entry);
      services.logger.info({ audit: entry }, `admin ${entry.action} in ${entry.grid}: "${entry.target}"`);
    },
    route: (handler) => async (req, res) => {
      try {
        await handler(req, res);
      } catch (error) {
        if (error instanceof StoreUnavailableError) {
          sendPlainError(res, 503, 'store_unavailable', 'the session store is unavailable', { 'retry-after': '1' });
          return;
        }
        services.logger.error({ err: error }, 'admin request failed');
        sendPlainError(res, 500, 'internal_error');
      }
    },
  };
}

// Admin API authentication and authorization: `Authorization: Bearer <admin token>`, checked against every
// configured admin token's hash, then the token's role: `read` may only GET and HEAD, `manage` may do everything.

import type { NextFunction, Request, Response } from 'express';
import type { AdminRole } from '../config/schema.js';
import { sendPlainError } from '../respond/errors.js';
import { identifyAdminToken } from '../secrets/admin-tokens.js';
import type { SecretVerifier, StoredSecret } from '../secrets/verifier.js';

export { identifyAdminToken };

const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +(\S{1,1024})$/;

/** Methods that only read; every other one needs a `manage` token. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Who made an admin request: what the handlers (and audit records) name, never the token itself. */
export interface AdminIdentity {
  name: string;
  role: AdminRole;
}

export interface AdminCredential extends AdminIdentity {
  secret: StoredSecret;
}

declare global {
  namespace Express {
    interface Locals {
      /** Set by requireAdminToken for every request that reaches an admin handler. */
      admin?: AdminIdentity;
    }
  }
}

export function requireAdminToken(tokens: () => readonly AdminCredential[], verifier: SecretVerifier) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const configured = tokens();
    const match = BEARER.exec(req.headers.authorization ?? '');
    const fail = () => sendPlainError(res, 401, 'unauthorized', 'a valid admin token is required', { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
    if (configured.length === 0 || match === null || req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization').length !== 1) {
      fail();
      return;
    }
    identifyAdminToken(match[1] as string, configured, verifier).then((who) => {
      if (who === null) {
        fail();
        return;
      }
      res.locals.admin = { name: who.name, role: who.role };
      next();
    }, next);
  };
}

/** The one place roles are enforced, after requireAdminToken: grids need not check them. */
export function enforceAdminRole(req: Request, res: Response, next: NextFunction): void {
  const admin = res.locals.admin;
  if (admin === undefined) {
    // Mounted without requireAdminToken in front: refuse rather than serve unauthenticated.
    sendPlainError(res, 401, 'unauthorized', 'a valid admin token is required', { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
    return;
  }
  if (admin.role !== 'manage' && !READ_METHODS.has(req.method)) {
    sendPlainError(res, 403, 'forbidden', `the admin token "${admin.name}" may only read`);
    return;
  }
  next();
}

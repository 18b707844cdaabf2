// Admin API authentication and authorization: `Authorization: Bearer <admin token>`, checked against every
// configured admin token's hash, or a verified TLS client certificate listed in admin.certificateIdentities; then
// the role: `read` may only GET and HEAD, `manage` may do everything.
//
// Both at once: an Authorization header is always judged on its own (a wrong token is 401 whatever certificate
// came with it: the client asked to be someone in particular), and when token and certificate are both valid the
// narrower role wins, with the name of the credential that has it (the token's on a tie), so two credentials never
// grant more than either alone.

import type { NextFunction, Request, Response } from 'express';
import type { AdminRole } from '../config/schema.js';
import type { CertificateIdentityConfig } from '../config/schema/admin-certificates.js';
import { sendPlainError } from '../respond/errors.js';
import { identifyAdminToken } from '../secrets/admin-tokens.js';
import type { SecretVerifier, StoredSecret } from '../secrets/verifier.js';
import { identifyClientCertificate } from './certificate-identity.js';

export { identifyAdminToken };

const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +(\S{1,1024})$/;

/** Methods that only read; every other one needs a `manage` token. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Who made an admin request: what the handlers (and audit records) name, never the token itself. */
export interface AdminIdentity {
  name: string;
  role: AdminRole;
  /** Set when a client certificate, not a token, made this identity; messages name the credential. */
  credential?: 'certificate';
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

/** Of a valid token and a valid certificate, the one with the narrower role; the token on a tie. */
function narrower(token: AdminIdentity, certificate: AdminIdentity | null): AdminIdentity {
  return certificate !== null && certificate.role === 'read' && token.role === 'manage' ? certificate : token;
}

/**
 * Authenticates every admin request. `certificateIdentities` is read on every request like `tokens`, so a reload
 * that adds, removes or re-roles one applies to the next request.
 */
export function requireAdminToken(
  tokens: () => readonly AdminCredential[],
  verifier: SecretVerifier,
  certificateIdentities: () => readonly CertificateIdentityConfig[] = () => [],
) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const configured = tokens();
    const match = BEARER.exec(req.headers.authorization ?? '');
    const authorizationHeaders = req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization').length;
    const listed = identifyClientCertificate(req.socket, certificateIdentities());
    const byCertificate: AdminIdentity | null = listed === null ? null : { name: listed.name, role: listed.role, credential: 'certificate' };
    const fail = () => sendPlainError(res, 401, 'unauthorized', 'a valid admin token is required', { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
    if (authorizationHeaders === 0 && byCertificate !== null) {
      res.locals.admin = byCertificate;
      next();
      return;
    }
    if (configured.length === 0 || match === null || authorizationHeaders !== 1) {
      fail();
      return;
    }
    identifyAdminToken(match[1] as string, configured, verifier).then((who) => {
      if (who === null) {
        fail();
        return;
      }
      res.locals.admin = narrower({ name: who.name, role: who.role }, byCertificate);
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
    sendPlainError(res, 403, 'forbidden', `the admin ${admin.credential === 'certificate' ? 'certificate' : 'token'} "${admin.name}" may only read`);
    return;
  }
  next();
}

// Admin API authentication: `Authorization: Bearer <admin token>`, checked against the token's hash from config.

import type { NextFunction, Request, Response } from 'express';
import { sendPlainError } from '../respond/errors.js';
import type { SecretVerifier, StoredSecret } from '../secrets/verifier.js';

const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +(\S{1,1024})$/;

export function requireAdminToken(token: () => StoredSecret | null, verifier: SecretVerifier) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const stored = token();
    const match = BEARER.exec(req.headers.authorization ?? '');
    const fail = () => sendPlainError(res, 401, 'unauthorized', 'a valid admin token is required', { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
    if (stored === null || match === null || req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization').length !== 1) {
      fail();
      return;
    }
    verifier.verify(match[1] as string, stored).then((ok) => (ok ? next() : fail()), next);
  };
}

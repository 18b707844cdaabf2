// GET /.well-known/jwks.json: the public halves of the signing keys, so other services can verify our tokens.

import { sendPlainError } from '../respond/errors.js';
import type { OwnEndpoint } from '../route/own-endpoint.js';
import type { KeyRing } from './keyring.js';

export const JWKS_PATH = '/.well-known/jwks.json';

export function jwksEndpoint(keys: KeyRing): OwnEndpoint {
  const jwks = JSON.stringify(keys.jwks());
  return {
    id: 'jwks',
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendPlainError(res, 405, 'method_not_allowed', undefined, { allow: 'GET, HEAD' });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(jwks) });
      res.end(req.method === 'HEAD' ? undefined : jwks);
    },
  };
}

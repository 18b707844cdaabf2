// Calls of the admin API as an operator's script makes them: a bearer admin token (the demo's manage token unless
// told otherwise) and a JSON body when there is one.

import { SECRETS } from '../fixtures/secrets.js';
import { send, type Reply } from './http.js';

export function adminRequest(adminUrl: string, method: string, path: string, body?: unknown, token: string = SECRETS.adminToken): Promise<Reply> {
  return send(adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

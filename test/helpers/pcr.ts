// Calls of the PCR-360 face as a client makes them: header login (authlogin) with an API user's credentials,
// requests that carry the session token in PCR-AUTH-TOKEN, and logout (authlogout).

import { expect } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { send, type Reply } from './http.js';

/** The two headers of a header login. */
export function pcrLoginHeaders(user: string, password: string = SECRETS.apiUserPassword): Record<string, string> {
  return { 'PCR-AUTH-USERNAME': user, 'PCR-AUTH-PASSWORD': password };
}

/** POST authlogin.<output> on `key` as `user`; the answer as it came, whatever it is. */
export function pcrLoginRequest(url: string, key: string = SECRETS.rwKey, user = 'api-user', options: { password?: string; output?: string } = {}): Promise<Reply> {
  return send(`${url}/api/${key}/authlogin.${options.output ?? 'json'}`, { method: 'POST', headers: pcrLoginHeaders(user, options.password) });
}

/** A header login that must succeed; returns the session token. */
export async function pcrLogin(url: string, key: string = SECRETS.rwKey, user = 'api-user'): Promise<string> {
  const reply = await pcrLoginRequest(url, key, user);
  expect(reply.status, reply.text).toBe(200);
  return (reply.json as { token: string }).token;
}

/** A request of `tail` (a request type and output, such as servicedesk.json) on `key` with the session token. */
export function pcrCall(url: string, key: string, token: string, tail = 'servicedesk.json', method = 'GET'): Promise<Reply> {
  return send(`${url}/api/${key}/${tail}`, { method, headers: { 'PCR-AUTH-TOKEN': token } });
}

/** authlogout.<output> on `key` with the headers given (normally PCR-AUTH-TOKEN). */
export function pcrLogout(url: string, key: string, headers: Record<string, string>, output = 'json', method = 'POST'): Promise<Reply> {
  return send(`${url}/api/${key}/authlogout.${output}`, { method, headers });
}

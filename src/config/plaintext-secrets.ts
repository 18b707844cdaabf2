// Where a config holds a client-presented secret (a client secret, a password, an API key, an admin token) as a
// literal that is not a hash: reported even when the rest of the file is broken, since it matters most.

import { isSecretHash } from '../secrets/hash.js';
import { isSha256KeyHash } from './secrets.js';

/** Literal strings at the places that hold client-presented secrets which are not hashes. */
export function plaintextSecretPaths(raw: unknown): (string | number)[][] {
  const found: (string | number)[][] = [];
  const object = (value: unknown): Record<string, unknown> | null =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  const check = (value: unknown, path: (string | number)[], isHash: (text: string) => boolean) => {
    if (typeof value === 'string' && !isHash(value)) found.push(path);
  };
  const config = object(raw);
  if (config === null) return found;
  const scrypt = (text: string) => isSecretHash(text);
  list(object(config['oauth'])?.['clients']).forEach((c, i) => check(object(c)?.['secret'], ['oauth', 'clients', i, 'secret'], scrypt));
  list(config['operators']).forEach((o, i) => check(object(o)?.['password'], ['operators', i, 'password'], scrypt));
  const pcr = object(config['pcr']);
  list(pcr?.['users']).forEach((u, i) => check(object(u)?.['password'], ['pcr', 'users', i, 'password'], scrypt));
  list(pcr?.['keys']).forEach((k, i) => check(object(k)?.['key'], ['pcr', 'keys', i, 'key'], isSha256KeyHash));
  const admin = object(config['admin']);
  check(admin?.['token'], ['admin', 'token'], scrypt);
  list(admin?.['tokens']).forEach((t, i) => check(object(t)?.['token'], ['admin', 'tokens', i, 'token'], scrypt));
  return found;
}

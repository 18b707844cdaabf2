// Authorization header parsing on /api (bearer route): repeated headers, odd whitespace and case, other schemes,
// empty and huge tokens. Only `Bearer` (any case) followed by spaces and one b64token authenticates; a header we
// cannot read is refused, never guessed at, and nothing reaches the upstream unless the token was accepted.

import { beforeAll, describe, expect, it } from 'vitest';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { exchange, http11, jsonOf, type HeaderList } from './support.js';

const t = testProxyForSuite();
let token: string;

beforeAll(async () => {
  token = await accessToken(t.url);
});

type Case = [name: string, headers: () => HeaderList, status: number, reason: string | null];

const accepted: Array<[string, () => HeaderList]> = [
  ['canonical', () => [['Authorization', `Bearer ${token}`]]],
  ['lower-case scheme', () => [['Authorization', `bearer ${token}`]]],
  ['upper-case scheme', () => [['Authorization', `BEARER ${token}`]]],
  ['mixed-case header name', () => [['aUTHORIZATION', `Bearer ${token}`]]],
  ['several spaces after the scheme', () => [['Authorization', `Bearer    ${token}`]]],
  ['whitespace around the value (not part of it)', () => [['Authorization', `  Bearer ${token} \t `]]],
];

const refused: Case[] = [
  ['no Authorization header', () => [], 401, 'credentials_missing'],
  ['the token in Proxy-Authorization', () => [['Proxy-Authorization', `Bearer ${token}`]], 401, 'credentials_missing'],
  // Repeated, in any form: one credential per request.
  ['two identical headers', () => [['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]], 400, 'authorization_repeated'],
  ['two headers differing in case', () => [['Authorization', `Bearer ${token}`], ['authorization', `Bearer ${token}`]], 400, 'authorization_repeated'],
  ['a Basic header before the Bearer one', () => [['Authorization', 'Basic dXNlcjpwYXNz'], ['Authorization', `Bearer ${token}`]], 400, 'authorization_repeated'],
  ['an empty header before the Bearer one', () => [['Authorization', ''], ['Authorization', `Bearer ${token}`]], 400, 'authorization_repeated'],
  ['fifty short headers', () => Array.from({ length: 50 }, (_v, i) => ['Authorization', `Bearer t${i}`] as const), 400, 'authorization_repeated'],
  ['two tokens joined by a comma', () => [['Authorization', `Bearer ${token}, Bearer ${token}`]], 400, 'authorization_malformed'],
  // Odd whitespace and decoration.
  ['a tab after the scheme', () => [['Authorization', `Bearer\t${token}`]], 400, 'authorization_malformed'],
  ['a tab inside the token', () => [['Authorization', `Bearer ${token.slice(0, 20)}\t${token.slice(20)}`]], 400, 'authorization_malformed'],
  ['a space inside the token', () => [['Authorization', `Bearer ${token.slice(0, 20)} ${token.slice(20)}`]], 400, 'authorization_malformed'],
  ['a quoted token', () => [['Authorization', `Bearer "${token}"`]], 400, 'authorization_malformed'],
  ['a token with parameters', () => [['Authorization', `Bearer ${token}; realm=x`]], 400, 'authorization_malformed'],
  ['the scheme alone', () => [['Authorization', 'Bearer']], 400, 'authorization_malformed'],
  ['the scheme and a space', () => [['Authorization', 'Bearer ']], 400, 'authorization_malformed'],
  ['padding only', () => [['Authorization', 'Bearer =']], 400, 'authorization_malformed'],
  // Other schemes are not ours: without another authenticator on the route that is 401.
  ['Basic', () => [['Authorization', 'Basic bXktb3BlcmF0b3I6bXktb3BlcmF0b3ItcGFzc3dvcmQ=']], 401, 'scheme_unsupported'],
  ['the token under scheme Token', () => [['Authorization', `Token ${token}`]], 401, 'scheme_unsupported'],
  ['the token under scheme JWT', () => [['Authorization', `JWT ${token}`]], 401, 'scheme_unsupported'],
  ['the token with no scheme', () => [['Authorization', token]], 401, 'scheme_unsupported'],
  ['the scheme glued to the token', () => [['Authorization', `Bearer${token}`]], 401, 'scheme_unsupported'],
  ['Bearer- prefix', () => [['Authorization', `Bearer-${token}`]], 401, 'scheme_unsupported'],
  ['Digest', () => [['Authorization', 'Digest username="my-operator", realm="x", nonce="1", uri="/api/dashboard", response="0"']], 401, 'scheme_unsupported'],
  ['an empty header', () => [['Authorization', '']], 401, 'scheme_unsupported'],
  // Readable but not a token of ours.
  ['dots only', () => [['Authorization', 'Bearer ..']], 401, 'token_malformed'],
  ['the token with padding appended', () => [['Authorization', `Bearer ${token}==`]], 401, 'token_malformed'],
  ['the token with a character changed in its signature', () => [['Authorization', `Bearer ${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`]], 401, 'token_signature_invalid'],
  ['a token over 8 KB', () => [['Authorization', `Bearer ${token}${'A'.repeat(9000)}`]], 401, 'token_malformed'],
  ['12 KB of token characters', () => [['Authorization', `Bearer ${'a'.repeat(12_000)}`]], 401, 'token_malformed'],
];

describe('Authorization parsing', () => {
  it.each(accepted)('accepts %s and forwards without the credential', async (_name, headers) => {
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', headers()));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.headers['x-portcullis-user']).toBe('my-operator');
    expect(upstream[0]!.headers.authorization).toBeUndefined();
  });

  it.each(refused)('refuses %s', async (_name, headers, status, reason) => {
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', headers()));
    expect(response.status).toBe(status);
    expect(jsonOf(response)?.['reason']).toBe(reason);
    if (status === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="portcullis"/);
    expect(upstream).toEqual([]);
  });

  it.each([
    ['a control character in the value', () => `Bearer ${token.slice(0, 10)}\x0b${token.slice(10)}`],
    ['a NUL in the value', () => `Bearer ${token}\x00`],
    ['DEL in the value', () => `Bearer \x7f${token}`],
  ])('refuses %s at the parser (400), nothing forwarded', async (_name, value) => {
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', [['Authorization', value()]]));
    expect(response.status).toBe(400);
    expect(upstream).toEqual([]);
  });

  it('a 100 KB token is refused as too large (431), never forwarded, and the proxy keeps serving', async () => {
    const huge = await exchange(t, http11('GET', '/api/dashboard', [['Authorization', `Bearer ${'A'.repeat(100 * 1024)}`]]));
    expect(huge.response.status).toBe(431);
    expect(huge.upstream).toEqual([]);
    const normal = await exchange(t, http11('GET', '/api/dashboard', [['Authorization', `Bearer ${token}`]]));
    expect(normal.response.status).toBe(200);
    expect(normal.upstream).toHaveLength(1);
  });

  it('a 100 KB token spread over many headers is refused the same way', async () => {
    const many: HeaderList = Array.from({ length: 100 }, (_v, i) => [`X-Pad-${i}`, 'A'.repeat(1024)] as const);
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', [...many, ['Authorization', `Bearer ${token}`]]));
    expect(response.status).toBe(431);
    expect(upstream).toEqual([]);
  });
});

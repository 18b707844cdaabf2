// POST /oauth/token under attack: client secrets that form-encoding mangles, credentials in two places, repeated
// parameters, scope escalation, refresh tokens replayed, raced or presented by another client, and bodies built
// to hurt the parser. Brute-force protection is off here so that deliberate failures do not turn into 429s.

import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import { withoutBruteForce } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, login, tokenRequest, type TokenAnswer } from '../helpers/oauth.js';
import { exchange, expectNoInternals, http11, jsonOf } from './support.js';

/** Secrets that a naive Basic parser or form decoder reads as something else. */
const COLON_SECRET = 'p:ss:w%rd+1';
const ESCAPE_SECRET = 'a:b%41c';

function withClients(config: Record<string, unknown>, hashes: { colon: string; escape: string }): void {
  const oauth = config['oauth'] as { clients: Array<Record<string, unknown>> };
  oauth.clients.push(
    { id: 'colon-client', secret: hashes.colon, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] },
    { id: 'escape-client', secret: hashes.escape, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] },
  );
  withoutBruteForce(config);
}

const t = testProxyForSuite(async () => {
  const hashes = { colon: await hashSecret(COLON_SECRET), escape: await hashSecret(ESCAPE_SECRET) };
  return { edit: (config: Record<string, unknown>) => withClients(config, hashes) };
});

const PASSWORD_GRANT = { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword };
const DEMO_BASIC = basicAuth('public-api', SECRETS.clientSecret);

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and Base64-encoded. */
function encodedBasic(id: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  return basicAuth(encode(id), encode(secret));
}

function expectOAuthError(answer: TokenAnswer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.body['error']).toBe(code);
  expectNoInternals(JSON.stringify(answer.body));
}

describe('client secrets holding ":" and "%"', () => {
  it.each([
    ['colon-client', COLON_SECRET],
    ['escape-client', ESCAPE_SECRET],
  ])('%s authenticates with Basic (form-encoded as RFC 6749 asks, or as sent) and in the body', async (id, secret) => {
    expect((await tokenRequest(t.url, PASSWORD_GRANT, { authorization: encodedBasic(id, secret) })).status).toBe(200);
    expect((await tokenRequest(t.url, PASSWORD_GRANT, { authorization: basicAuth(id, secret) })).status).toBe(200);
    expect((await tokenRequest(t.url, { ...PASSWORD_GRANT, client_id: id, client_secret: secret })).status).toBe(200);
  });

  it.each([
    ['the secret form-decoded once too often', basicAuth('escape-client', 'a:bAc')],
    ['the secret cut at its first colon', basicAuth('colon-client', 'p')],
    ['an encoded colon moving part of the secret into the id', basicAuth('colon-client%3Ap', 'ss:w%rd+1')],
    ['"+" read as a space', basicAuth('colon-client', 'p:ss:w%rd 1')],
    ['the secret double-encoded', encodedBasic('escape-client', encodeURIComponent(ESCAPE_SECRET))],
    ['another client\'s secret', basicAuth('colon-client', ESCAPE_SECRET)],
    ['an unknown client with a valid secret', basicAuth('nobody', COLON_SECRET)],
    ['no colon at all', `Basic ${Buffer.from('colon-client').toString('base64')}`],
    ['an empty id', basicAuth('', COLON_SECRET)],
    ['Base64 with junk', 'Basic !!!!'],
    ['a Bearer token instead of client credentials', 'Bearer abc'],
  ])('%s is 401 invalid_client', async (_name, authorization) => {
    const answer = await tokenRequest(t.url, PASSWORD_GRANT, { authorization });
    expectOAuthError(answer, 401, 'invalid_client');
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm="portcullis"/);
  });
});

describe('client credentials in two places', () => {
  it.each([
    ['Basic and client_secret in the body', { client_secret: SECRETS.clientSecret }],
    ['Basic and another client\'s client_id in the body', { client_id: 'password-only' }],
    ['Basic and another client\'s id and secret in the body', { client_id: 'password-only', client_secret: SECRETS.clientSecret }],
  ])('%s: 400 invalid_request', async (_name, extra) => {
    expectOAuthError(await tokenRequest(t.url, { ...PASSWORD_GRANT, ...extra }, { authorization: DEMO_BASIC }), 400, 'invalid_request');
  });

  it('Basic with the same client_id repeated in the body is one method, not two', async () => {
    expect((await tokenRequest(t.url, { ...PASSWORD_GRANT, client_id: 'public-api' }, { authorization: DEMO_BASIC })).status).toBe(200);
  });

  it('two Authorization headers: 400 invalid_request', async () => {
    const body = new URLSearchParams(PASSWORD_GRANT).toString();
    const { response } = await exchange(
      t,
      http11('POST', '/oauth/token', [
        ['Authorization', DEMO_BASIC],
        ['Authorization', basicAuth('password-only', SECRETS.clientSecret)],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', String(body.length)],
      ], body),
    );
    expect(response.status).toBe(400);
    expect(jsonOf(response)?.['error']).toBe('invalid_request');
  });
});

describe('repeated parameters', () => {
  it.each([
    'grant_type=password&grant_type=refresh_token',
    'grant_type=password&grant_type=password',
    'grant_type=password&password=x&password=' + encodeURIComponent(SECRETS.operatorPassword),
    'grant_type=password&username=no-api-operator&username=my-operator',
    'grant_type=password&scope=public-api&scope=admin',
    'grant_type=password&client_id=public-api&client_id=public-api',
    'grant_type=password&gr%61nt_type=password',
  ])('%s: 400 invalid_request', async (prefix) => {
    const body = `${prefix}&username=my-operator&password=${encodeURIComponent(SECRETS.operatorPassword)}`;
    expectOAuthError(await tokenRequest(t.url, body, { authorization: DEMO_BASIC }), 400, 'invalid_request');
  });

  it('a bracketed name is just another name, not an array of grant types', async () => {
    expectOAuthError(
      await tokenRequest(t.url, `grant_type[]=password&grant_type[]=refresh_token&username=my-operator&password=${encodeURIComponent(SECRETS.operatorPassword)}`, { authorization: DEMO_BASIC }),
      400,
      'invalid_request',
    );
  });
});

describe('scope escalation', () => {
  it.each(['public-api admin', 'admin', 'public-api%20admin', 'public-api\tadmin', '*'])('password grant asking for "%s": 400 invalid_scope', async (scope) => {
    expectOAuthError(await tokenRequest(t.url, { ...PASSWORD_GRANT, scope }, { authorization: DEMO_BASIC }), 400, 'invalid_scope');
  });

  it('a refresh asking for more is refused without consuming the refresh token', async () => {
    const refresh = (await login(t.url)).body['refresh_token'] as string;
    for (const scope of ['public-api admin', 'admin']) {
      expectOAuthError(await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refresh, scope }, { authorization: DEMO_BASIC }), 400, 'invalid_scope');
    }
    const rotated = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: DEMO_BASIC });
    expect(rotated.status).toBe(200);
    expect(rotated.body['scope']).toBe('public-api');
  });
});

describe('refresh tokens', () => {
  it('another client cannot redeem it, and the owner still can', async () => {
    const refresh = (await login(t.url)).body['refresh_token'] as string;
    const stolen = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: basicAuth('refresh-only', SECRETS.clientSecret) });
    expectOAuthError(stolen, 400, 'invalid_grant');
    expect((await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: DEMO_BASIC })).status).toBe(200);
  });

  it('replay after rotation revokes the whole grant: the old and new refresh tokens and the new access token', async () => {
    const first = (await login(t.url)).body;
    const rotated = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: first['refresh_token'] as string }, { authorization: DEMO_BASIC });
    expect(rotated.status).toBe(200);
    const replay = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: first['refresh_token'] as string }, { authorization: DEMO_BASIC });
    expectOAuthError(replay, 400, 'invalid_grant');
    expectOAuthError(await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: rotated.body['refresh_token'] as string }, { authorization: DEMO_BASIC }), 400, 'invalid_grant');
    t.upstream.reset();
    for (const token of [first['access_token'], rotated.body['access_token']]) {
      const response = await fetch(`${t.url}/api/dashboard`, { headers: { authorization: `Bearer ${token as string}` } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { reason: string }).reason).toBe('token_revoked');
    }
    expect(t.upstream.requests).toEqual([]);
  });

  it('concurrent refreshes of one token: exactly one wins', async () => {
    const refresh = (await login(t.url)).body['refresh_token'] as string;
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: DEMO_BASIC })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const loser of answers.filter((a) => a.status !== 200)) expectOAuthError(loser, 400, 'invalid_grant');
  });

  it.each([
    ['garbage', 'not-a-refresh-token'],
    ['an access token', 'ACCESS'],
    ['the right shape but never issued', `${'A'.repeat(22)}.${'B'.repeat(43)}`],
    ['another token\'s family with random bits', 'FAMILY'],
  ])('%s as refresh_token: 400 invalid_grant', async (_name, value) => {
    const issued = (await login(t.url)).body;
    const refreshToken = value === 'ACCESS' ? (issued['access_token'] as string) : value === 'FAMILY' ? `${(issued['refresh_token'] as string).split('.')[0]!}.${'C'.repeat(43)}` : value;
    expectOAuthError(await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: refreshToken }, { authorization: DEMO_BASIC }), 400, 'invalid_grant');
  });
});

describe('hostile bodies', () => {
  const tokenHeaders = (length: number): Array<[string, string]> => [
    ['Authorization', DEMO_BASIC],
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['Content-Length', String(length)],
  ];

  it('a 10 MB body is refused from its Content-Length (413) and the connection is closed', async () => {
    const { response } = await exchange(t, http11('POST', '/oauth/token', tokenHeaders(10 * 1024 * 1024), 'grant_type=password&'));
    expect(response.status).toBe(413);
    expect(response.headers['connection']).toBe('close');
    expect(response.closed).toBe(true);
  });

  it('a chunked body that grows past the limit is refused (413)', async () => {
    const chunk = 'a'.repeat(8192);
    const chunks = Array.from({ length: 4 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const { response } = await exchange(
      t,
      http11('POST', '/oauth/token', [['Authorization', DEMO_BASIC], ['Content-Type', 'application/x-www-form-urlencoded'], ['Transfer-Encoding', 'chunked']], `${chunks}0\r\n\r\n`),
    );
    expect(response.status).toBe(413);
  });

  it('a deeply nested name is only a long flat name: ignored, the grant still works', async () => {
    const nested = `a${'[b]'.repeat(2000)}=1`;
    const body = `${new URLSearchParams(PASSWORD_GRANT).toString()}&${nested}`;
    expect(body.length).toBeLessThan(16_384);
    const answer = await tokenRequest(t.url, body, { authorization: DEMO_BASIC });
    expect(answer.status).toBe(200);
  });

  it('100k fields within the default limit cannot be sent: 413', async () => {
    const body = 'a=1&'.repeat(100_000);
    const { response } = await exchange(t, http11('POST', '/oauth/token', tokenHeaders(body.length), body));
    expect(response.status).toBe(413);
  });

  it.each([
    ['a broken escape', 'grant_type=password&username=%zz'],
    ['invalid UTF-8', 'grant_type=password&username=%FF%FE'],
    ['a NUL-split name', 'grant_type%00x=password'],
    ['only separators', '&&&&==&&'],
    ['JSON', '{"grant_type":"password","username":"my-operator"}'],
  ])('%s: 400, nothing internal in the answer', async (_name, body) => {
    const answer = await tokenRequest(t.url, body, { authorization: DEMO_BASIC });
    expect(answer.status).toBe(400);
    expectNoInternals(JSON.stringify(answer.body));
  });

  it('a JSON body is refused by its content type, without a parser message', async () => {
    const answer = await tokenRequest(t.url, '{"grant_type":', { authorization: DEMO_BASIC, 'content-type': 'application/json' });
    expectOAuthError(answer, 400, 'invalid_request');
  });

  it('GET is 405 with Allow: POST', async () => {
    const response = await fetch(`${t.url}/oauth/token?grant_type=password`, { headers: { authorization: DEMO_BASIC } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('100k fields with the body limit raised to its maximum', () => {
  const big = testProxyForSuite(() => ({
    upstream: t.upstream,
    edit(config) {
      config['listen'] = { ...(config['listen'] as object), maxOwnBodyBytes: 1_048_576 };
    },
  }));

  it.each([
    ['distinct names', Array.from({ length: 100_000 }, (_v, i) => `f${i}=1`).join('&')],
    ['one name repeated', 'a=1&'.repeat(100_000)],
    ['empty fields', '&'.repeat(100_000)],
  ])('%s: refused quickly with 400, and the endpoint keeps working', async (_name, body) => {
    const started = performance.now();
    const answer = await tokenRequest(big.url, body, { authorization: DEMO_BASIC });
    expectOAuthError(answer, 400, 'invalid_request');
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await login(big.url)).status).toBe(200);
  });
});

// PCR-360 header login, token authentication with PCR-AUTH-TOKEN, and logout, through the real proxy: what each
// endpoint answers, what the upstream sees, and that session tokens and OAuth tokens never stand in for each other.

import { afterEach, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { decodePart } from '../helpers/jwt.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { login } from '../helpers/oauth.js';
import { pcrLoginHeaders, pcrLoginRequest, pcrLogout } from '../helpers/pcr.js';
import { rawRequest } from '../helpers/raw-http.js';

const RW: string = SECRETS.rwKey;
const SHORT: string = PCR_ENV.PCR_SHORT_KEY;
const PASSWORD = SECRETS.apiUserPassword;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function pcrError(reply: Reply): { status: string; code: number; error: string } {
  return JSON.parse(reply.text) as { status: string; code: number; error: string };
}

function expectDenied(reply: Reply, status: number, reason: string): void {
  expect(reply.status).toBe(status);
  expect(pcrError(reply)).toMatchObject({ status: 'error', code: status, error: reason });
}

const t = testProxyForSuite(withPcr());
/** Every credential this file used: none may appear in anything the upstream receives. */
const secrets: string[] = [RW, SHORT, PASSWORD, 'wrong-password'];

async function pcrLogin(key = RW, user = 'api-user', output = 'json'): Promise<{ reply: Reply; token: string }> {
  const reply = await pcrLoginRequest(t.url, key, user, { output });
  expect(reply.status).toBe(200);
  const token = output === 'json' ? (JSON.parse(reply.text) as { token: string }).token : (/<token>([^<]+)<\/token>|s:5:"token";s:\d+:"([^"]+)"/.exec(reply.text)?.slice(1).find(Boolean) ?? '');
  expect(token).toMatch(JWT);
  secrets.push(token);
  return { reply, token };
}

function call(key: string, tail: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return send(`${t.url}/api/${key}/${tail}`, { method, headers });
}

function expectNothingLeaked(requests: readonly RecordedRequest[]): void {
  for (const request of requests) {
    const texts = [request.url, request.rawHeaders.join('\n'), request.body.toString('latin1')];
    for (const secret of secrets) for (const text of texts) expect(text.includes(secret), `a credential reached the upstream in ${request.url}`).toBe(false);
  }
}

resetBeforeEachTest(t);

afterEach(() => {
  expectNothingLeaked(t.upstream.requests);
});

describe('header login', () => {
  it('POST authlogin.json with the two headers returns a session token (a JWT) and the session limits', async () => {
    const { reply, token } = await pcrLogin();
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(reply.text)).toEqual({ status: 'success', token, expiresAt: '2026-01-15T13:00:00.000Z', inactivityTimeoutSeconds: 600 });
    expect(decodePart(token, 0)).toMatchObject({ typ: 'pcr-session+jwt', alg: 'RS256', kid: 'test-key-1' });
    expect(decodePart(token, 1)).toMatchObject({ sub: 'api-user', key: 'demo-rw', iat: Date.UTC(2026, 0, 15, 12) / 1000, exp: Date.UTC(2026, 0, 15, 13) / 1000 });
    // The token names the key by its id, never by the key itself.
    expect(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).not.toContain(RW);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('answers in XML and PHP serialize() when asked, and those tokens work', async () => {
    const xml = await pcrLogin(RW, 'api-user', 'xml');
    expect(xml.reply.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(xml.reply.text).toContain('<status>success</status>');
    expect(xml.reply.text).toContain(`<token>${xml.token}</token>`);

    const php = await pcrLogin(RW, 'api-user', 'php');
    expect(php.reply.text.startsWith('a:4:{s:6:"status";s:7:"success";')).toBe(true);
    expect(php.reply.text).toContain(`s:5:"token";s:${php.token.length}:"${php.token}";`);

    for (const token of [xml.token, php.token]) expect((await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': token })).status).toBe(200);
    expect(t.upstream.requests).toHaveLength(2);
  });

  it("a key's own session limits replace the global ones", async () => {
    const { reply } = await pcrLogin(SHORT);
    expect(JSON.parse(reply.text)).toMatchObject({ expiresAt: '2026-01-15T12:02:00.000Z', inactivityTimeoutSeconds: 30 });
  });

  it('only POST logs in; other methods get 405 with Allow: POST', async () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const reply = await send(`${t.url}/api/${RW}/authlogin.json`, { method, headers: pcrLoginHeaders('api-user', PASSWORD) });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.get('allow')).toBe('POST');
      if (method !== 'HEAD') expect(pcrError(reply).error).toBe('login_method_not_allowed');
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('missing, empty or repeated credential headers are a 400', async () => {
    const variants: Record<string, string>[] = [
      {},
      { 'PCR-AUTH-USERNAME': 'api-user' },
      { 'PCR-AUTH-PASSWORD': PASSWORD },
      { 'PCR-AUTH-USERNAME': 'api-user', 'PCR-AUTH-PASSWORD': '' },
      { 'PCR-AUTH-USERNAME': '', 'PCR-AUTH-PASSWORD': PASSWORD },
    ];
    for (const headers of variants) expectDenied(await send(`${t.url}/api/${RW}/authlogin.json`, { method: 'POST', headers }), 400, 'login_headers_missing');

    const repeated = await rawRequest(
      t.port,
      `POST /api/${RW}/authlogin.json HTTP/1.1\r\nHost: portal.example\r\nPCR-AUTH-USERNAME: api-user\r\nPCR-AUTH-USERNAME: expiring-user\r\nPCR-AUTH-PASSWORD: ${PASSWORD}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(repeated.status).toBe(400);
    expect(JSON.parse(repeated.body)).toMatchObject({ error: 'login_headers_missing' });
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a wrong password, an unknown user and a user of another key get identical 401 answers', async () => {
    const attempts = [
      send(`${t.url}/api/${RW}/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('api-user', 'wrong-password') }),
      send(`${t.url}/api/${RW}/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('nobody-here', PASSWORD) }),
      // expiring-user is an API user of demo-rw only.
      send(`${t.url}/api/${SHORT}/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('expiring-user', PASSWORD) }),
    ];
    const replies = await Promise.all(attempts);
    for (const reply of replies) expectDenied(reply, 401, 'login_failed');
    const shapes = replies.map((r) => ({ status: r.status, body: r.text, challenge: r.headers.get('www-authenticate'), type: r.headers.get('content-type'), length: r.headers.get('content-length') }));
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('login with an expired or unknown key is refused even with good credentials', async () => {
    expectDenied(await send(`${t.url}/api/${PCR_ENV.PCR_EXPIRED_KEY}/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('api-user', PASSWORD) }), 401, 'api_key_expired');
    expectDenied(await send(`${t.url}/api/no-such-key-0123456789/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('api-user', PASSWORD) }), 401, 'api_key_invalid');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a body sent with the login is ignored and never forwarded', async () => {
    const reply = await send(`${t.url}/api/${RW}/authlogin.json`, {
      method: 'POST',
      headers: { ...pcrLoginHeaders('api-user', PASSWORD), 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=api-user&password=${PASSWORD}`,
    });
    expect(reply.status).toBe(200);
    secrets.push((JSON.parse(reply.text) as { token: string }).token);
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('token authentication', () => {
  it('a key with token auth needs PCR-AUTH-TOKEN on every request', async () => {
    expectDenied(await call(RW, 'servicedesk.json'), 401, 'session_token_missing');
    expectDenied(await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': '' }), 401, 'session_token_missing');
    const xml = await call(RW, 'equipment.xml');
    expect(xml.status).toBe(401);
    expect(xml.text).toContain('<error>session_token_missing</error>');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('garbage, truncated and re-signed tokens are refused', async () => {
    const { token } = await pcrLogin();
    const [head, payload, signature] = token.split('.') as [string, string, string];
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'pcr-session+jwt', kid: 'test-key-1' })).toString('base64url')}.${payload}.`;
    for (const bad of ['not-a-token', 'a.b.c', `${head}.${payload}`, `${head}.${payload}.${flipped}`, none, token + 'x']) {
      expectDenied(await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': bad }), 401, 'session_token_invalid');
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a token is bound to its key: a short-key token on demo-rw and the reverse are refused', async () => {
    const shortToken = (await pcrLogin(SHORT)).token;
    const rwToken = (await pcrLogin(RW)).token;
    expectDenied(await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': shortToken }), 401, 'session_key_mismatch');
    expectDenied(await call(SHORT, 'servicedesk.json', { 'PCR-AUTH-TOKEN': rwToken }), 401, 'session_key_mismatch');
    // A token on a key without token auth is ignored, never a way to borrow the session's permissions.
    const ro = await call(SECRETS.roKey, 'equipment.json', { 'PCR-AUTH-TOKEN': rwToken });
    expectDenied(ro, 403, 'key_lacks_read');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a token is bound to its user: the upstream hears the user who logged in, and the user claim cannot be swapped', async () => {
    const apiUser = (await pcrLogin(RW, 'api-user')).token;
    const expiring = (await pcrLogin(RW, 'expiring-user')).token;
    await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': apiUser, 'X-Portcullis-User': 'expiring-user' });
    await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': expiring, 'X-Portcullis-User': 'api-user' });
    expect(t.upstream.requests.map((r) => [r.headers['x-portcullis-auth'], r.headers['x-portcullis-user']])).toEqual([
      ['api-session', 'api-user'],
      ['api-session', 'expiring-user'],
    ]);

    const [head, payload, signature] = apiUser.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const swapped = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: 'expiring-user' })).toString('base64url')}.${signature}`;
    expectDenied(await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': swapped }), 401, 'session_token_invalid');
    expect(t.upstream.requests).toHaveLength(2);
  });

  it('two PCR-AUTH-TOKEN headers are refused, even when both are good', async () => {
    const { token } = await pcrLogin();
    const reply = await rawRequest(
      t.port,
      `GET /api/${RW}/servicedesk.json HTTP/1.1\r\nHost: portal.example\r\nPCR-AUTH-TOKEN: ${token}\r\nPCR-AUTH-TOKEN: ${token}\r\nConnection: close\r\n\r\n`,
    );
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.body)).toMatchObject({ error: 'session_token_invalid' });
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('an OAuth access token is not a session token, and a session token is not a bearer token', async () => {
    const oauth = await login(t.url);
    expect(oauth.status).toBe(200);
    const accessToken = oauth.body['access_token'] as string;
    secrets.push(accessToken);
    const { token } = await pcrLogin();

    expectDenied(await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': accessToken }), 401, 'session_token_invalid');

    for (const path of [`/api/${RW}/servicedesk.json`, '/api/dashboard']) {
      const reply = await send(t.url + path, { headers: { authorization: `Bearer ${token}` } });
      expect(reply.status, path).toBe(401);
      expect(JSON.parse(reply.text)).toMatchObject({ error: 'invalid_token' });
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
    // Sent both ways at once, the bearer header decides and the session token does not rescue it.
    const both = await send(`${t.url}/api/${RW}/servicedesk.json`, { headers: { authorization: `Bearer ${token}`, 'PCR-AUTH-TOKEN': token } });
    expect(both.status).toBe(401);
    expect(t.upstream.requests).toHaveLength(0);

    // The same credentials used the right way round work, so the refusals above are about the kind of token.
    expect((await send(`${t.url}/api/dashboard`, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200);
    expect((await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': token })).status).toBe(200);
  });

  it('a good token forwards with the session identity and without the token', async () => {
    const { token } = await pcrLogin();
    const reply = await call(RW, 'servicedesk.SO.json?id=5', { 'PCR-AUTH-TOKEN': token });
    expect(reply.status).toBe(200);
    const seen = t.upstream.requests[0]!;
    expect(seen.url).toBe('/api/servicedesk.SO.json?id=5');
    expect(seen.headers['pcr-auth-token']).toBeUndefined();
    expect(seen.headers).toMatchObject({
      'x-portcullis-auth': 'api-session',
      'x-portcullis-user': 'api-user',
      'x-portcullis-api-key-id': 'demo-rw',
      'x-portcullis-section': 'servicedesk',
      'x-portcullis-access': 'read',
    });
  });
});

describe('logout', () => {
  const logout = (key: string, headers: Record<string, string>, output = 'json', method = 'POST') => pcrLogout(t.url, key, headers, output, method);

  it('ends the session: the token is refused from then on, and a second logout is refused too', async () => {
    const { token } = await pcrLogin();
    expect((await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': token })).status).toBe(200);

    const out = await logout(RW, { 'PCR-AUTH-TOKEN': token });
    expect(out.status).toBe(200);
    expect(JSON.parse(out.text)).toMatchObject({ status: 'success' });

    expectDenied(await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': token }), 401, 'session_ended');
    expectDenied(await call(RW, 'equipment.json', { 'PCR-AUTH-TOKEN': token }, 'POST'), 401, 'session_ended');
    expectDenied(await logout(RW, { 'PCR-AUTH-TOKEN': token }), 401, 'session_ended');
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('ends only its own session', async () => {
    const first = (await pcrLogin()).token;
    const second = (await pcrLogin()).token;
    expect((await logout(RW, { 'PCR-AUTH-TOKEN': first })).status).toBe(200);
    expect((await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': second })).status).toBe(200);
    expect((await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': first })).status).toBe(401);
  });

  it('answers in the requested format and is never forwarded', async () => {
    const { token } = await pcrLogin(SHORT);
    const out = await logout(SHORT, { 'PCR-AUTH-TOKEN': token }, 'xml');
    expect(out.status).toBe(200);
    expect(out.text).toContain('<status>success</status>');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('refuses other methods, missing or bad tokens, tokens of another key and unknown keys', async () => {
    const { token } = await pcrLogin();
    const get = await logout(RW, { 'PCR-AUTH-TOKEN': token }, 'json', 'GET');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expectDenied(await logout(RW, {}), 401, 'session_token_missing');
    expectDenied(await logout(RW, { 'PCR-AUTH-TOKEN': 'garbage' }), 401, 'session_token_invalid');
    expectDenied(await logout(SHORT, { 'PCR-AUTH-TOKEN': token }), 401, 'session_key_mismatch');
    expectDenied(await logout('no-such-key-0123456789', { 'PCR-AUTH-TOKEN': token }), 401, 'api_key_invalid');
    // None of the refused logouts ended the session.
    expect((await call(RW, 'servicedesk.json', { 'PCR-AUTH-TOKEN': token })).status).toBe(200);
  });
});

// The OAuth token endpoint end to end: the vendor FAQ's two curl flows, client authentication, the password and
// refresh_token grants with every refusal, malformed requests, and the shape of the tokens and the JWKS.

import { describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, withoutBruteForce } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, login, tokenRequest, type TokenAnswer } from '../helpers/oauth.js';
import { rawRequest } from '../helpers/raw-http.js';
import { expectErrorBody, expectNoInternals } from './error-answers.js';

/** The vendor FAQ's example header, verbatim: client "publbe-api", a secret with ':' and a control character. */
const SEED_AUTHORIZATION = 'Basic cHVibGJlLWFwaTo3RHU6SVo5cUJHFTUwRw==';
const SEED_REFRESH_TOKEN = '16567a5c-702c-41c0-9602-3f8e6136ba7';

/** A secret holding both characters RFC 6749 §2.3.1 makes clients percent-encode in Basic credentials. */
const ODD_SECRET = 'p:ss%word+1';
const ODD_SECRET_ENCODED = 'p%3Ass%25word%2B1';

const PUBLIC_API = { id: 'public-api', secret: SECRETS.clientSecret };
const PUBLIC_AUTH = basicAuth('public-api', SECRETS.clientSecret);

const t = testProxyForSuite(async () => {
  const oddSecretHash = await hashSecret(ODD_SECRET);
  return {
    edit(config: Record<string, unknown>) {
      withoutBruteForce(config);
      const oauth = config['oauth'] as { clients: Record<string, unknown>[] };
      oauth.clients.push(
        { id: 'odd-secret', secret: oddSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password', 'refresh_token'] },
        { id: 'svc:tool', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['password'] },
      );
    },
  };
});

resetBeforeEachTest(t, { clock: true });

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function password(overrides: Record<string, string> = {}): Record<string, string> {
  return { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword, ...overrides };
}

async function issued(answer: Promise<TokenAnswer>): Promise<{ access: string; refresh: string }> {
  const reply = await answer;
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return { access: reply.body['access_token'] as string, refresh: reply.body['refresh_token'] as string };
}

function refresh(token: string, authorization = PUBLIC_AUTH, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  return tokenRequest(t.url, { grant_type: 'refresh_token', scope: 'public-api', refresh_token: token, ...extra }, { authorization });
}

function expectOAuthError(reply: TokenAnswer, status: number, code: string): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expectErrorBody(reply.body, code);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.headers.get('cache-control')).toBe('no-store');
}

function useOnApi(access: string): Promise<Reply> {
  return bearerGet(t.url, access, '/api/dashboard');
}


describe('the vendor FAQ curl flows', () => {
  it('password grant with the header set of the FAQ answers an RFC 6749 §5.1 token response', async () => {
    const reply = await tokenRequest(t.url, form(password()), { authorization: basicAuth('public-api', SECRETS.clientSecret), 'cache-control': 'no-cache' });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.get('pragma')).toBe('no-cache');
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(reply.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(reply.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'public-api' });
    expect(reply.body['access_token']).toBeTypeOf('string');
    expect(reply.body['refresh_token']).toBeTypeOf('string');
  });

  it('refresh grant with the FAQ body returns a new pair that works', async () => {
    const first = await issued(login(t.url));
    const reply = await tokenRequest(t.url, `grant_type=refresh_token&scope=public-api&refresh_token=${first.refresh}`, {
      authorization: PUBLIC_AUTH,
      'cache-control': 'no-cache',
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'public-api' });
    expect(reply.body['access_token']).not.toBe(first.access);
    expect(reply.body['refresh_token']).not.toBe(first.refresh);
    expect((await useOnApi(reply.body['access_token'] as string)).status).toBe(200);
  });

  it('accepts the literal Authorization header of the FAQ, for both grants', async () => {
    const first = await tokenRequest(t.url, 'grant_type=password&scope=public-api&username=my-operator&password=my-operator-password', {
      authorization: SEED_AUTHORIZATION,
      'cache-control': 'no-cache',
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(decodeJwt(first.body['access_token'] as string)['client_id']).toBe('publbe-api');
    const second = await tokenRequest(t.url, `grant_type=refresh_token&scope=public-api&refresh_token=${first.body['refresh_token'] as string}`, {
      authorization: SEED_AUTHORIZATION,
      'cache-control': 'no-cache',
    });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(decodeJwt(second.body['access_token'] as string)['client_id']).toBe('publbe-api');
  });

  it("answers the FAQ's sample refresh token, which we never issued, with invalid_grant", async () => {
    const reply = await tokenRequest(t.url, `grant_type=refresh_token&scope=public-api&refresh_token=${SEED_REFRESH_TOKEN}`, {
      authorization: SEED_AUTHORIZATION,
      'cache-control': 'no-cache',
    });
    expectOAuthError(reply, 400, 'invalid_grant');
  });
});

describe('client authentication', () => {
  it('decodes form-encoded Basic credentials (RFC 6749 §2.3.1) and also takes the secret as sent raw', async () => {
    await issued(tokenRequest(t.url, password(), { authorization: basicAuth('odd-secret', ODD_SECRET_ENCODED) }));
    await issued(tokenRequest(t.url, password(), { authorization: basicAuth('odd-secret', ODD_SECRET) }));
  });

  it('decodes a form-encoded client id holding ":"', async () => {
    const token = await issued(tokenRequest(t.url, password(), { authorization: basicAuth('svc%3Atool', SECRETS.clientSecret) }));
    expect(decodeJwt(token.access)['client_id']).toBe('svc:tool');
  });

  it('takes client_id and client_secret from the body', async () => {
    const token = await issued(tokenRequest(t.url, password({ client_id: 'odd-secret', client_secret: ODD_SECRET })));
    expect(decodeJwt(token.access)['client_id']).toBe('odd-secret');
  });

  it('refuses credentials in the header and the body at once with invalid_request', async () => {
    const reply = await tokenRequest(t.url, password({ client_id: 'public-api', client_secret: SECRETS.clientSecret }), { authorization: PUBLIC_AUTH });
    expectOAuthError(reply, 400, 'invalid_request');
    const secretOnly = await tokenRequest(t.url, password({ client_secret: SECRETS.clientSecret }), { authorization: PUBLIC_AUTH });
    expectOAuthError(secretOnly, 400, 'invalid_request');
  });

  it('tolerates Basic with the same client_id repeated in the body, but not a different one', async () => {
    await issued(tokenRequest(t.url, password({ client_id: 'public-api' }), { authorization: PUBLIC_AUTH }));
    const other = await tokenRequest(t.url, password({ client_id: 'publbe-api' }), { authorization: PUBLIC_AUTH });
    expectOAuthError(other, 400, 'invalid_request');
  });

  it('answers a request without client credentials with 401 invalid_client and a Basic challenge', async () => {
    for (const body of [password(), password({ client_id: 'public-api' })]) {
      const reply = await tokenRequest(t.url, body);
      expectOAuthError(reply, 401, 'invalid_client');
      expect(reply.headers.get('www-authenticate')).toMatch(/^Basic realm="portcullis"/);
    }
  });

  it('answers a wrong secret and an unknown client alike: 401 invalid_client with a challenge', async () => {
    const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
      ['wrong secret in Basic', password(), { authorization: basicAuth('public-api', 'wrong-secret') }],
      ['unknown client in Basic', password(), { authorization: basicAuth('no-such-client', SECRETS.clientSecret) }],
      ['wrong secret in the body', password({ client_id: 'public-api', client_secret: 'wrong-secret' }), {}],
      ['unknown client in the body', password({ client_id: 'no-such-client', client_secret: SECRETS.clientSecret }), {}],
      ['Basic without a colon', password(), { authorization: `Basic ${Buffer.from('public-api').toString('base64')}` }],
      ['Basic that is not base64', password(), { authorization: 'Basic !!!' }],
    ];
    const bodies = new Set<string>();
    for (const [what, body, headers] of attempts) {
      const reply = await tokenRequest(t.url, body, headers);
      expect(reply.status, what).toBe(401);
      expectErrorBody(reply.body, 'invalid_client');
      expect(reply.headers.get('www-authenticate'), what).toMatch(/^Basic /);
      bodies.add(JSON.stringify(reply.body));
    }
    expect(bodies.size, 'the answers tell which clients exist').toBe(1);
  });

  it('refuses another scheme (Bearer) on the token endpoint with 401 invalid_client', async () => {
    const { access } = await issued(login(t.url));
    const reply = await tokenRequest(t.url, password(), { authorization: `Bearer ${access}` });
    expectOAuthError(reply, 401, 'invalid_client');
    expect(reply.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('refuses two Authorization headers with 400 invalid_request', async () => {
    const body = form(password());
    const reply = await rawRequest(
      t.port,
      `POST /oauth/token HTTP/1.1\r\nHost: portal\r\nAuthorization: ${PUBLIC_AUTH}\r\nAuthorization: ${SEED_AUTHORIZATION}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(reply.status).toBe(400);
    expectErrorBody(JSON.parse(reply.body), 'invalid_request');
    expect(reply.body).not.toContain('access_token');
  });
});

describe('password grant', () => {
  it('grants public-api when the scope is left out, and the client lifetime decides expires_in', async () => {
    const { scope: _omit, ...withoutScope } = password();
    const reply = await tokenRequest(t.url, withoutScope, { authorization: PUBLIC_AUTH });
    expect(reply.status).toBe(200);
    expect(reply.body['scope']).toBe('public-api');
    const short = await tokenRequest(t.url, password(), { authorization: basicAuth('password-only', SECRETS.clientSecret) });
    expect(short.status).toBe(200);
    expect(short.body['expires_in']).toBe(1800);
    // A client without the refresh_token grant gets no refresh token it could not use.
    expect(short.body['refresh_token']).toBeUndefined();
  });

  it('refuses a client without the password grant with unauthorized_client', async () => {
    const reply = await tokenRequest(t.url, password(), { authorization: basicAuth('refresh-only', SECRETS.clientSecret) });
    expectOAuthError(reply, 400, 'unauthorized_client');
  });

  it('refuses an operator without API access with invalid_grant', async () => {
    const reply = await tokenRequest(t.url, password({ username: 'no-api-operator' }), { authorization: PUBLIC_AUTH });
    expectOAuthError(reply, 400, 'invalid_grant');
  });

  it('answers a wrong password and an unknown login with the same body, so logins cannot be enumerated', async () => {
    const wrong = await tokenRequest(t.url, password({ password: 'not-the-password' }), { authorization: PUBLIC_AUTH });
    const unknown = await tokenRequest(t.url, password({ username: 'nobody-here' }), { authorization: PUBLIC_AUTH });
    expectOAuthError(wrong, 400, 'invalid_grant');
    expectOAuthError(unknown, 400, 'invalid_grant');
    expect(unknown.body).toEqual(wrong.body);
  });

  it('refuses any scope other than public-api with invalid_scope', async () => {
    for (const scope of ['public-api admin', 'other', 'PUBLIC-API', ' ']) {
      const reply = await tokenRequest(t.url, password({ scope }), { authorization: PUBLIC_AUTH });
      expect(reply.status, scope).toBe(400);
      expectErrorBody(reply.body, 'invalid_scope');
    }
  });

  it('refuses a request without username or password with invalid_request', async () => {
    for (const missing of ['username', 'password']) {
      const params = password();
      delete params[missing];
      const reply = await tokenRequest(t.url, params, { authorization: PUBLIC_AUTH });
      expect(reply.status, missing).toBe(400);
      expectErrorBody(reply.body, 'invalid_request');
      // An empty value counts as absent (RFC 6749 §3.1).
      const empty = await tokenRequest(t.url, password({ [missing]: '' }), { authorization: PUBLIC_AUTH });
      expect(empty.status, `empty ${missing}`).toBe(400);
      expectErrorBody(empty.body, 'invalid_request');
    }
  });
});

describe('refresh_token grant', () => {
  it('refuses a client without the refresh_token grant with unauthorized_client', async () => {
    const { refresh: token } = await issued(login(t.url));
    const reply = await refresh(token, basicAuth('password-only', SECRETS.clientSecret));
    expectOAuthError(reply, 400, 'unauthorized_client');
    expect((await refresh(token)).status, 'the refusal must not consume the token').toBe(200);
  });

  it('binds a refresh token to its client: another client is refused and the token stays usable', async () => {
    const { refresh: token } = await issued(login(t.url));
    const stolen = await refresh(token, SEED_AUTHORIZATION);
    expectOAuthError(stolen, 400, 'invalid_grant');
    const own = await refresh(token);
    expect(own.status, JSON.stringify(own.body)).toBe(200);
  });

  it('refuses a missing refresh_token parameter with invalid_request', async () => {
    const reply = await tokenRequest(t.url, { grant_type: 'refresh_token', scope: 'public-api' }, { authorization: PUBLIC_AUTH });
    expectOAuthError(reply, 400, 'invalid_request');
  });

  it('works until the end of the client refresh lifetime (8h) and not at its end', async () => {
    const a = await issued(login(t.url));
    const b = await issued(login(t.url));
    t.clock.advance(8 * 3600_000 - 1000);
    expect((await refresh(a.refresh)).status).toBe(200);
    t.clock.advance(1000);
    expectOAuthError(await refresh(b.refresh), 400, 'invalid_grant');
  });

  it('rotates the refresh token on every use', async () => {
    let current = (await issued(login(t.url))).refresh;
    const seen = new Set([current]);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(60_000);
      const next = await issued(refresh(current));
      expect(seen.has(next.refresh)).toBe(false);
      seen.add(next.refresh);
      expect((await useOnApi(next.access)).status).toBe(200);
      current = next.refresh;
    }
  });

  it('treats reuse of a rotated token as theft: invalid_grant and the whole family is revoked', async () => {
    const first = await issued(login(t.url));
    const second = await issued(refresh(first.refresh));
    const third = await issued(refresh(second.refresh));
    expect((await useOnApi(third.access)).status).toBe(200);

    expectOAuthError(await refresh(first.refresh), 400, 'invalid_grant');

    expectOAuthError(await refresh(third.refresh), 400, 'invalid_grant');
    for (const access of [first.access, second.access, third.access]) {
      const reply = await useOnApi(access);
      expect(reply.status).toBe(401);
      expect(reply.json).toMatchObject({ error: 'invalid_token', reason: 'token_revoked' });
      expect(reply.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
    // A family that was not reused is untouched.
    const other = await issued(login(t.url));
    expect((await useOnApi(other.access)).status).toBe(200);
    expect(t.upstream.requests.map((r) => r.headers['authorization'])).toEqual([undefined, undefined]);
  });

  it('refuses a wider scope than the grant with invalid_scope', async () => {
    const { refresh: token } = await issued(login(t.url));
    for (const scope of ['public-api admin', 'admin']) {
      const reply = await refresh(token, PUBLIC_AUTH, { scope });
      expect(reply.status, scope).toBe(400);
      expectErrorBody(reply.body, 'invalid_scope');
    }
    expect((await refresh(token)).status, 'a refused scope must not consume the token').toBe(200);
  });

  it('redeems one refresh token exactly once under 20 concurrent refreshes', async () => {
    const { refresh: token } = await issued(login(t.url));
    const replies = await Promise.all(Array.from({ length: 20 }, () => refresh(token)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    for (const reply of replies) if (reply.status === 400) expectErrorBody(reply.body, 'invalid_grant');
  });
});

describe('malformed token requests', () => {
  const auth = { authorization: PUBLIC_AUTH };

  it('refuses repeated parameters (RFC 6749 §3.2) with invalid_request', async () => {
    for (const body of ['grant_type=password&grant_type=password&username=my-operator&password=x', `${form(password())}&scope=public-api`]) {
      const reply = await tokenRequest(t.url, body, auth);
      expectOAuthError(reply, 400, 'invalid_request');
    }
  });

  it('refuses a missing grant_type with invalid_request', async () => {
    const { grant_type: _omit, ...rest } = password();
    expectOAuthError(await tokenRequest(t.url, rest, auth), 400, 'invalid_request');
  });

  it('answers grant types it does not support with unsupported_grant_type', async () => {
    // client_credentials is supported, but the demo client's grant is not switched on: that is unauthorized_client.
    for (const grant of ['authorization_code', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'PASSWORD']) {
      const reply = await tokenRequest(t.url, password({ grant_type: grant }), auth);
      expect(reply.status, grant).toBe(400);
      expectErrorBody(reply.body, 'unsupported_grant_type');
    }
  });

  it('refuses a body that is not form-encoded with invalid_request', async () => {
    for (const contentType of ['application/json', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await send(`${t.url}/oauth/token`, { method: 'POST', headers: { ...auth, 'content-type': contentType }, body: JSON.stringify(password()) });
      expect(res.status, contentType).toBe(400);
      expectErrorBody(res.json, 'invalid_request');
    }
    const none = await send(`${t.url}/oauth/token`, { method: 'POST', headers: auth, body: Buffer.from(form(password())) });
    expect(none.status).toBe(400);
    expectErrorBody(none.json, 'invalid_request');
  });

  it('answers a body over 16 KiB with 413 and an OAuth error body', async () => {
    const body = `${form(password())}&pad=${'a'.repeat(17 * 1024)}`;
    const reply = await tokenRequest(t.url, body, auth);
    expect(reply.status).toBe(413);
    expectErrorBody(reply.body, 'invalid_request');
  });

  it('cuts a body of 100k fields at the size limit, and refuses many small fields too', async () => {
    const huge = Array.from({ length: 100_000 }, (_, i) => `f${i}=1`).join('&');
    const reply = await tokenRequest(t.url, huge, auth);
    expect(reply.status).toBe(413);
    expectErrorBody(reply.body, 'invalid_request');
    const many = `${form(password())}&${Array.from({ length: 100 }, (_, i) => `f${i}=1`).join('&')}`;
    expectOAuthError(await tokenRequest(t.url, many, auth), 400, 'invalid_request');
  });

  it('refuses an empty body with invalid_request', async () => {
    expectOAuthError(await tokenRequest(t.url, '', auth), 400, 'invalid_request');
  });

  it('refuses broken percent-encoding and bytes that are not UTF-8 with invalid_request', async () => {
    for (const body of [`${form(password())}&x=%zz`, 'grant_type=password&username=my-operator&password=%E0%A4%A', 'grant_type=password&username=%FF&password=x']) {
      expectOAuthError(await tokenRequest(t.url, body, auth), 400, 'invalid_request');
    }
    const bytes = Buffer.concat([Buffer.from('grant_type=password&username=my-'), Buffer.from([0xff, 0xfe]), Buffer.from('&password=x')]);
    const res = await send(`${t.url}/oauth/token`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: bytes });
    expect(res.status).toBe(400);
    expectErrorBody(res.json, 'invalid_request');
  });

  it('answers other methods with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await send(`${t.url}/oauth/token`, { method, headers: auth });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expectErrorBody(res.json, 'invalid_request');
    }
  });

  it('never answers 500 or shows internals, whatever the body', async () => {
    const bodies = [
      'grant_type',
      '=',
      '&&&&',
      'grant_type=password&username=my-operator&password=' + 'x'.repeat(5000),
      'grant_type=refresh_token&refresh_token=' + 'A'.repeat(22) + '.' + 'B'.repeat(43),
      'grant_type=refresh_token&refresh_token=%00%00',
      'grant_type=password&username=__proto__&password=x',
      'grant_type=password&constructor=1&__proto__=1&username=my-operator&password=x',
      'grant_type=password&scope=public-api%20public-api&username=my-operator&password=' + SECRETS.operatorPassword,
    ];
    for (const body of bodies) {
      const reply = await tokenRequest(t.url, body, auth);
      expect(reply.status, body.slice(0, 60)).toBeLessThan(500);
      // Only error answers are searched: random token text in a success can spell anything.
      if (reply.status !== 200) {
        expectNoInternals(JSON.stringify(reply.body));
        expect(Object.keys(reply.body).sort(), body.slice(0, 60)).toEqual(['error', 'error_description']);
      }
    }
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('issued tokens', () => {
  it('issues an RFC 9068 JWT access token signed RS256 with our kid and the expected claims', async () => {
    const { access } = await issued(login(t.url));
    expect(decodeProtectedHeader(access)).toEqual({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' });
    const claims = decodeJwt(access);
    const now = Math.floor(FROZEN_EPOCH / 1000);
    expect(claims).toMatchObject({ sub: 'my-operator', client_id: 'public-api', scope: 'public-api', iss: 'portcullis', aud: 'itsm-api', iat: now, exp: now + 3600 });
    expect(claims.jti).toBeTypeOf('string');
    const again = await issued(login(t.url));
    expect(decodeJwt(again.access).jti).not.toBe(claims.jti);
  });

  it('publishes the public key at /.well-known/jwks.json and the token verifies with it', async () => {
    const { access } = await issued(login(t.url));
    const res = await send(`${t.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = res.json as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0] as Record<string, unknown>;
    expect(key).toMatchObject({ kty: 'RSA', kid: 'test-key-1', alg: 'RS256', use: 'sig' });
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) expect(key, member).not.toHaveProperty(member);
    const { payload, protectedHeader } = await jwtVerify(access, createLocalJWKSet(jwks), {
      issuer: 'portcullis',
      audience: 'itsm-api',
      typ: 'at+jwt',
      algorithms: ['RS256'],
      currentDate: new Date(t.clock.now()),
    });
    expect(protectedHeader.kid).toBe('test-key-1');
    expect(payload.sub).toBe('my-operator');
  });

  it('issues opaque refresh tokens, not JWTs', async () => {
    const { refresh: token } = await issued(login(t.url, {}, PUBLIC_API));
    expect(token.split('.')).not.toHaveLength(3);
    expect(() => decodeJwt(token)).toThrow();
    expect(token).toMatch(/^[A-Za-z0-9_.-]{40,}$/);
  });
});

// The admin API on its own listener: its authentication, that the public listener never serves it, the key, user,
// session and token-family listings, and that every revocation it makes bites on the very next proxied request.

import { afterEach, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { claimsOf } from '../helpers/jwt.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { bearerGet, login, refreshGrant } from '../helpers/oauth.js';
import { pcrCall, pcrLogin } from '../helpers/pcr.js';
import { rawRequest } from '../helpers/raw-http.js';

const RW: string = SECRETS.rwKey;
const SHORT: string = PCR_ENV.PCR_SHORT_KEY;
const ALL_SECTIONS = ['services', 'equipment', 'servicedesk', 'snmp'];
/** Plain keys and passwords: never in an admin answer, never upstream. */
const PLAIN_SECRETS = [
  SECRETS.rwKey,
  SECRETS.roKey,
  PCR_ENV.PCR_LEGACY_KEY,
  PCR_ENV.PCR_EXPIRED_KEY,
  PCR_ENV.PCR_SHORT_KEY,
  PCR_ENV.PCR_UPSTREAM_KEY,
  SECRETS.apiUserPassword,
  SECRETS.operatorPassword,
  SECRETS.clientSecret,
  SECRETS.adminToken,
];

const t = testProxyForSuite(withPcr());
/** Every token issued in this file. */
const tokens: string[] = [];

function admin(method: string, path: string, body?: unknown, token: string | null = SECRETS.adminToken): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return send(t.proxy.adminUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

function expectNoSecretsIn(text: string, extra: readonly string[] = []): void {
  for (const secret of [...PLAIN_SECRETS, ...extra]) expect(text.includes(secret), 'a credential appeared in an admin answer').toBe(false);
  expect(text).not.toMatch(/sha256\$|scrypt\$/);
}

function expectNothingLeakedUpstream(requests: readonly RecordedRequest[]): void {
  for (const request of requests) {
    const texts = [request.url, request.rawHeaders.join('\n'), request.body.toString('latin1')];
    for (const secret of [...PLAIN_SECRETS, ...tokens]) {
      for (const text of texts) expect(text.includes(secret), `a credential reached the upstream in ${request.url}`).toBe(false);
    }
  }
}

/** A PCR session of `user` on `key`, with its id. */
async function openSession(key = RW, user = 'api-user'): Promise<{ token: string; sid: string }> {
  const token = await pcrLogin(t.url, key, user);
  tokens.push(token);
  return { token, sid: claimsOf(token)['sid'] as string };
}

function pcrUse(key: string, token: string): Promise<Reply> {
  return pcrCall(t.url, key, token);
}

async function oauthLogin(): Promise<{ access: string; refresh: string; family: string; jti: string }> {
  const answer = await login(t.url);
  expect(answer.status).toBe(200);
  const access = answer.body['access_token'] as string;
  const refresh = answer.body['refresh_token'] as string;
  tokens.push(access, refresh);
  return { access, refresh, family: claimsOf(access)['fid'] as string, jti: claimsOf(access)['jti'] as string };
}

function bearerUse(access: string): Promise<Reply> {
  return bearerGet(t.url, access, '/api/dashboard');
}

async function refresh(refreshToken: string) {
  const answer = await refreshGrant(t.url, refreshToken);
  if (typeof answer.body['refresh_token'] === 'string') tokens.push(answer.body['refresh_token'], answer.body['access_token'] as string);
  return answer;
}

resetBeforeEachTest(t);

afterEach(() => {
  expectNothingLeakedUpstream(t.upstream.requests);
});

describe('admin authentication', () => {
  it('refuses requests without the admin token, with a wrong one or with another scheme', async () => {
    const oauth = await oauthLogin();
    const attempts: Array<[string, Record<string, string>]> = [
      ['none', {}],
      ['wrong token', { authorization: 'Bearer not-the-admin-token' }],
      ['admin token with another scheme', { authorization: `Basic ${Buffer.from(`admin:${SECRETS.adminToken}`).toString('base64')}` }],
      ['admin token without a scheme', { authorization: SECRETS.adminToken }],
      ['an OAuth access token', { authorization: `Bearer ${oauth.access}` }],
      ['admin token with a trailing character', { authorization: `Bearer ${SECRETS.adminToken}x` }],
    ];
    for (const [what, headers] of attempts) {
      for (const [method, path] of [
        ['GET', '/admin/keys'],
        ['GET', '/admin/sessions'],
        ['DELETE', '/admin/sessions?keyId=demo-rw'],
        ['POST', '/admin/revoke'],
      ] as const) {
        const reply = await send(t.proxy.adminUrl + path, { method, headers });
        expect(reply.status, `${what}: ${method} ${path}`).toBe(401);
        expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="portcullis-admin"');
        expect(reply.json).toEqual({ error: 'unauthorized', error_description: 'a valid admin token is required' });
      }
    }
  });

  it('refuses two Authorization headers even when one holds the admin token', async () => {
    const reply = await rawRequest(
      Number(new URL(t.proxy.adminUrl).port),
      `GET /admin/keys HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${SECRETS.adminToken}\r\nAuthorization: Bearer ${SECRETS.adminToken}\r\nConnection: close\r\n\r\n`,
    );
    expect(reply.status).toBe(401);
    expect(reply.body).not.toContain('demo-rw');
  });

  it('accepts the admin token with the scheme in any case', async () => {
    const reply = await send(`${t.proxy.adminUrl}/admin/keys`, { headers: { authorization: `bearer ${SECRETS.adminToken}` } });
    expect(reply.status).toBe(200);
  });

  it('is not reachable through the public listener, with or without the admin token', async () => {
    for (const path of ['/admin/keys', '/admin/users', '/admin/sessions?keyId=demo-rw', '/admin/token-families']) {
      for (const headers of [{}, { authorization: `Bearer ${SECRETS.adminToken}` }] as Array<Record<string, string>>) {
        const reply = await send(t.url + path, { headers });
        expect([401, 404], path).toContain(reply.status);
        expect(reply.text).not.toContain('demo-rw');
        expect(reply.text).not.toContain('api-user');
        expect(reply.json?.keys).toBeUndefined();
      }
    }
    const revoke = await send(`${t.url}/admin/revoke`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' }, body: '{"token":"x"}' });
    expect([401, 404, 405]).toContain(revoke.status);
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('listings', () => {
  it('GET /admin/keys lists permissions and expiry, never a key, its hash or the upstream key', async () => {
    const reply = await admin('GET', '/admin/keys');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const byId = Object.fromEntries((reply.json.keys as Array<Record<string, unknown>>).map((k) => [k['id'], k]));
    expect(Object.keys(byId).sort()).toEqual(['demo-ro', 'demo-rw', 'expired', 'legacy', 'short']);
    expect(byId['demo-rw']).toMatchObject({ read: ALL_SECTIONS, write: ALL_SECTIONS, tokenAuth: true, expiresAt: null, expired: false, sessions: null });
    expect(byId['demo-ro']).toMatchObject({ read: ['servicedesk', 'services'], write: [], tokenAuth: false, expired: false });
    expect(byId['legacy']).toMatchObject({ read: ALL_SECTIONS, write: ['servicedesk'], tokenAuth: false });
    expect(byId['expired']).toMatchObject({ expired: true });
    // "2025-12-31" covers that whole day; either spelling of its end is an honest listing.
    expect(['2025-12-31T23:59:59.999Z', '2026-01-01T00:00:00.000Z']).toContain(byId['expired']!['expiresAt']);
    expect(byId['short']).toMatchObject({ tokenAuth: true, sessions: { lifetimeSeconds: 120, activitySeconds: 30 } });
    for (const key of Object.values(byId)) {
      expect(Object.keys(key as object)).not.toContain('key');
      expect(Object.keys(key as object)).not.toContain('keyHash');
      expect(Object.keys(key as object)).not.toContain('upstreamKey');
    }
    expectNoSecretsIn(reply.text);
  });

  it('GET /admin/users lists API users with their keys and session expiry, GET /admin/operators the operators, never a password', async () => {
    const reply = await admin('GET', '/admin/users');
    expect(reply.status).toBe(200);
    expect(reply.json.users).toEqual([
      { login: 'api-user', keys: ['demo-rw', 'short'], sessionExpiresAt: null, expired: false, source: 'config', version: null, liveSessions: 0 },
      { login: 'expiring-user', keys: ['demo-rw'], sessionExpiresAt: '2026-01-15T12:30:00.000Z', expired: false, source: 'config', version: null, liveSessions: 0 },
    ]);
    expectNoSecretsIn(reply.text);
    const operators = await admin('GET', '/admin/operators');
    expect(operators.json.operators.map((o: { login: string }) => o.login)).toEqual(['my-operator', 'no-api-operator']);
    expect(operators.json.operators[0]).toMatchObject({ apiAccess: true, teams: ['service-desk', 'network'], source: 'config' });
    expectNoSecretsIn(operators.text);
  });

  it('GET /admin/sessions filters by key and by user and shows issue time, last activity and expiry', async () => {
    const loggedInAt = t.clock.now();
    const rw = await openSession(RW, 'api-user');
    const short = await openSession(SHORT, 'api-user');
    const other = await openSession(RW, 'expiring-user');
    t.clock.advance(10_000);
    expect((await pcrUse(RW, rw.token)).status).toBe(200);

    const byKey = await admin('GET', '/admin/sessions?keyId=demo-rw');
    expect(byKey.status).toBe(200);
    const keyIds = (byKey.json.sessions as Array<{ id: string }>).map((s) => s.id);
    expect(keyIds).toEqual(expect.arrayContaining([rw.sid, other.sid]));
    expect(keyIds).not.toContain(short.sid);
    expect(byKey.json.sessions.find((s: { id: string }) => s.id === rw.sid)).toEqual({
      id: rw.sid,
      keyId: 'demo-rw',
      user: 'api-user',
      createdAt: new Date(loggedInAt).toISOString(),
      lastActivity: new Date(loggedInAt + 10_000).toISOString(),
      expiresAt: new Date(loggedInAt + 3_600_000).toISOString(),
      idleTimeoutSeconds: 600,
      idleExpiresAt: new Date(loggedInAt + 10_000 + 600_000).toISOString(),
    });
    expect(byKey.json.sessions.find((s: { id: string }) => s.id === other.sid)).toMatchObject({
      user: 'expiring-user',
      lastActivity: new Date(loggedInAt).toISOString(),
      expiresAt: '2026-01-15T12:30:00.000Z',
    });

    const byUser = await admin('GET', '/admin/sessions?user=api-user');
    const userIds = (byUser.json.sessions as Array<{ id: string }>).map((s) => s.id);
    expect(userIds).toEqual(expect.arrayContaining([rw.sid, short.sid]));
    expect(userIds).not.toContain(other.sid);
    expect(byUser.json.sessions.find((s: { id: string }) => s.id === short.sid)).toMatchObject({
      keyId: 'short',
      expiresAt: new Date(loggedInAt + 120_000).toISOString(),
      idleTimeoutSeconds: 30,
    });

    const both = await admin('GET', '/admin/sessions?keyId=short&user=expiring-user');
    expect(both.json.sessions).toEqual([]);

    // The short session idled out while the clock moved; a dead session is not listed as live.
    t.clock.advance(30_000);
    const later = await admin('GET', '/admin/sessions?keyId=short');
    expect((later.json.sessions as Array<{ id: string }>).map((s) => s.id)).not.toContain(short.sid);

    for (const reply of [byKey, byUser, both, later]) expectNoSecretsIn(reply.text, tokens);
  });
});

describe('ending PCR sessions', () => {
  it('DELETE /admin/sessions/:id: the token is refused on the very next request, though verified and cached before', async () => {
    const target = await openSession();
    const bystander = await openSession();
    expect((await pcrUse(RW, target.token)).status).toBe(200);
    expect((await pcrUse(RW, target.token)).status).toBe(200);

    const reply = await admin('DELETE', `/admin/sessions/${target.sid}`);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ revoked: [target.sid] });

    const refused = await pcrUse(RW, target.token);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: 'session_ended' });
    expect((await pcrUse(RW, bystander.token)).status).toBe(200);

    expect((await admin('DELETE', `/admin/sessions/${target.sid}`)).status).toBe(404);
    expect((await admin('DELETE', '/admin/sessions/no-such-session')).status).toBe(404);
  });

  it('DELETE /admin/sessions?keyId=demo-rw: every user of that key must log in again; other keys are untouched', async () => {
    const first = await openSession(RW, 'api-user');
    const second = await openSession(RW, 'expiring-user');
    const otherKey = await openSession(SHORT, 'api-user');
    for (const [key, s] of [[RW, first], [RW, second], [SHORT, otherKey]] as const) expect((await pcrUse(key, s.token)).status).toBe(200);

    const reply = await admin('DELETE', '/admin/sessions?keyId=demo-rw');
    expect(reply.status).toBe(200);
    expect(reply.json.revoked).toEqual(expect.arrayContaining([first.sid, second.sid]));
    expect(reply.json.revoked).not.toContain(otherKey.sid);

    for (const s of [first, second]) expect((await pcrUse(RW, s.token)).json).toMatchObject({ code: 401, error: 'session_ended' });
    expect((await pcrUse(SHORT, otherKey.token)).status).toBe(200);
    expect((await admin('GET', '/admin/sessions?keyId=demo-rw')).json.sessions).toEqual([]);

    // Revocation ends sessions, not the user's access to the key.
    const again = await openSession(RW, 'api-user');
    expect((await pcrUse(RW, again.token)).status).toBe(200);
  });

  it('DELETE /admin/sessions without a filter ends nothing', async () => {
    const s = await openSession();
    const reply = await admin('DELETE', '/admin/sessions');
    expect(reply.status).toBe(400);
    expect((await pcrUse(RW, s.token)).status).toBe(200);
  });

  it("DELETE /admin/users/api-user/sessions ends that user's sessions on every key and no one else's", async () => {
    const rw = await openSession(RW, 'api-user');
    const short = await openSession(SHORT, 'api-user');
    const other = await openSession(RW, 'expiring-user');
    expect((await pcrUse(RW, rw.token)).status).toBe(200);
    expect((await pcrUse(SHORT, short.token)).status).toBe(200);

    const reply = await admin('DELETE', '/admin/users/api-user/sessions');
    expect(reply.status).toBe(200);
    expect(reply.json.revoked).toEqual(expect.arrayContaining([rw.sid, short.sid]));
    expect(reply.json.revoked).not.toContain(other.sid);

    expect((await pcrUse(RW, rw.token)).json).toMatchObject({ error: 'session_ended' });
    expect((await pcrUse(SHORT, short.token)).json).toMatchObject({ error: 'session_ended' });
    expect((await pcrUse(RW, other.token)).status).toBe(200);
  });

  it('POST /admin/revoke with a PCR session token ends that session', async () => {
    const s = await openSession();
    const bystander = await openSession();
    expect((await pcrUse(RW, s.token)).status).toBe(200);
    const reply = await admin('POST', '/admin/revoke', { token: s.token });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ revoked: { session: s.sid } });
    expect((await pcrUse(RW, s.token)).json).toMatchObject({ error: 'session_ended' });
    expect((await pcrUse(RW, bystander.token)).status).toBe(200);
    expect((await admin('POST', '/admin/revoke', { token: s.token })).status).toBe(404);
  });
});

describe('ending OAuth token families', () => {
  it('GET /admin/token-families?clientId=public-api lists the grant of a login without any token in it', async () => {
    const issuedAt = t.clock.now();
    const grant = await oauthLogin();
    const reply = await admin('GET', '/admin/token-families?clientId=public-api');
    expect(reply.status).toBe(200);
    const family = (reply.json.families as Array<{ id: string }>).find((f) => f.id === grant.family);
    expect(family).toEqual({
      id: grant.family,
      clientId: 'public-api',
      operator: 'my-operator',
      scope: 'public-api',
      createdAt: new Date(issuedAt).toISOString(),
      lastUsedAt: new Date(issuedAt).toISOString(),
      accessExpiresAt: new Date(issuedAt + 3_600_000).toISOString(),
      refreshExpiresAt: new Date(issuedAt + 8 * 3_600_000).toISOString(),
      revokedAt: null,
    });
    const otherClient = await admin('GET', '/admin/token-families?clientId=password-only');
    expect((otherClient.json.families as Array<{ id: string }>).map((f) => f.id)).not.toContain(grant.family);
    const byOperator = await admin('GET', '/admin/token-families?operator=my-operator');
    expect((byOperator.json.families as Array<{ id: string }>).map((f) => f.id)).toContain(grant.family);
    for (const r of [reply, otherClient, byOperator]) expectNoSecretsIn(r.text, tokens);
  });

  it("DELETE /admin/token-families/:id: that family's access token is refused next request and its refresh token is invalid_grant", async () => {
    const target = await oauthLogin();
    const bystander = await oauthLogin();
    expect((await bearerUse(target.access)).status).toBe(200);
    expect((await bearerUse(bystander.access)).status).toBe(200);

    const reply = await admin('DELETE', `/admin/token-families/${target.family}`);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ revoked: [target.family] });

    const refused = await bearerUse(target.access);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: 'invalid_token', reason: 'token_revoked' });
    const refreshed = await refresh(target.refresh);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body['error']).toBe('invalid_grant');

    expect((await bearerUse(bystander.access)).status).toBe(200);
    expect((await refresh(bystander.refresh)).status).toBe(200);

    const listed = await admin('GET', '/admin/token-families?clientId=public-api');
    expect(listed.json.families.find((f: { id: string }) => f.id === target.family)).toMatchObject({ revokedAt: new Date(t.clock.now()).toISOString() });
    expect((await admin('DELETE', '/admin/token-families/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
  });

  it('POST /admin/revoke with an access token refuses it on the next request', async () => {
    const target = await oauthLogin();
    const bystander = await oauthLogin();
    expect((await bearerUse(target.access)).status).toBe(200);
    const reply = await admin('POST', '/admin/revoke', { token: target.access });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ revoked: { accessToken: target.jti } });
    expect((await bearerUse(target.access)).json).toMatchObject({ reason: 'token_revoked' });
    expect((await bearerUse(bystander.access)).status).toBe(200);
  });

  it("POST /admin/revoke with a refresh token revokes its family: the family's access token and the refresh token stop working", async () => {
    const target = await oauthLogin();
    expect((await bearerUse(target.access)).status).toBe(200);
    const reply = await admin('POST', '/admin/revoke', { token: target.refresh });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ revoked: { family: target.family } });
    expect((await bearerUse(target.access)).json).toMatchObject({ reason: 'token_revoked' });
    expect((await refresh(target.refresh)).body['error']).toBe('invalid_grant');
  });

  it('POST /admin/revoke refuses what it cannot name', async () => {
    expect((await admin('POST', '/admin/revoke', {})).status).toBe(400);
    expect((await admin('POST', '/admin/revoke', { token: 42 })).status).toBe(400);
    expect((await admin('POST', '/admin/revoke', { token: 'x'.repeat(9000) })).status).toBe(400);
    expect((await admin('POST', '/admin/revoke', { token: 'not-a-token' })).status).toBe(404);
    const malformed = await send(`${t.proxy.adminUrl}/admin/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' },
      body: '{"token":',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.text).not.toMatch(/at .*\.js|SyntaxError/);
  });
});

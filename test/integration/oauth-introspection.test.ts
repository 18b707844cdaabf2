// POST /oauth/introspect (RFC 7662) on the real proxy: a resource server allowed to introspect (or an admin) asks
// about access tokens, refresh tokens and PCR-360 session tokens. Live tokens are described with the RFC's members;
// revoked, expired, rotated-away, logged-out, idle, foreign and malformed tokens are `{"active": false}` and
// nothing else; callers that are not allowed are refused; and an independent client library reads the answers.

import * as oauth from 'oauth4webapi';
import { SignJWT, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { baseConfig, loadTestConfig, withPcr, type ConfigEdit } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, DEMO_CLIENT_AUTH, login, refreshGrant } from '../helpers/oauth.js';
import { pcrCall, pcrLogin, pcrLogout } from '../helpers/pcr.js';

const RESOURCE_SERVER = { id: 'resource-server', secret: SECRETS.clientSecret };

const withIntrospector: ConfigEdit = (config) => {
  const section = config['oauth'] as { clients: Record<string, unknown>[] };
  section.clients = [...section.clients, { id: RESOURCE_SERVER.id, secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '1h', grants: ['password'], introspect: true }];
  config['admin'] = { ...(config['admin'] as object), tokens: [{ name: 'viewer', role: 'read', token: { env: 'VIEWER_TOKEN' } }] };
};

const VIEWER_TOKEN = 'viewer-admin-token-0123456789';
const pcr = withPcr(withIntrospector);
const env = { ...pcr.env, VIEWER_TOKEN };
const t = testProxyForSuite({ ...pcr, env });
resetBeforeEachTest(t, { clock: true });

const RESOURCE_SERVER_AUTH = { authorization: basicAuth(RESOURCE_SERVER.id, RESOURCE_SERVER.secret) };

function introspect(form: Record<string, string> | string, headers: Record<string, string> = RESOURCE_SERVER_AUTH): Promise<Reply> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  return send(`${t.url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
}

async function grant() {
  const answer = await login(t.url);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { access: answer.body['access_token'] as string, refresh: answer.body['refresh_token'] as string };
}

async function expectInactive(token: string, why: string) {
  const reply = await introspect({ token });
  expect(reply.status, why).toBe(200);
  expect(reply.json, why).toEqual({ active: false });
  expect(reply.headers.get('cache-control'), why).toBe('no-store');
}

/** The suite's config changed by `edit`, for a reload. */
async function configWith(edit: ConfigEdit = () => {}) {
  const raw = baseConfig(t.upstream.url);
  pcr.edit(raw);
  edit(raw);
  return loadTestConfig(raw, env);
}

const now = () => Math.floor(t.clock.now() / 1000);

describe('POST /oauth/introspect: access and refresh tokens', () => {
  it('describes a live access token with the members RFC 7662 names (the §2.1 request form)', async () => {
    const { access } = await grant();
    const reply = await introspect({ token: access, token_type_hint: 'access_token' });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.json).toEqual({
      active: true,
      token_type: 'Bearer',
      client_id: 'public-api',
      username: 'my-operator',
      sub: 'my-operator',
      scope: 'public-api',
      iat: now(),
      exp: now() + 3600,
      iss: 'portcullis',
      aud: 'itsm-api',
      jti: expect.any(String),
    });
  });

  it('describes the refresh token its grant would redeem next, and not the one rotated away', async () => {
    const { refresh } = await grant();
    const first = await introspect({ token: refresh, token_type_hint: 'refresh_token' });
    expect(first.json).toEqual({
      active: true,
      token_type: 'refresh_token',
      client_id: 'public-api',
      username: 'my-operator',
      sub: 'my-operator',
      scope: 'public-api',
      iat: now(),
      exp: now() + 8 * 3600,
      iss: 'portcullis',
    });
    // Asking does not redeem it.
    t.clock.advance(60_000);
    const rotated = await refreshGrant(t.url, refresh);
    expect(rotated.status).toBe(200);
    await expectInactive(refresh, 'rotated away');
    const next = await introspect({ token: rotated.body['refresh_token'] as string });
    expect(next.json).toMatchObject({ active: true, token_type: 'refresh_token', iat: now() });
  });

  it('calls revoked tokens inactive, from the next question on', async () => {
    const { access, refresh } = await grant();
    const revoked = await send(`${t.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...DEMO_CLIENT_AUTH }, body: `token=${access}` });
    expect(revoked.status).toBe(200);
    await expectInactive(access, 'revoked access token');
    expect((await introspect({ token: refresh })).json).toMatchObject({ active: true });
    await send(`${t.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...DEMO_CLIENT_AUTH }, body: `token=${refresh}` });
    await expectInactive(refresh, 'revoked grant');
  });

  it('calls expired tokens inactive', async () => {
    const { access, refresh } = await grant();
    t.clock.advance(3600_000 + 31_000);
    await expectInactive(access, 'access token past exp and leeway');
    expect((await introspect({ token: refresh })).json).toMatchObject({ active: true });
    t.clock.advance(8 * 3600_000);
    await expectInactive(refresh, 'refresh token past its lifetime');
  });

  it('calls foreign, forged and malformed tokens inactive, and says nothing more', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ client_id: 'public-api', scope: 'public-api', jti: 'x', fid: 'y' })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' })
      .setSubject('my-operator')
      .setIssuer('portcullis')
      .setAudience('itsm-api')
      .setIssuedAt(now())
      .setExpirationTime(now() + 600)
      .sign(privateKey);
    const header = Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url');
    const claims = Buffer.from(JSON.stringify({ sub: 'my-operator', iss: 'portcullis', exp: now() + 600 })).toString('base64url');
    for (const token of [forged, `${header}.${claims}.`, 'nonsense', `${'A'.repeat(22)}.${'B'.repeat(43)}`, 'x'.repeat(9000)]) {
      await expectInactive(token, token.slice(0, 40));
    }
  });

  it('calls a token inactive once its operator loses API access or its client is removed', async () => {
    const { access, refresh } = await grant();
    await t.proxy.reload(
      await configWith((config) => {
        const operators = config['operators'] as Record<string, unknown>[];
        operators[0] = { ...operators[0], apiAccess: false };
      }),
    );
    try {
      await expectInactive(access, 'operator without API access');
      await expectInactive(refresh, 'refresh of an operator without API access');
    } finally {
      await t.proxy.reload(await configWith());
    }
    expect((await introspect({ token: access })).json).toMatchObject({ active: true });
    await t.proxy.reload(
      await configWith((config) => {
        const section = config['oauth'] as { clients: { id: string }[] };
        section.clients = section.clients.filter((client) => client.id !== 'public-api');
      }),
    );
    try {
      await expectInactive(access, 'client removed');
      await expectInactive(refresh, 'refresh of a removed client');
    } finally {
      await t.proxy.reload(await configWith());
    }
  });

  it('answers the RFC 7662 §2.1 example request, whose token is not one of ours, as inactive (§2.2)', async () => {
    const reply = await introspect('token=mF_9.B5f-4.1JqM&token_type_hint=access_token');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ active: false });
  });

  it('honours the hint without trusting it', async () => {
    const { access, refresh } = await grant();
    expect((await introspect({ token: access, token_type_hint: 'refresh_token' })).json).toMatchObject({ active: true, token_type: 'Bearer' });
    expect((await introspect({ token: refresh, token_type_hint: 'access_token' })).json).toMatchObject({ active: true, token_type: 'refresh_token' });
    expect((await introspect({ token: access, token_type_hint: 'id_token' })).json).toMatchObject({ active: true });
  });
});

describe('POST /oauth/introspect: PCR-360 session tokens', () => {
  it('describes a live session with its key, user, permissions and end, and not once it is logged out', async () => {
    const token = await pcrLogin(t.url);
    const reply = await introspect({ token });
    expect(reply.json).toEqual({
      active: true,
      token_type: 'pcr_session',
      client_id: 'demo-rw',
      username: 'api-user',
      sub: 'api-user',
      scope: 'services:read services:write equipment:read equipment:write servicedesk:read servicedesk:write snmp:read snmp:write',
      iat: now(),
      // The inactivity limit (600 s) ends it before its lifetime (3600 s).
      exp: now() + 600,
      iss: 'portcullis',
    });
    expect((await pcrLogout(t.url, SECRETS.rwKey, { 'PCR-AUTH-TOKEN': token })).status).toBe(200);
    await expectInactive(token, 'logged out');
  });

  it('calls an idle session inactive, as a request would find it', async () => {
    const token = await pcrLogin(t.url);
    t.clock.advance(601_000);
    await expectInactive(token, 'idle past the inactivity limit');
    expect((await pcrCall(t.url, SECRETS.rwKey, token)).status).toBe(401);
  });
});

describe('POST /oauth/introspect: who may ask', () => {
  it('refuses callers without credentials, with a wrong secret, or not allowed to introspect', async () => {
    const { access } = await grant();
    const anonymous = await introspect({ token: access }, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await introspect({ token: access }, { authorization: basicAuth(RESOURCE_SERVER.id, 'wrong') })).status).toBe(401);
    const notAllowed = await introspect({ token: access }, DEMO_CLIENT_AUTH);
    expect(notAllowed.status).toBe(403);
    expect(notAllowed.json).toEqual({ error: 'unauthorized_client', error_description: 'this client may not introspect tokens' });
    // A bearer access token is not an introspection credential: only an admin token is.
    const withAccessToken = await introspect({ token: access }, { authorization: `Bearer ${access}` });
    expect(withAccessToken.status).toBe(401);
    expect(withAccessToken.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('answers an admin token, of either role, as it answers an allowed client', async () => {
    const { access } = await grant();
    for (const admin of [SECRETS.adminToken, VIEWER_TOKEN]) {
      const reply = await introspect({ token: access }, { authorization: `Bearer ${admin}` });
      expect(reply.status, admin).toBe(200);
      expect(reply.json).toMatchObject({ active: true, client_id: 'public-api' });
    }
  });

  it('takes client credentials in the body too, and answers malformed requests with their OAuth errors', async () => {
    const { access } = await grant();
    expect((await introspect({ token: access, client_id: RESOURCE_SERVER.id, client_secret: RESOURCE_SERVER.secret }, {})).json).toMatchObject({ active: true });
    expect((await introspect({})).json).toEqual({ error: 'invalid_request', error_description: 'the "token" parameter is required' });
    expect((await introspect('token=a&token=b')).json).toMatchObject({ error: 'invalid_request' });
    const get = await send(`${t.url}/oauth/introspect?token=${access}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const json = await send(`${t.url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/json', ...RESOURCE_SERVER_AUTH }, body: `{"token":"${access}"}` });
    expect(json.status).toBe(400);
  });

  it('is listed in the authorization server metadata', async () => {
    const metadata = await send(`${t.url}/.well-known/oauth-authorization-server`);
    expect(metadata.json).toMatchObject({
      introspection_endpoint: `${t.url}/oauth/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
  });
});

describe('an independent client library (oauth4webapi)', () => {
  it('introspects and revokes at the endpoints the metadata names', async () => {
    // Read from the metadata document: our issuer identifier is a name, not the URL the proxy is reached at, so
    // the library's own discovery (which insists the two are one) is not what a client of this proxy uses.
    const server = (await send(`${t.url}/.well-known/oauth-authorization-server`)).json as unknown as oauth.AuthorizationServer;
    expect(server.introspection_endpoint).toBe(`${t.url}/oauth/introspect`);

    const { access, refresh } = await grant();
    const client: oauth.Client = { client_id: RESOURCE_SERVER.id };
    const auth = oauth.ClientSecretBasic(RESOURCE_SERVER.secret);
    const options = { [oauth.allowInsecureRequests]: true };
    const live = await oauth.processIntrospectionResponse(server, client, await oauth.introspectionRequest(server, client, auth, access, options));
    expect(live).toMatchObject({ active: true, client_id: 'public-api', username: 'my-operator', token_type: 'Bearer' });

    const demo: oauth.Client = { client_id: 'public-api' };
    const revoked = await oauth.revocationRequest(server, demo, oauth.ClientSecretBasic(SECRETS.clientSecret), refresh, options);
    await oauth.processRevocationResponse(revoked);
    const gone = await oauth.processIntrospectionResponse(server, client, await oauth.introspectionRequest(server, client, auth, access, options));
    expect(gone).toEqual({ active: false });
    expect((await bearerGet(t.url, access)).status).toBe(401);
  });
});

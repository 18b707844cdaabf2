// POST /oauth/revoke (RFC 7009) and GET /.well-known/oauth-authorization-server (RFC 8414) on the real proxy: a
// client revokes its own refresh token (its whole grant) or access token (that token, and its grant where the
// config says so), the revocation holds from the next request, the hint is honoured but not trusted, unknown
// tokens are answered 200, another client's token is refused, and every malformed request gets its OAuth error.

import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { loadPcrConfig, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, DEMO_CLIENT_AUTH, login, refreshGrant } from '../helpers/oauth.js';

const t = testProxyForSuite(withPcr());

function revoke(form: Record<string, string> | string, headers: Record<string, string> = DEMO_CLIENT_AUTH): Promise<Reply> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  return send(`${t.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
}

async function grant(client = { id: 'public-api', secret: SECRETS.clientSecret }) {
  const answer = await login(t.url, {}, client);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { access: answer.body['access_token'] as string, refresh: answer.body['refresh_token'] as string | undefined };
}

describe('POST /oauth/revoke', () => {
  it('revokes a refresh token and with it its whole grant: the refresh and the access token are refused next', async () => {
    const { access, refresh } = await grant();
    const reply = await revoke({ token: refresh!, token_type_hint: 'refresh_token' });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({});
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect((await refreshGrant(t.url, refresh!)).status).toBe(400);
    const refused = await bearerGet(t.url, access);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('revokes an access token alone by default: that token is refused, its grant still refreshes', async () => {
    const { access, refresh } = await grant();
    expect((await bearerGet(t.url, access)).status).toBe(200);
    expect((await revoke({ token: access, token_type_hint: 'access_token' })).status).toBe(200);
    expect((await bearerGet(t.url, access)).status).toBe(401);
    const refreshed = await refreshGrant(t.url, refresh!);
    expect(refreshed.status).toBe(200);
    expect((await bearerGet(t.url, refreshed.body['access_token'] as string)).status).toBe(200);
  });

  it('honours the hint without trusting it: a wrong or unknown hint still finds the token', async () => {
    const first = await grant();
    expect((await revoke({ token: first.access, token_type_hint: 'refresh_token' })).status).toBe(200);
    expect((await bearerGet(t.url, first.access)).status).toBe(401);
    const second = await grant();
    expect((await revoke({ token: second.refresh!, token_type_hint: 'access_token' })).status).toBe(200);
    expect((await refreshGrant(t.url, second.refresh!)).status).toBe(400);
    const third = await grant();
    expect((await revoke({ token: third.access, token_type_hint: 'id_token' })).status).toBe(200);
    expect((await bearerGet(t.url, third.access)).status).toBe(401);
  });

  it('answers the RFC 7009 §2.1 example request, whose token is not one of ours, with 200 (§2.2)', async () => {
    const reply = await revoke('token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({});
  });

  it('answers 200 for unknown, malformed and already revoked tokens, changing nothing', async () => {
    const { access } = await grant();
    for (const token of ['nonsense', 'A'.repeat(22) + '.' + 'B'.repeat(43), 'eyJhbGciOiJub25lIn0.e30.']) {
      expect((await revoke({ token })).status, token).toBe(200);
    }
    expect((await revoke({ token: access })).status).toBe(200);
    expect((await revoke({ token: access })).status).toBe(200);
  });

  it("refuses a token another client was issued, and leaves it working", async () => {
    const theirs = await grant({ id: 'password-only', secret: SECRETS.clientSecret });
    const reply = await revoke({ token: theirs.access });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: 'unauthorized_client', error_description: 'the token was not issued to this client' });
    expect((await bearerGet(t.url, theirs.access)).status).toBe(200);
    const mine = await grant();
    const byOther = await revoke({ token: mine.refresh! }, { authorization: basicAuth('password-only', SECRETS.clientSecret) });
    expect(byOther.json.error).toBe('unauthorized_client');
    expect((await refreshGrant(t.url, mine.refresh!)).status).toBe(200);
  });

  it('authenticates the client as the token endpoint does: Basic or the body, never neither, never a wrong secret', async () => {
    const { access } = await grant();
    const unauthenticated = await revoke({ token: access }, {});
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.json.error).toBe('invalid_client');
    expect((await revoke({ token: access }, { authorization: basicAuth('public-api', 'wrong') })).status).toBe(401);
    expect((await bearerGet(t.url, access)).status).toBe(200);
    expect((await revoke({ token: access, client_id: 'public-api', client_secret: SECRETS.clientSecret }, {})).status).toBe(200);
    expect((await bearerGet(t.url, access)).status).toBe(401);
  });

  it('answers malformed requests with their OAuth errors', async () => {
    expect((await revoke({})).json).toMatchObject({ error: 'invalid_request' });
    expect((await revoke('token=a&token=b')).json).toMatchObject({ error: 'invalid_request' });
    const get = await send(`${t.url}/oauth/revoke`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const json = await send(`${t.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', ...DEMO_CLIENT_AUTH }, body: '{"token":"x"}' });
    expect(json.status).toBe(400);
  });

  it('revokes the grant with its access token where oauth.revokeGrantWithAccessToken says so', async () => {
    await t.proxy.reload(await loadPcrConfig(t.upstream.url, (config) => {
      config['oauth'] = { ...(config['oauth'] as object), revokeGrantWithAccessToken: true };
    }));
    try {
      const { access, refresh } = await grant();
      expect((await revoke({ token: access })).status).toBe(200);
      expect((await refreshGrant(t.url, refresh!)).status).toBe(400);
    } finally {
      await t.proxy.reload(await loadPcrConfig(t.upstream.url));
    }
  });
});

describe('GET /.well-known/oauth-authorization-server', () => {
  it('describes the running config with endpoints at the origin the client used', async () => {
    const reply = await send(`${t.url}/.well-known/oauth-authorization-server`);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      issuer: 'portcullis',
      token_endpoint: `${t.url}/oauth/token`,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint: `${t.url}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint: `${t.url}/oauth/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      jwks_uri: `${t.url}/.well-known/jwks.json`,
      grant_types_supported: ['password', 'refresh_token'],
      scopes_supported: ['public-api'],
      response_types_supported: [],
    });
    const jwks = await send(reply.json.jwks_uri as string);
    expect(jwks.status).toBe(200);
  });

  it('does not believe a forwarded host from an untrusted peer', async () => {
    const reply = await send(`${t.url}/.well-known/oauth-authorization-server`, { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    expect(reply.json.token_endpoint).toBe(`${t.url}/oauth/token`);
  });
});

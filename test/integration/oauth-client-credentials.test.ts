// grant_type=client_credentials end to end (RFC 6749 §4.4): the RFC's example request verbatim, Basic and body
// client authentication, no refresh token in the answer, the service identity at the upstream, the refusals
// (a client without the grant, a wrong secret, a bad scope), tokens ended by the admin API taking the grant away
// or deleting the client, revocation at /oauth/revoke and in the admin's Tokens grid, and the same flow through
// oauth4webapi, an independent client library.

import * as oauth from 'oauth4webapi';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/secrets/hash.js';
import { SECRETS } from '../fixtures/secrets.js';
import { baseConfig, loadTestConfig } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, tokenRequest, type TokenAnswer } from '../helpers/oauth.js';
import { rawRequest } from '../helpers/raw-http.js';
import { adminRequest } from '../helpers/admin.js';

/** RFC 6749 §4.4.2's example client and its Basic header, verbatim. */
const RFC_CLIENT = { id: 's6BhdRkqt3', secret: 'gX1fBat3bV' };
const RFC_AUTHORIZATION = 'Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW';

const MONITORING = { id: 'monitoring', secret: SECRETS.clientSecret };
const MONITORING_AUTH = { authorization: basicAuth(MONITORING.id, MONITORING.secret) };
const SERVICE = { name: 'svc-monitoring', teams: ['noc', 'network'], organizations: ['acme'], features: ['dashboard'] };

const t = testProxyForSuite(async () => {
  const rfcSecretHash = await hashSecret(RFC_CLIENT.secret);
  return {
    edit(config: Record<string, unknown>) {
      const section = config['oauth'] as { clients: Record<string, unknown>[] };
      section.clients.push(
        { id: MONITORING.id, secret: SECRETS.clientSecretHash, accessTokenTtl: '15m', refreshTokenTtl: '1h', grants: ['client_credentials'], serviceIdentity: SERVICE },
        { id: RFC_CLIENT.id, secret: rfcSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['client_credentials', 'refresh_token'], serviceIdentity: { name: 'svc-rfc-example' } },
      );
    },
  };
});

resetBeforeEachTest(t, { clock: true });

const admin = (method: string, path: string, body?: unknown): Promise<Reply> => adminRequest(t.proxy.adminUrl, method, path, body);

function clientCredentials(headers: Record<string, string> = MONITORING_AUTH, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  return tokenRequest(t.url, { grant_type: 'client_credentials', ...extra }, headers);
}

async function serviceToken(headers: Record<string, string> = MONITORING_AUTH): Promise<string> {
  const answer = await clientCredentials(headers);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body['access_token'] as string;
}

const identityAtUpstream = () => {
  const headers = t.upstream.requests.at(-1)?.headers ?? {};
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('x-portcullis-')));
};

/** The reason of the newest request log line on `route`. */
async function loggedReason(route: string): Promise<unknown> {
  let reason: unknown;
  await expect
    .poll(() => {
      const lines = t.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'request' && line['route'] === route);
      reason = lines.at(-1)?.['reason'];
      return reason;
    })
    .toBeDefined();
  return reason;
}

describe('the token answer', () => {
  it("answers RFC 6749 §4.4.2's example request with an access token and no refresh token", async () => {
    const body = 'grant_type=client_credentials';
    const raw = `POST /oauth/token HTTP/1.1\r\nHost: server.example.com\r\nAuthorization: ${RFC_AUTHORIZATION}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const reply = await rawRequest(t.port, raw);
    expect(reply.status, reply.body).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['pragma']).toBe('no-cache');
    const answer = JSON.parse(reply.body) as Record<string, unknown>;
    // §4.4.3: a refresh token SHOULD NOT be included, and is not even for a client that may refresh.
    expect(Object.keys(answer).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(answer).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'public-api' });
    // RFC 9068 §2.2: with no resource owner, the subject is the client; the grant type claim marks it.
    expect(decodeJwt(answer['access_token'] as string)).toMatchObject({ sub: RFC_CLIENT.id, client_id: RFC_CLIENT.id, gty: 'client_credentials', scope: 'public-api' });
  });

  it('takes the client in the body as well as in Basic, and lasts the client\'s access token lifetime', async () => {
    const viaBody = await clientCredentials({}, { client_id: MONITORING.id, client_secret: MONITORING.secret, scope: 'public-api' });
    expect(viaBody.status, JSON.stringify(viaBody.body)).toBe(200);
    expect(viaBody.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'public-api' });
    expect(viaBody.body['refresh_token']).toBeUndefined();
    const claims = decodeJwt(viaBody.body['access_token'] as string);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);
  });

  it('checks the scope as the other grants do', async () => {
    for (const scope of ['other', 'public-api admin', ' ']) {
      const reply = await clientCredentials(MONITORING_AUTH, { scope });
      expect(reply.status, scope).toBe(400);
      expect(reply.body).toEqual({ error: 'invalid_scope', error_description: 'the only scope available is "public-api"' });
    }
  });
});

describe('refusals', () => {
  it('answers a client without the grant unauthorized_client, once its secret is proven', async () => {
    const reply = await clientCredentials({ authorization: basicAuth('public-api', SECRETS.clientSecret) });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'unauthorized_client', error_description: 'this client may not use the client_credentials grant' });
    expect(await loggedReason('oauth-token')).toBe('grant_not_allowed');
  });

  it('answers a wrong secret and an unknown client alike: invalid_client with the Basic challenge', async () => {
    const wrong = await clientCredentials({ authorization: basicAuth(MONITORING.id, 'not-the-secret') });
    const unknown = await clientCredentials({ authorization: basicAuth('no-such-client', MONITORING.secret) });
    for (const reply of [wrong, unknown]) {
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
      expect(reply.headers.get('www-authenticate')).toBe('Basic realm="portcullis", charset="UTF-8"');
    }
  });

  it('has no refresh: a service token is no refresh token, and the grant issues none to redeem', async () => {
    const token = await serviceToken({ authorization: RFC_AUTHORIZATION });
    const reply = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: token }, { authorization: RFC_AUTHORIZATION });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('the token at the upstream', () => {
  it('forwards the service identity, marked as a client acting for itself', async () => {
    const token = await serviceToken();
    const reply = await bearerGet(t.url, token, '/api/dashboard');
    expect(reply.status, reply.text).toBe(200);
    expect(identityAtUpstream()).toEqual({
      'x-portcullis-auth': 'oauth-client',
      'x-portcullis-user': 'svc-monitoring',
      'x-portcullis-client-id': 'monitoring',
      'x-portcullis-scope': 'public-api',
      'x-portcullis-teams': 'noc,network',
      'x-portcullis-organizations': 'acme',
      'x-portcullis-features': 'dashboard',
    });
    expect(t.upstream.requests.at(-1)?.headers['authorization']).toBeUndefined();
  });

  it('is refused once it expires', async () => {
    const token = await serviceToken();
    t.clock.advance(15 * 60_000 + 31_000);
    const reply = await bearerGet(t.url, token);
    expect(reply.status).toBe(401);
    expect(reply.json).toMatchObject({ error: 'invalid_token', reason: 'token_expired' });
  });
});

describe('ending service tokens', () => {
  it('revocation at /oauth/revoke refuses the token from the next request on', async () => {
    const token = await serviceToken();
    expect((await bearerGet(t.url, token)).status).toBe(200);
    const revoked = await send(`${t.url}/oauth/revoke`, {
      method: 'POST',
      headers: { ...MONITORING_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    expect(revoked.status).toBe(200);
    const refused = await bearerGet(t.url, token);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: 'invalid_token', reason: 'token_revoked' });
  });

  it('each issuance is a grant of its own in the Tokens grid, under the service, and revoking it ends the token', async () => {
    const token = await serviceToken();
    const families = (await admin('GET', '/admin/token-families?clientId=monitoring')).json.families as Array<Record<string, unknown>>;
    const family = families.find((f) => f['id'] === decodeJwt(token)['fid']);
    // A service's grant is never listed under an operator login: no login contains a space.
    expect(family).toMatchObject({ clientId: 'monitoring', operator: 'svc-monitoring (service)', refreshExpiresAt: null, revokedAt: null });
    expect((await admin('DELETE', `/admin/token-families/${String(family?.['id'])}`)).status).toBe(200);
    expect((await bearerGet(t.url, token)).json).toMatchObject({ reason: 'token_revoked' });
  });

  it('taking the grant away through the admin API refuses its tokens, as does deleting the client', async () => {
    const secret = 'managed-monitoring-secret';
    const created = await admin('POST', '/admin/clients', { id: 'managed-monitoring', secret, grants: ['client_credentials'], serviceIdentity: { name: 'svc-managed' } });
    expect(created.status, created.text).toBe(201);
    const auth = { authorization: basicAuth('managed-monitoring', secret) };
    await expect.poll(async () => (await clientCredentials(auth)).status).toBe(200);
    const token = await serviceToken(auth);
    expect((await bearerGet(t.url, token)).status).toBe(200);
    expect(identityAtUpstream()['x-portcullis-user']).toBe('svc-managed');

    // A new name applies to the tokens already issued: the identity is read at each verification, not from the token.
    expect((await admin('PATCH', '/admin/clients/managed-monitoring', { serviceIdentity: { name: 'svc-renamed', teams: ['ops'] } })).status).toBe(200);
    await expect.poll(async () => (await bearerGet(t.url, token), identityAtUpstream()['x-portcullis-user'])).toBe('svc-renamed');
    expect(identityAtUpstream()['x-portcullis-teams']).toBe('ops');

    expect((await admin('PATCH', '/admin/clients/managed-monitoring', { grants: ['password'] })).status).toBe(200);
    await expect.poll(async () => (await bearerGet(t.url, token)).status).toBe(401);
    expect((await bearerGet(t.url, token)).json).toMatchObject({ error: 'invalid_token', reason: 'client_disabled' });
    expect((await clientCredentials(auth)).body).toMatchObject({ error: 'unauthorized_client' });

    // Switched on again, the client gets tokens again; deleting it ends them.
    expect((await admin('PATCH', '/admin/clients/managed-monitoring', { grants: ['client_credentials'] })).status).toBe(200);
    await expect.poll(async () => (await clientCredentials(auth)).status).toBe(200);
    const again = await serviceToken(auth);
    expect((await bearerGet(t.url, again)).status).toBe(200);
    const deleted = await admin('DELETE', '/admin/clients/managed-monitoring');
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.json.grantsRevoked).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await bearerGet(t.url, again)).status).toBe(401);
  });
});

describe('the config file', () => {
  it('refuses client credentials without a service identity, and a service name a header could not carry', async () => {
    const withClient = (client: Record<string, unknown>) => {
      const raw = baseConfig(t.upstream.url);
      (raw['oauth'] as { clients: Record<string, unknown>[] }).clients = [{ id: 'svc', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '1h', ...client }];
      return loadTestConfig(raw);
    };
    await expect(withClient({ grants: ['client_credentials'] })).rejects.toMatchObject({ problems: [expect.stringMatching(/^oauth\.clients\[0\]\.serviceIdentity: required when grants include client_credentials/)] });
    await expect(withClient({ grants: ['client_credentials'], serviceIdentity: { name: 'svc monitoring' } })).rejects.toMatchObject({
      problems: ['oauth.clients[0].serviceIdentity.name: expected printable ASCII without spaces'],
    });
    // An identity kept while the grant is off is fine, and so is the flag's default.
    const config = await withClient({ grants: ['password'], serviceIdentity: { name: 'svc-later' } });
    expect(config.clients.get('svc')).toMatchObject({ allowsClientCredentials: false, mayIntrospect: false, serviceIdentity: { name: 'svc-later', teams: [] } });
  });
});

describe('oauth4webapi', () => {
  const options = { [oauth.allowInsecureRequests]: true };
  const client: oauth.Client = { client_id: MONITORING.id };
  const metadata = async () => (await send(`${t.url}/.well-known/oauth-authorization-server`)).json as unknown as oauth.AuthorizationServer;

  it('finds the grant in the metadata, gets a token with client credentials and calls the API with it', async () => {
    const as = await metadata();
    expect(as.grant_types_supported).toContain('client_credentials');
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(MONITORING.secret), new URLSearchParams({ scope: 'public-api' }), options);
    const issued = await oauth.processClientCredentialsResponse(as, client, response);
    expect(issued).toMatchObject({ token_type: 'bearer', expires_in: 900, scope: 'public-api' });
    expect(issued.refresh_token).toBeUndefined();
    const api = await oauth.protectedResourceRequest(issued.access_token, 'GET', new URL(`${t.url}/api/dashboard`), undefined, undefined, options);
    expect(api.status).toBe(200);
    expect(identityAtUpstream()['x-portcullis-user']).toBe('svc-monitoring');
  });

  it('with the client secret in the body (client_secret_post), and reads a wrong secret as RFC 6749 §5.2 invalid_client', async () => {
    const as = await metadata();
    const viaPost = await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(MONITORING.secret), {}, options));
    expect(viaPost.access_token).toEqual(expect.any(String));
    const refused = await oauth
      .processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost('wrong-secret'), {}, options))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(await (refused as oauth.WWWAuthenticateChallengeError).response.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });
});

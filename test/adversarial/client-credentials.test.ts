// Attacks on client_credentials tokens: an operator whose login equals a service name (or a client id) never gets
// the service's identity and the service never gets the operator's; hand-made tokens that mix the two kinds are
// refused; a disabled or removed client's tokens stop; nothing refreshes a service token; a client acting for
// itself cannot use the password grant; deleting an operator named like a service leaves the service's grants.

import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { FROZEN_EPOCH, loadTestConfig, baseConfig } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { accessClaims, claimsOf, signWithTestKey } from '../helpers/jwt.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, bearerGet, login, tokenRequest } from '../helpers/oauth.js';
import { adminRequest } from '../helpers/admin.js';

const NOW = Math.floor(FROZEN_EPOCH / 1000);
const SERVICE_AUTH = { authorization: basicAuth('monitoring', SECRETS.clientSecret) };
/** A client acting for itself whose id is an operator's login. */
const LOOKALIKE_AUTH = { authorization: basicAuth('my-operator', SECRETS.clientSecret) };

function withServices(config: Record<string, unknown>): void {
  config['protection'] = { bruteForce: { enabled: false } };
  const oauth = config['oauth'] as { clients: Record<string, unknown>[] };
  oauth.clients.push(
    { id: 'monitoring', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['client_credentials', 'refresh_token'], serviceIdentity: { name: 'svc-monitoring', teams: ['noc'], features: ['metrics'] } },
    { id: 'my-operator', secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '8h', grants: ['client_credentials'], serviceIdentity: { name: 'svc-lookalike' } },
  );
  // An operator with the service's name, and other attributes.
  (config['operators'] as Record<string, unknown>[]).push({ login: 'svc-monitoring', password: SECRETS.operatorPasswordHash, apiAccess: true, teams: ['operators'], organizations: ['acme'] });
}

const t = testProxyForSuite({ edit: withServices });
resetBeforeEachTest(t, { clock: true });

const admin = (method: string, path: string, body?: unknown): Promise<Reply> => adminRequest(t.proxy.adminUrl, method, path, body);

async function serviceToken(headers: Record<string, string> = SERVICE_AUTH): Promise<string> {
  const answer = await tokenRequest(t.url, { grant_type: 'client_credentials' }, headers);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body['access_token'] as string;
}

async function forwardedAs(token: string): Promise<Record<string, string | string[] | undefined>> {
  const reply = await bearerGet(t.url, token, '/api/dashboard');
  expect(reply.status, reply.text).toBe(200);
  const headers = t.upstream.requests.at(-1)!.headers;
  return { auth: headers['x-portcullis-auth'], user: headers['x-portcullis-user'], teams: headers['x-portcullis-teams'], organizations: headers['x-portcullis-organizations'] };
}

describe('an operator and a service of the same name', () => {
  it('are forwarded each as itself, and the upstream can tell them apart', async () => {
    const operator = await login(t.url, { username: 'svc-monitoring' });
    expect(operator.status, JSON.stringify(operator.body)).toBe(200);
    expect(await forwardedAs(operator.body['access_token'] as string)).toEqual({ auth: 'oauth', user: 'svc-monitoring', teams: 'operators', organizations: 'acme' });
    expect(await forwardedAs(await serviceToken())).toEqual({ auth: 'oauth-client', user: 'svc-monitoring', teams: 'noc', organizations: '' });
  });

  it('a client whose id is an operator login gets its own identity, never the operator\'s', async () => {
    const token = await serviceToken(LOOKALIKE_AUTH);
    expect(claimsOf(token)).toMatchObject({ sub: 'my-operator', client_id: 'my-operator', gty: 'client_credentials' });
    expect(await forwardedAs(token)).toEqual({ auth: 'oauth-client', user: 'svc-lookalike', teams: '', organizations: '' });
  });

  it('identity headers sent by the client cannot dress an operator up as the service', async () => {
    const operator = await login(t.url, { username: 'svc-monitoring' });
    const reply = await send(`${t.url}/api/dashboard`, {
      headers: { authorization: `Bearer ${operator.body['access_token'] as string}`, 'x-portcullis-auth': 'oauth-client', 'x-portcullis-teams': 'noc' },
    });
    expect(reply.status).toBe(200);
    expect(t.upstream.requests.at(-1)!.headers).toMatchObject({ 'x-portcullis-auth': 'oauth', 'x-portcullis-teams': 'operators' });
  });
});

describe('hand-made tokens mixing the two kinds', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    // Signed by our key, so only the claims decide: a service mark on an operator's subject is refused outright.
    ['a service mark with an operator as subject', { sub: 'my-operator', client_id: 'monitoring', gty: 'client_credentials' }, 'token_claims_invalid'],
    ['another grant type mark', { sub: 'monitoring', client_id: 'monitoring', gty: 'password' }, 'token_claims_invalid'],
    ['a service mark that is not a string', { sub: 'monitoring', client_id: 'monitoring', gty: true }, 'token_claims_invalid'],
    // Without the mark, the subject is an operator login: there is no operator "monitoring".
    ['the client id as an operator subject, without the mark', { sub: 'monitoring', client_id: 'monitoring' }, 'operator_disabled'],
    ['a service mark for a client without the grant', { sub: 'public-api', client_id: 'public-api', gty: 'client_credentials' }, 'client_disabled'],
    ['a service mark for a client that does not exist', { sub: 'ghost', client_id: 'ghost', gty: 'client_credentials' }, 'client_disabled'],
  ];
  it.each(cases)('%s: 401, nothing forwarded', async (_name, claims, reason) => {
    const token = await signWithTestKey(accessClaims(FROZEN_EPOCH, { ...claims, iat: NOW, exp: NOW + 3600 }));
    const reply = await bearerGet(t.url, token);
    expect(reply.status).toBe(401);
    expect(reply.json).toMatchObject({ error: 'invalid_token', reason });
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('a disabled client', () => {
  it('its tokens stop when a reload takes the grant away or removes the client', async () => {
    const token = await serviceToken();
    expect((await bearerGet(t.url, token)).status).toBe(200);
    const without = (edit: (clients: Record<string, unknown>[]) => void) => {
      const raw = baseConfig(t.upstream.url);
      withServices(raw);
      edit((raw['oauth'] as { clients: Record<string, unknown>[] }).clients);
      return loadTestConfig(raw);
    };
    await t.proxy.reload(await without((clients) => (clients.find((c) => c['id'] === 'monitoring')!['grants'] = ['refresh_token'])));
    expect((await bearerGet(t.url, token)).json).toMatchObject({ error: 'invalid_token', reason: 'client_disabled' });
    await t.proxy.reload(await without((clients) => clients.splice(clients.findIndex((c) => c['id'] === 'monitoring'), 1)));
    expect((await bearerGet(t.url, token)).json).toMatchObject({ error: 'invalid_token', reason: 'client_disabled' });
    // Back as it was, the token is live again: it was refused for the client's state, never revoked.
    await t.proxy.reload(await without(() => {}));
    expect((await bearerGet(t.url, token)).status).toBe(200);
  });
});

describe('refreshing a service token', () => {
  it('cannot: the access token is no refresh token, and its grant has no refresh token to guess', async () => {
    const token = await serviceToken();
    const asRefresh = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: token }, SERVICE_AUTH);
    expect(asRefresh.body).toMatchObject({ error: 'invalid_grant' });
    // A well-formed refresh token naming the service's grant: the grant never had one to redeem.
    const guessed = `${String(claimsOf(token)['fid'])}.${'A'.repeat(43)}`;
    const redeemed = await tokenRequest(t.url, { grant_type: 'refresh_token', refresh_token: guessed }, SERVICE_AUTH);
    expect(redeemed.status).toBe(400);
    // Answered like any unknown refresh token: the grant is real, but it has nothing to redeem.
    expect(redeemed.body).toEqual({ error: 'invalid_grant', error_description: 'the refresh token is not valid' });
    // The attempt did not end the real token either.
    expect((await bearerGet(t.url, token)).status).toBe(200);
  });

  it('a client acting for itself cannot switch to the password grant to speak for an operator', async () => {
    const reply = await tokenRequest(t.url, { grant_type: 'password', username: 'my-operator', password: SECRETS.operatorPassword }, SERVICE_AUTH);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: 'unauthorized_client' });
  });
});

describe('grants of a service and of an operator of the same name', () => {
  it('deleting a managed operator named like a service revokes only the operator\'s grants', async () => {
    const created = await admin('POST', '/admin/operators', { login: 'svc-managed', password: 'svc-managed-password', apiAccess: true });
    expect(created.status, created.text).toBe(201);
    const client = await admin('POST', '/admin/clients', { id: 'managed-service', secret: 'managed-service-secret', grants: ['client_credentials'], serviceIdentity: { name: 'svc-managed' } });
    expect(client.status, client.text).toBe(201);
    const auth = { authorization: basicAuth('managed-service', 'managed-service-secret') };
    await expect.poll(async () => (await tokenRequest(t.url, { grant_type: 'client_credentials' }, auth)).status).toBe(200);
    const service = await serviceToken(auth);
    const operator = await login(t.url, { username: 'svc-managed', password: 'svc-managed-password' });
    expect(operator.status, JSON.stringify(operator.body)).toBe(200);

    const listed = (await admin('GET', '/admin/operators/svc-managed')).json;
    expect(listed.liveGrants).toBe(1);
    const deleted = await admin('DELETE', '/admin/operators/svc-managed');
    expect(deleted.json).toMatchObject({ grantsRevoked: 1 });
    await expect.poll(async () => (await bearerGet(t.url, operator.body['access_token'] as string)).status).toBe(401);
    expect(await forwardedAs(service)).toMatchObject({ auth: 'oauth-client', user: 'svc-managed' });
    await admin('DELETE', '/admin/clients/managed-service');
  });
});

// The OAuth face as two independent client libraries use it, unchanged: oauth4webapi (generic password grant,
// refresh, client credentials, revocation and introspection) and simple-oauth2 (password grant, refresh, client
// credentials and revocation, with the client secret form-encoded into Basic as RFC 6749 §2.3.1 says). Each gets a token, calls the API with it,
// refreshes, revokes, and sees the revocation hold.

import * as oauth from 'oauth4webapi';
import { ClientCredentials, ResourceOwnerPassword } from 'simple-oauth2';
import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { send } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { bearerGet } from '../helpers/oauth.js';

const INTROSPECTOR = { id: 'resource-server', secret: SECRETS.clientSecret };

const t = testProxyForSuite({
  edit(config) {
    const section = config['oauth'] as { clients: Record<string, unknown>[] };
    section.clients.push(
      { id: INTROSPECTOR.id, secret: SECRETS.clientSecretHash, accessTokenTtl: '1h', refreshTokenTtl: '1h', grants: ['password'], introspect: true },
      { id: 'monitoring', secret: SECRETS.clientSecretHash, accessTokenTtl: '15m', grants: ['client_credentials'], serviceIdentity: { name: 'svc-monitoring', teams: ['noc'] } },
    );
  },
});

const OPERATOR = { username: 'my-operator', password: SECRETS.operatorPassword };

describe('oauth4webapi', () => {
  const options = { [oauth.allowInsecureRequests]: true };
  const client: oauth.Client = { client_id: 'public-api' };
  const auth = () => oauth.ClientSecretBasic(SECRETS.clientSecret);
  const metadata = async () => (await send(`${t.url}/.well-known/oauth-authorization-server`)).json as unknown as oauth.AuthorizationServer;

  it('gets a token with the password grant, refreshes it, introspects and revokes it', async () => {
    const as = await metadata();
    const issued = await oauth.processGenericTokenEndpointResponse(
      as,
      client,
      await oauth.genericTokenEndpointRequest(as, client, auth(), 'password', new URLSearchParams({ ...OPERATOR, scope: 'public-api' }), options),
    );
    expect(issued).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'public-api' });
    expect((await bearerGet(t.url, issued.access_token, '/api/dashboard')).status).toBe(200);

    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth(), issued.refresh_token!, options));
    expect(refreshed.refresh_token).not.toBe(issued.refresh_token);

    const introspector: oauth.Client = { client_id: INTROSPECTOR.id };
    const introspectorAuth = oauth.ClientSecretBasic(INTROSPECTOR.secret);
    const live = await oauth.processIntrospectionResponse(as, introspector, await oauth.introspectionRequest(as, introspector, introspectorAuth, refreshed.access_token, options));
    expect(live).toMatchObject({ active: true, client_id: 'public-api', username: 'my-operator' });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth(), refreshed.refresh_token!, { ...options, additionalParameters: { token_type_hint: 'refresh_token' } }));
    const gone = await oauth.processIntrospectionResponse(as, introspector, await oauth.introspectionRequest(as, introspector, introspectorAuth, refreshed.access_token, options));
    expect(gone).toEqual({ active: false });
    expect((await bearerGet(t.url, refreshed.access_token, '/api/dashboard')).status).toBe(401);
    // The spent refresh token of the first answer is refused as an OAuth error the library reads.
    await expect(
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth(), issued.refresh_token!, options)),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('reads a wrong client secret as the RFC 6749 §5.2 error', async () => {
    const as = await metadata();
    const response = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic('wrong'), 'password', new URLSearchParams({ ...OPERATOR }), options);
    const refused = await oauth.processGenericTokenEndpointResponse(as, client, response).catch((error: unknown) => error);
    // The library reads the Basic challenge of the 401 first (RFC 6749 §5.2), then the body it carries.
    expect(refused).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(refused).toMatchObject({ status: 401, cause: [{ scheme: 'basic', parameters: { realm: 'portcullis' } }] });
    expect(await (refused as oauth.WWWAuthenticateChallengeError).response.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });
});

describe('simple-oauth2', () => {
  const passwordClient = () =>
    new ResourceOwnerPassword({
      client: { id: 'public-api', secret: SECRETS.clientSecret },
      auth: { tokenHost: t.url, tokenPath: '/oauth/token', revokePath: '/oauth/revoke' },
    });

  it('gets a token with the password grant, refreshes it and revokes everything', async () => {
    const issued = await passwordClient().getToken({ ...OPERATOR, scope: 'public-api' });
    expect(issued.token).toMatchObject({ token_type: 'Bearer', scope: 'public-api' });
    const access = issued.token['access_token'] as string;
    expect((await bearerGet(t.url, access, '/api/dashboard')).status).toBe(200);

    const refreshed = await issued.refresh();
    const next = refreshed.token['access_token'] as string;
    expect((await bearerGet(t.url, next, '/api/dashboard')).status).toBe(200);
    await refreshed.revokeAll();
    expect((await bearerGet(t.url, next, '/api/dashboard')).status).toBe(401);
    await expect(refreshed.refresh()).rejects.toMatchObject({ output: { statusCode: 400 } });
  });

  it('gets a token for a service with the client_credentials grant, and no refresh token', async () => {
    const service = new ClientCredentials({ client: { id: 'monitoring', secret: SECRETS.clientSecret }, auth: { tokenHost: t.url, tokenPath: '/oauth/token', revokePath: '/oauth/revoke' } });
    const issued = await service.getToken({ scope: 'public-api' });
    expect(issued.token).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'public-api' });
    expect(issued.token['refresh_token']).toBeUndefined();
    const reply = await bearerGet(t.url, issued.token['access_token'] as string, '/api/dashboard');
    expect(reply.status).toBe(200);
    expect(t.upstream.requests.at(-1)?.headers['x-portcullis-user']).toBe('svc-monitoring');
    await issued.revoke('access_token');
    expect((await bearerGet(t.url, issued.token['access_token'] as string, '/api/dashboard')).status).toBe(401);
  });

  it('reads a wrong operator password as invalid_grant', async () => {
    await expect(passwordClient().getToken({ username: 'my-operator', password: 'wrong', scope: 'public-api' })).rejects.toMatchObject({
      output: { statusCode: 400 },
      data: { payload: { error: 'invalid_grant' } },
    });
  });
});

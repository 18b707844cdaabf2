// The plain-HTTP listener beside a TLS one (listen.httpRedirect): a browser's GET is sent on to the https origin
// with a 308; anything carrying credentials, a body, or aimed at the proxy's own endpoints is refused with 400
// https_required and nothing reaches the upstream. Without listen.tls the setting is refused at load.

import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { baseConfig, loadTestConfig, withPcr } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { rawRequest } from '../helpers/raw-http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { tlsFiles, trustCaInSuite, withListenerTls, type TlsFiles } from '../helpers/tls-proxy.js';

let files: TlsFiles;
const t = testProxyForSuite(async () => {
  files = await tlsFiles();
  return withPcr((config) => {
    withListenerTls(files)(config);
    (config['listen'] as Record<string, unknown>)['httpRedirect'] = { port: 0 };
  });
});
trustCaInSuite(() => files.ca.certPem);

const redirectUrl = () => t.proxy.redirectUrl!;

describe('the plain-HTTP redirect listener', () => {
  it('redirects a GET without credentials to the same path on the https origin', async () => {
    expect(redirectUrl()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(redirectUrl()).port);
    const answer = await rawRequest(port, 'GET /tickets/view?page=2 HTTP/1.1\r\nHost: portal.example:80\r\nCookie: theme=dark\r\n\r\n');
    expect(answer.status).toBe(308);
    expect(answer.headers['location']).toBe(`https://portal.example:${t.port}/tickets/view?page=2`);
    expect(answer.headers['strict-transport-security']).toBeUndefined();
  });

  it('lands on the TLS listener when followed', async () => {
    const answer = await send(`${redirectUrl()}/?from=plain`);
    expect(answer.status).toBe(200);
    expect(t.upstream.requests.at(-1)!.url).toBe('/?from=plain');
    expect(t.upstream.requests.at(-1)!.headers['x-forwarded-proto']).toBe('https');
  });

  it.each([
    ['a bearer token', '/api/tickets', { authorization: 'Bearer abc' }],
    ['Basic client credentials', '/', { authorization: 'Basic cHVibGljLWFwaTpzZWNyZXQ=' }],
    ['a PCR-360 login', '/', { 'PCR-AUTH-USERNAME': 'api-user', 'PCR-AUTH-PASSWORD': 'x' }],
    ['a PCR-360 session token', '/', { 'PCR-AUTH-TOKEN': 'abc' }],
    ['a key in the path', `/api/${SECRETS.rwKey}/servicedesk.json`, {}],
    ['the token endpoint', '/oauth/token', {}],
    ['the metadata document', '/.well-known/oauth-authorization-server', {}],
    ['the health probe', '/healthz', {}],
  ])('refuses a GET with %s, forwarding nothing', async (_what, path, headers) => {
    const before = t.upstream.requests.length;
    const answer = await send(`${redirectUrl()}${path}`, { redirect: 'manual', headers });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: 'invalid_request', reason: 'https_required' });
    expect(answer.headers.get('location')).toBeNull();
    expect(t.upstream.requests.length).toBe(before);
  });

  it('refuses a POST, such as a token request, without redirecting it', async () => {
    const answer = await send(`${redirectUrl()}/oauth/token`, { method: 'POST', redirect: 'manual', body: 'grant_type=password&username=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(answer.status).toBe(400);
    expect(answer.json.reason).toBe('https_required');
  });

  it('is refused at load without listen.tls', async () => {
    const raw = baseConfig('http://127.0.0.1:9');
    (raw['listen'] as Record<string, unknown>)['httpRedirect'] = { port: 0 };
    await expect(loadTestConfig(raw)).rejects.toThrow(/listen\.httpRedirect: a redirect to https needs listen\.tls/);
  });
});

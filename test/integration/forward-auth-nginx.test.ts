// Forward-auth behind a real nginx (`auth_request`), configured with the very snippet the README shows: the
// vendor flows (OAuth password and refresh grants, bearer requests; PCR-360 anonymous keys, header login, session
// tokens, logout) work through it, the portal sees only Portcullis's identity headers and never a client
// credential, and nginx's own path handling never lets through what Portcullis denies in line.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { OPERATOR_IDENTITY, PCR_ENV } from '../helpers/fixtures.js';
import { askForwardAuth, expectSameDenial, FORWARD_AUTH_PATH, FORWARD_PATH_HEADER, forwardAuthProxy, identityOf, inline, rawCall, reasonOf, type HeaderLines } from '../helpers/forward-auth.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { describeNginx, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { DEMO_CLIENT_AUTH, login, refreshGrant, tokenRequest } from '../helpers/oauth.js';
import { pcrLoginHeaders } from '../helpers/pcr.js';
import { send } from '../helpers/http.js';
import type { RawResponse } from '../helpers/raw-http.js';

const README_HEADING = '## Forward-auth: beside nginx, Traefik or Envoy';
/** The addresses the README's snippet is written for, replaced by the test's. */
const README_PORTCULLIS = 'server 127.0.0.1:8080;';
const README_PORTAL = 'server 127.0.0.1:8081;';
const README_LISTEN = 'listen 127.0.0.1:80;';

/** The nginx block of the README's forward-auth section, as an operator would copy it. */
function readmeNginxSnippet(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.indexOf(README_HEADING);
  expect(section, 'the README has no forward-auth section').toBeGreaterThanOrEqual(0);
  const start = readme.indexOf('```nginx\n', section);
  const end = readme.indexOf('\n```', start + 1);
  expect(start, 'the forward-auth section has no nginx block').toBeGreaterThan(section);
  return readme.slice(start + '```nginx\n'.length, end);
}

function replaceOnce(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1, `the README's nginx block should contain "${from}" once`).toBe(1);
  return text.replace(from, to);
}

describeNginx('forward-auth behind nginx auth_request, with the README config', () => {
  const t = testProxyForSuite(forwardAuthProxy({ path: FORWARD_AUTH_PATH, rewrittenPaths: 'header' }, ['127.0.0.1']));
  let snippet: string;
  let nginx: RunningNginx;

  beforeAll(async () => {
    snippet = readmeNginxSnippet();
    nginx = await startNginx((listenPort) => {
      let config = replaceOnce(snippet, README_PORTCULLIS, `server 127.0.0.1:${t.port};`);
      config = replaceOnce(config, README_PORTAL, `server 127.0.0.1:${t.upstream.port};`);
      return replaceOnce(config, README_LISTEN, `listen 127.0.0.1:${listenPort};`);
    });
  });
  afterAll(async () => {
    await nginx?.close();
  });
  resetBeforeEachTest(t, { clock: true });

  const identityNames = () => Object.values(t.proxy.runtime.identityNames);
  const viaNginx = (method: string, target: string, headers: HeaderLines = []) => rawCall(nginx.port, method, target, headers);
  /** Forward-auth decisions Portcullis logged so far: tells whether nginx asked at all. */
  const decisionsLogged = () => t.logLines.filter((line) => line.includes('"route":"forward-auth"')).length;

  /** Nothing the client authenticated with, in any form, reached the portal. */
  function expectNoClientCredential(requests: readonly RecordedRequest[], credentials: readonly string[]): void {
    for (const request of requests) {
      const seen = `${request.url}\n${request.rawHeaders.join('\n')}\n${request.body.toString('latin1')}`;
      for (const credential of credentials) expect(seen, `the portal saw a client credential in ${request.method} ${request.url}`).not.toContain(credential);
      for (const name of ['authorization', 'proxy-authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password', FORWARD_PATH_HEADER]) expect(request.headers[name]).toBeUndefined();
      // Under the owned prefix, only the identity headers Portcullis set, each once.
      const owned = request.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase().replace(/[_.]/g, '-')).filter((name) => name.startsWith('x-portcullis-'));
      expect(new Set(owned).size, request.url).toBe(owned.length);
      for (const name of owned) expect(identityNames(), `${request.url}: ${name}`).toContain(name);
    }
  }

  it("sets every identity header the proxy can vouch for, from Portcullis's answer only", () => {
    for (const name of identityNames()) {
      expect(snippet.toLowerCase(), name).toContain(`$upstream_http_${name.replaceAll('-', '_')};`);
      expect(snippet.toLowerCase(), name).toMatch(new RegExp(`proxy_set_header ${name} \\$portcullis_`));
    }
  });

  it('Cockpit ITSM: password grant, refresh, bearer GET /api/dashboard; the portal sees the identity, not the token', async () => {
    const granted = await login(nginx.url);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    const refreshed = await refreshGrant(nginx.url, granted.body['refresh_token'] as string);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const token = refreshed.body['access_token'] as string;
    expect(t.upstream.requests, 'the token endpoint was forwarded to the portal').toHaveLength(0);

    const reply = await send(`${nginx.url}/api/dashboard`, { headers: { authorization: `Bearer ${token}`, 'cache-control': 'no-cache' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ok: true, method: 'GET', url: '/api/dashboard' });
    expect(t.upstream.requests).toHaveLength(1);
    const seen = t.upstream.requests[0]!;
    expect(identityOf(seen.headers, identityNames())).toEqual(OPERATOR_IDENTITY);
    expect(seen.headers['cache-control']).toBe('no-cache');
    expectNoClientCredential(t.upstream.requests, [token, granted.body['access_token'] as string, granted.body['refresh_token'] as string, refreshed.body['refresh_token'] as string]);

    // The spent refresh token is refused by the token endpoint, through nginx as directly.
    const reused = await tokenRequest(nginx.url, { grant_type: 'refresh_token', refresh_token: granted.body['refresh_token'] as string }, DEMO_CLIENT_AUTH);
    expect(reused.status).toBe(400);
  });

  it('a client-forged identity header never reaches the portal: refused, or dropped by nginx itself', async () => {
    const token = (await login(nginx.url)).body['access_token'] as string;
    for (const forged of [['X-Portcullis-User', 'admin'], ['X-Portcullis-Teams', 'root'], ['X-Portcullis-Something', 'x'], ['X-Portcullis-Forward-Path', '/admin']] as const) {
      const reply = await viaNginx('GET', '/api/dashboard', [['Authorization', `Bearer ${token}`], forged]);
      expect({ status: reply.status, reason: reasonOf(reply) }, forged[0]).toEqual({ status: 400, reason: 'forward_auth_header_refused' });
    }
    expect(t.upstream.requests).toHaveLength(0);
    // nginx drops header names with underscores before anyone sees them.
    const underscored = await viaNginx('GET', '/api/dashboard', [['Authorization', `Bearer ${token}`], ['X_Portcullis_User', 'admin']]);
    expect(underscored.status, underscored.body).toBe(200);
    expect(t.upstream.requests[0]!.rawHeaders.join('\n')).not.toMatch(/admin/);
    expect(identityOf(t.upstream.requests[0]!.headers, identityNames())).toEqual(OPERATOR_IDENTITY);
  });

  it('PCR-360: anonymous key reads and writes, header login, per-section session use, logout', async () => {
    const ro = await viaNginx('GET', `/api/${SECRETS.roKey}/servicedesk.json?limit=5`);
    expect(ro.status, ro.body).toBe(200);
    expect(t.upstream.requests.at(-1)!.url).toBe('/api/servicedesk.json?limit=5');
    expect(t.upstream.requests.at(-1)!.headers).toMatchObject({ 'x-portcullis-auth': 'api-key', 'x-portcullis-api-key-id': 'demo-ro', 'x-portcullis-section': 'servicedesk', 'x-portcullis-access': 'read' });
    const legacy = await viaNginx('GET', `/api/${PCR_ENV.PCR_LEGACY_KEY}/equipment.xml`);
    expect(legacy.status, legacy.body).toBe(200);
    expect(t.upstream.requests.at(-1)!.url).toBe(`/api/${PCR_ENV.PCR_UPSTREAM_KEY}/equipment.xml`);

    const roWrite = await viaNginx('POST', `/api/${SECRETS.roKey}/servicedesk.json`);
    expectSameDenial(await inline(t.port, 'POST', `/api/${SECRETS.roKey}/servicedesk.json`), roWrite, 'read-only key writing');
    expect(reasonOf(roWrite)).toBe('key_lacks_write');

    const before = t.upstream.requests.length;
    const loggedIn = await send(`${nginx.url}/api/${SECRETS.rwKey}/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('api-user') });
    expect(loggedIn.status, loggedIn.text).toBe(200);
    const session = (loggedIn.json as { token: string }).token;
    expect(t.upstream.requests, 'the login was forwarded to the portal').toHaveLength(before);

    const read = await viaNginx('GET', `/api/${SECRETS.rwKey}/servicedesk.SO.json`, [['PCR-AUTH-TOKEN', session]]);
    expect(read.status, read.body).toBe(200);
    expect(t.upstream.requests.at(-1)!.headers).toMatchObject({ 'x-portcullis-auth': 'api-session', 'x-portcullis-user': 'api-user', 'x-portcullis-access': 'read' });
    const sql = await send(`${nginx.url}/api/${SECRETS.rwKey}/sql.json`, { method: 'POST', headers: { 'PCR-AUTH-TOKEN': session, 'content-type': 'application/x-www-form-urlencoded' }, body: 'sql=SELECT+*+FROM+services' });
    expect(sql.status, sql.text).toBe(200);
    expect(t.upstream.requests.at(-1)!.body.toString()).toBe('sql=SELECT+*+FROM+services');
    const write = await viaNginx('POST', `/api/${SECRETS.rwKey}/equipment.json`, [['PCR-AUTH-TOKEN', session]]);
    expect(write.status, write.body).toBe(200);
    expect(t.upstream.requests.at(-1)!.headers).toMatchObject({ 'x-portcullis-section': 'equipment', 'x-portcullis-access': 'write' });

    const loggedOut = await send(`${nginx.url}/api/${SECRETS.rwKey}/authlogout.json`, { method: 'POST', headers: { 'PCR-AUTH-TOKEN': session } });
    expect(loggedOut.status, loggedOut.text).toBe(200);
    const ended = await viaNginx('GET', `/api/${SECRETS.rwKey}/servicedesk.xml`, [['PCR-AUTH-TOKEN', session]]);
    expectSameDenial(await inline(t.port, 'GET', `/api/${SECRETS.rwKey}/servicedesk.xml`, [['PCR-AUTH-TOKEN', session]]), ended, 'after logout');
    expect(reasonOf(ended)).toBe('session_ended');

    expectNoClientCredential(t.upstream.requests, [SECRETS.roKey, SECRETS.rwKey, PCR_ENV.PCR_LEGACY_KEY, session, SECRETS.apiUserPassword]);
  });

  it("denials reach the client as Portcullis wrote them: status, body, challenge, Allow", async () => {
    const token = (await login(nginx.url)).body['access_token'] as string;
    const cases: Array<[string, string, HeaderLines]> = [
      ['GET', '/api/dashboard', []],
      ['GET', '/api/dashboard', [['Authorization', 'Bearer not.a.token']]],
      ['GET', '/api/dashboard', [['Authorization', 'Basic dXNlcjpwYXNz']]],
      ['GET', `/api/${SECRETS.roKey}/servicedesk.json`, [['Authorization', `Bearer ${token}`]]],
      ['GET', '/nowhere', [['Authorization', `Bearer ${token}`]]],
      ['DELETE', '/', []],
      ['GET', `/api/${SECRETS.roKey}/equipment.php`, []],
      ['GET', '/api/no-such-key-0123456789/servicedesk.xml', []],
    ];
    for (const [method, target, headers] of cases) {
      expectSameDenial(await inline(t.port, method, target, headers), await viaNginx(method, target, headers), `${method} ${target}`);
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('two Authorization headers never reach the portal', async () => {
    const token = (await login(nginx.url)).body['access_token'] as string;
    const reply = await viaNginx('GET', '/api/dashboard', [['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]]);
    expect(reply.status).toBe(400);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it("nginx's own path handling never decides differently from Portcullis, and nothing Portcullis denies in line is forwarded", async () => {
    const token = (await login(nginx.url)).body['access_token'] as string;
    const bearerPaths = [
      '/api/dashboard',
      '//api/dashboard',
      '/api//dashboard',
      '/api/./dashboard',
      '/api/%2e/dashboard',
      '/api/x/../dashboard',
      '/api/x/%2e%2e/dashboard',
      '/api/x/%2E%2E/dashboard',
      '/api%2Fdashboard',
      '/api/x%2F..%2Fdashboard',
      '/api/%2e%2e%2fdocs',
      '/%61pi/dashboard',
      '/api/dash%62oard?x=../..',
      '/docs/../api/dashboard',
      '/docs/%2e%2e/api/dashboard',
      '/docs/..%2Fapi/dashboard',
      '/oauth/token/../../api/dashboard',
      '/api/../oauth/token',
      '/api/dashboard/..',
      '/api/dashboard/.',
      '/api/dashboard%00',
      '/api/dashboard%3F.json',
      '/api/%25%32%65%25%32%65/dashboard',
      '/API/dashboard',
      '/api/dashboard;a=b',
      '/api/dashboard/',
    ];
    const keyPaths = [
      `/api/${SECRETS.roKey}/servicedesk.json`,
      `/api/${SECRETS.roKey}//servicedesk.json`,
      `/api/x/../${SECRETS.roKey}/servicedesk.json`,
      `/api/${SECRETS.roKey}/%2e%2e/${SECRETS.roKey}/servicedesk.json`,
      `/api/${SECRETS.roKey}/servicedesk.json/../equipment.json`,
      `/api/${SECRETS.roKey}/%73ervicedesk.json`,
      `/api/${SECRETS.roKey}%2Fservicedesk.json`,
      `/docs/../api/${SECRETS.roKey}/servicedesk.json`,
      `/api/${SECRETS.rwKey}/x/../authlogin.json`,
      `/api/${SECRETS.roKey}/authlogin.json/../servicedesk.json`,
    ];
    const cases: Array<[string, string, HeaderLines]> = [
      ...bearerPaths.map((path): [string, string, HeaderLines] => ['GET', path, [['Authorization', `Bearer ${token}`]]]),
      ...keyPaths.flatMap((path): Array<[string, string, HeaderLines]> => [['GET', path, []], ['POST', path, []]]),
    ];
    let forwardedByNginx = 0;
    for (const [method, target, headers] of cases) {
      const label = `${method} ${target}`;
      const inlineAnswer = await inline(t.port, method, target, headers);
      const upstreamBefore = t.upstream.requests.length;
      const asked = await askForwardAuth(t.port, 'nginx', method, target, headers);
      expect(asked.status, `${label}: forward-auth and in line disagree`).toBe(inlineAnswer.status);
      const decisionsBefore = decisionsLogged();
      const answered: RawResponse = await viaNginx(method, target, headers);
      // The decision's log line is written when Portcullis's answer is closed, a moment after nginx got it.
      await sleep(20);
      const nginxAsked = decisionsLogged() > decisionsBefore;
      const reached = t.upstream.requests.slice(upstreamBefore);
      if (reached.length > 0) {
        forwardedByNginx++;
        expect(asked.status, `${label}: nginx forwarded what Portcullis denies`).toBe(200);
        expect(reached.map((r) => r.url), label).toEqual([asked.headers[FORWARD_PATH_HEADER]]);
        expect(answered.status, label).toBe(200);
      } else if (nginxAsked) {
        expect(asked.status, `${label}: Portcullis allows it, yet nginx forwarded nothing`).not.toBe(200);
        expect(answered.status, `${label}: nginx answered otherwise than Portcullis decided (${answered.body})`).toBe(asked.status);
      } else {
        // nginx refused the request itself, or its location sent it to one of Portcullis's own endpoints in line.
        expect(answered.status, `${label}: answered without asking Portcullis (${answered.body})`).toBeGreaterThanOrEqual(400);
      }
    }
    expect(forwardedByNginx, 'no tricky path passed at all: the property tested nothing').toBeGreaterThan(3);
    expect(nginx.errors()).not.toMatch(/\[(emerg|alert|crit)\]/);
  });
});

// What the proxy logs while clients present every kind of credential it knows: no secret reaches a log line,
// while each request line still says route, outcome, reason, status, latency and upstream status.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maskQuery } from '../../src/observability/request-log.js';
import { SECRETS } from '../fixtures/secrets.js';
import { loadPcrConfig, PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { statusOf } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, login, refreshGrant } from '../helpers/oauth.js';
import { pcrLogin, pcrLoginHeaders } from '../helpers/pcr.js';

interface LogLine {
  msg?: string;
  method?: string;
  path?: string | null;
  route?: string | null;
  outcome?: string;
  reason?: string | null;
  status?: number;
  ms?: number;
  upstreamStatus?: number | null;
  upstreamMs?: number | null;
  [field: string]: unknown;
}

const random = (): string => randomBytes(12).toString('hex');

describe('log lines never carry credentials', () => {
  const t = testProxyForSuite(withPcr());
  const secrets: string[] = [
    SECRETS.clientSecret,
    SECRETS.operatorPassword,
    SECRETS.apiUserPassword,
    SECRETS.rwKey,
    SECRETS.roKey,
    PCR_ENV.PCR_LEGACY_KEY,
    PCR_ENV.PCR_UPSTREAM_KEY,
    // The Basic header's own text, not only the secret inside it.
    basicAuth('public-api', SECRETS.clientSecret).slice('Basic '.length),
    'my-operator',
    'api-user',
  ];

  function lines(): LogLine[] {
    return t.logLines.map((line) => JSON.parse(line) as LogLine);
  }

  function requestLines(): LogLine[] {
    return lines().filter((line) => line.msg === 'request');
  }

  it('logs route, outcome, reason, status and latencies but no credential', async () => {
    const queryToken = `qt-${random()}`;
    const queryPassword = `qp-${random()}`;
    const queryKey = `qk-${random()}`;
    const wrongPassword = `wrong-${random()}`;
    const wrongBearer = `bearer-${random()}`;
    secrets.push(queryToken, queryPassword, queryKey, wrongPassword, wrongBearer);

    // OAuth: Basic client secret, password grant, refresh token in the body, bearer token.
    const granted = await login(t.url);
    expect(granted.status).toBe(200);
    const accessToken = granted.body['access_token'] as string;
    const refreshToken = granted.body['refresh_token'] as string;
    const refreshed = await refreshGrant(t.url, refreshToken);
    expect(refreshed.status).toBe(200);
    secrets.push(accessToken, refreshToken, refreshed.body['access_token'] as string, refreshed.body['refresh_token'] as string);

    const bearer = { authorization: `Bearer ${refreshed.body['access_token'] as string}` };
    expect(await statusOf(t, `/api/tickets?token=${queryToken}&password=${queryPassword}&api_key=${queryKey}&q=open`, { headers: bearer })).toBe(200);
    expect(await statusOf(t, `/api/tickets?access_token=${accessToken}`)).toBe(401);
    expect(await statusOf(t, '/api/tickets', { headers: { authorization: `Bearer ${wrongBearer}` } })).toBe(401);
    // A reused refresh token (which revokes its family) and a wrong password: their lines must not echo them either.
    expect((await refreshGrant(t.url, refreshToken)).status).toBe(400);
    expect((await login(t.url, { password: wrongPassword })).status).toBe(400);

    // PCR-360: keys in the path, header login, session token, logout.
    expect(await statusOf(t, `/api/${SECRETS.roKey}/servicedesk.json?key=${queryKey}`)).toBe(200);
    expect(await statusOf(t, `/api/${PCR_ENV.PCR_LEGACY_KEY}/rpt/42.pdf`)).toBe(200);
    expect(await statusOf(t, `/api/${SECRETS.roKey}/servicedesk.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).toBe(403);
    const sessionToken = await pcrLogin(t.url);
    secrets.push(sessionToken);
    expect(await statusOf(t, `/api/${SECRETS.rwKey}/authlogin.json`, { method: 'POST', headers: pcrLoginHeaders('api-user', wrongPassword) })).toBe(401);
    expect(await statusOf(t, `/api/${SECRETS.rwKey}/servicedesk.json`, { headers: { 'PCR-AUTH-TOKEN': sessionToken } })).toBe(200);
    expect(await statusOf(t, `/api/${SECRETS.rwKey}/servicedesk.json`, { headers: { 'PCR-AUTH-TOKEN': wrongBearer } })).toBe(401);
    expect(await statusOf(t, `/api/${SECRETS.rwKey}/authlogout.json`, { method: 'POST', headers: { 'PCR-AUTH-TOKEN': sessionToken } })).toBe(200);

    // Reloads log too: an applied one and a refused one.
    await t.proxy.reload(await loadPcrConfig(t.upstream.url));
    t.proxy.reloadFailed(['routes[0].path: expected a path']);

    await expect.poll(() => requestLines().length).toBe(15);
    for (const line of t.logLines) {
      for (const secret of secrets) expect(line.includes(secret), `a credential was logged: ${line}`).toBe(false);
    }

    const all = lines();
    expect(all.some((line) => line.msg === 'listening')).toBe(true);
    expect(all.some((line) => line.msg === 'config reloaded')).toBe(true);
    expect(all.some((line) => line.msg === 'config reload failed; keeping the running config')).toBe(true);

    const requests = requestLines();
    for (const line of requests) {
      for (const field of ['method', 'path', 'route', 'outcome', 'reason', 'status', 'ms', 'upstreamStatus', 'upstreamMs']) expect(line, field).toHaveProperty(field);
      expect(typeof line.ms).toBe('number');
    }
    const forwardedBearer = requests.find((line) => line.path?.startsWith('/api/tickets?'));
    expect(forwardedBearer).toMatchObject({
      method: 'GET',
      path: '/api/tickets?token=***&password=***&api_key=***&q=open',
      route: 'api',
      outcome: 'forwarded',
      reason: null,
      status: 200,
      upstreamStatus: 200,
    });
    expect(forwardedBearer!.upstreamMs).toBeGreaterThanOrEqual(0);
    expect(requests.filter((line) => line.route === 'oauth-token').map((line) => [line.outcome, line.reason, line.status])).toEqual([
      ['own', 'token_issued', 200],
      ['own', 'token_issued', 200],
      ['denied', 'refresh_token_reused', 400],
      ['denied', 'login_failed', 400],
    ]);
    expect(requests.find((line) => line.reason === 'token_malformed')).toMatchObject({ route: 'api', outcome: 'denied', status: 401, upstreamStatus: null });
    expect(requests.find((line) => line.path === '/api/tickets?access_token=***')).toMatchObject({ outcome: 'denied', reason: 'credentials_missing', status: 401 });
    expect(requests.find((line) => line.path === '/api/***/servicedesk.json?key=***')).toMatchObject({ route: 'api', outcome: 'forwarded', status: 200, upstreamStatus: 200 });
    expect(requests.find((line) => line.path === '/api/***/rpt/42.pdf')).toMatchObject({ outcome: 'forwarded', status: 200 });
    expect(requests.find((line) => line.reason === 'key_lacks_write')).toMatchObject({ method: 'POST', path: '/api/***/servicedesk.json', status: 403 });
    expect(requests.filter((line) => line.route === 'pcr-login').map((line) => [line.outcome, line.reason, line.status])).toEqual([
      ['own', 'session_created', 200],
      ['denied', 'login_failed', 401],
    ]);
    expect(requests.find((line) => line.route === 'pcr-logout')).toMatchObject({ path: '/api/***/authlogout.json', outcome: 'own', reason: 'session_ended_by_logout', status: 200 });
    expect(requests.find((line) => line.reason === 'session_token_invalid')).toMatchObject({ outcome: 'denied', status: 401 });
  });
});

describe('maskQuery', () => {
  it('masks values of credential-like parameters and JWT-shaped values, keeps the rest', () => {
    expect(maskQuery('/api/x')).toBe('');
    expect(maskQuery('/api/x?')).toBe('');
    expect(maskQuery('/api/x?q=open&page=2')).toBe('?q=open&page=2');
    expect(maskQuery('/api/x?token=abc&Password=p&apiKey=k&client_secret=s&sessionId=1&sig=z&username=u')).toBe(
      '?token=***&Password=***&apiKey=***&client_secret=***&sessionId=***&sig=***&username=***',
    );
    // Encoded parameter names are judged by what they decode to.
    expect(maskQuery('/api/x?%74oken=abc&pass%77ord=p')).toBe('?%74oken=***&pass%77ord=***');
    expect(maskQuery('/api/x?filter=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe('?filter=***');
    expect(maskQuery('/api/x?0123456789abcdef0123&flag')).toBe('?***&flag');
    expect(maskQuery('/api/x?a=1;token=t&b=2')).toBe('?a=1;token=***&b=2');
    expect(maskQuery(`/api/x?q=${'a'.repeat(600)}`)).toHaveLength(1 + 512 + 3);
  });
});

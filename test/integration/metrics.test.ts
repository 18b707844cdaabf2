// The Prometheus metrics of a real proxy, scraped from the admin listener: exact counts for a known mix of
// requests, token grants, PCR logins and reloads; no label carrying a path, a user, a key or a token; and a
// series count that does not grow however many distinct paths, keys and methods clients send.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError } from '../../src/store/store.js';
import { SECRETS } from '../fixtures/secrets.js';
import { loadPcrConfig, withPcr } from '../helpers/fixtures.js';
import { statusOf } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, login, refreshGrant, tokenRequest } from '../helpers/oauth.js';
import { pcrLoginRequest } from '../helpers/pcr.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { memoryStoreOptions } from '../helpers/store-options.js';
import type { ReasonId } from '../../src/errors/reasons.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels; 0 when the series does not exist. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  const found = samples.filter(
    (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length, `${name}${JSON.stringify(labels)} matched ${found.length} series`).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

async function scrape(t: TestProxy): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${t.proxy.adminUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, samples: parseExposition(text) };
}

function portcullisSeries(text: string): number {
  return text.split('\n').filter((line) => line.startsWith('portcullis_')).length;
}

const random = (): string => randomBytes(9).toString('hex');

describe('metrics of a running proxy', () => {
  const metrics = new Metrics();
  const t = testProxyForSuite({ ...withPcr(), hooks: metrics.hooks() });
  /** Every credential, user name and client-chosen path segment used below: none may appear in the exposition. */
  const forbidden: string[] = [
    SECRETS.rwKey,
    SECRETS.roKey,
    SECRETS.clientSecret,
    SECRETS.operatorPassword,
    SECRETS.apiUserPassword,
    'my-operator',
    'api-user',
  ];
  let accessToken = '';
  let sessionToken = '';

  it('counts requests, denials, grants, logins, caches, store operations and reloads exactly', async () => {
    const wrongPassword = `wrong-${random()}`;
    const intruderClient = `intruder-${random()}`;
    const intruderSecret = `intruder-secret-${random()}`;
    const garbageToken = `garbage-${random()}`;
    const unknownKey = `unknown-key-${random()}`;
    const nowhere = `/nowhere-${random()}`;
    forbidden.push(wrongPassword, intruderClient, intruderSecret, garbageToken, unknownKey, nowhere);

    // OAuth face: a password grant, a refresh, a wrong password and an unknown client.
    const granted = await login(t.url);
    expect(granted.status).toBe(200);
    accessToken = granted.body['access_token'] as string;
    const refreshToken = granted.body['refresh_token'] as string;
    const refreshed = await refreshGrant(t.url, refreshToken);
    expect(refreshed.status).toBe(200);
    forbidden.push(accessToken, refreshToken, refreshed.body['access_token'] as string, refreshed.body['refresh_token'] as string);
    expect((await login(t.url, { password: wrongPassword })).status).toBe(400);
    const intruder = { grant_type: 'password', scope: 'public-api', username: 'my-operator', password: SECRETS.operatorPassword };
    expect((await tokenRequest(t.url, intruder, { authorization: basicAuth(intruderClient, intruderSecret) })).status).toBe(401);

    // Bearer requests: three forwarded, then one denial of each kind.
    const bearer = { authorization: `Bearer ${accessToken}` };
    for (let i = 0; i < 3; i++) expect(await statusOf(t, '/api/tickets', { headers: bearer })).toBe(200);
    expect(await statusOf(t, '/api/tickets')).toBe(401); // credentials_missing
    expect(await statusOf(t, '/api/tickets', { headers: { authorization: 'Basic Zm9vOmJhcg==' } })).toBe(401); // scheme_unsupported
    expect(await statusOf(t, '/api/tickets', { headers: { authorization: `Bearer ${garbageToken}` } })).toBe(401); // token_malformed
    expect(await statusOf(t, nowhere)).toBe(404); // route_not_found, no route
    expect(await statusOf(t, '/', { method: 'DELETE' })).toBe(405); // method_not_allowed on portal-home
    expect(await statusOf(t, '/api/tickets', { method: 'PROPFIND', headers: bearer })).toBe(405); // an unlisted method
    expect(await statusOf(t, '/healthz')).toBe(200);

    // PCR-360 face: a key in the path, a key without write access, an unknown key, logins, a token, a logout.
    expect(await statusOf(t, `/api/${SECRETS.roKey}/servicedesk.json`)).toBe(200);
    expect(await statusOf(t, `/api/${SECRETS.roKey}/servicedesk.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).toBe(403);
    expect(await statusOf(t, `/api/${unknownKey}/servicedesk.json`)).toBe(401);
    const pcrLogin = async (password: string): Promise<string | null> => {
      const reply = await pcrLoginRequest(t.url, SECRETS.rwKey, 'api-user', { password });
      return reply.status === 200 ? (reply.json as { token: string }).token : null;
    };
    sessionToken = (await pcrLogin(SECRETS.apiUserPassword))!;
    const secondSession = (await pcrLogin(SECRETS.apiUserPassword))!;
    expect(await pcrLogin(wrongPassword)).toBeNull();
    forbidden.push(sessionToken, secondSession);
    for (let i = 0; i < 2; i++) expect(await statusOf(t, `/api/${SECRETS.rwKey}/servicedesk.json`, { headers: { 'PCR-AUTH-TOKEN': sessionToken } })).toBe(200);
    expect(await statusOf(t, `/api/${SECRETS.rwKey}/authlogout.json`, { method: 'POST', headers: { 'PCR-AUTH-TOKEN': secondSession } })).toBe(200);

    // A reload that keeps the token settings keeps the PCR face's verified session tokens, and their counts.
    const oldSessionCache = t.proxy.runtime.faces.find((face) => face.id === 'pcr')!.tokenCaches!['session'];
    await t.proxy.reload(await loadPcrConfig(t.upstream.url));
    t.proxy.reloadFailed(['routes[0].path: a problem']);
    const newSessionCache = t.proxy.runtime.faces.find((face) => face.id === 'pcr')!.tokenCaches!['session'];
    expect(newSessionCache).toBe(oldSessionCache);
    expect(await statusOf(t, `/api/${SECRETS.rwKey}/servicedesk.json`, { headers: { 'PCR-AUTH-TOKEN': sessionToken } })).toBe(200);

    const { text, samples } = await scrape(t);
    const requests = (route: string, method: string, outcome: string) => value(samples, 'portcullis_requests_total', { route, method, outcome });
    expect(requests('own:oauth-token', 'POST', 'own')).toBe(2);
    expect(requests('own:oauth-token', 'POST', 'denied')).toBe(2);
    expect(requests('api', 'GET', 'forwarded')).toBe(3 + 1 + 2 + 1);
    expect(requests('api', 'GET', 'denied')).toBe(4);
    expect(requests('api', 'POST', 'denied')).toBe(1);
    expect(requests('none', 'GET', 'denied')).toBe(1);
    expect(requests('portal-home', 'DELETE', 'denied')).toBe(1);
    expect(requests('api', 'OTHER', 'denied')).toBe(1);
    expect(requests('own:healthz', 'GET', 'own')).toBe(1);
    expect(requests('own:pcr-login', 'POST', 'own')).toBe(2);
    expect(requests('own:pcr-login', 'POST', 'denied')).toBe(1);
    expect(requests('own:pcr-logout', 'POST', 'own')).toBe(1);
    const total = samples.filter((s) => s.name === 'portcullis_requests_total').reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(2 + 2 + 7 + 4 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 1);

    const denials = (reason: string) => value(samples, 'portcullis_denials_total', { reason });
    expect(denials('login_failed')).toBe(2); // one OAuth, one PCR
    expect(denials('client_unknown')).toBe(1);
    expect(denials('credentials_missing')).toBe(1);
    expect(denials('scheme_unsupported')).toBe(1);
    expect(denials('token_malformed')).toBe(1);
    expect(denials('route_not_found')).toBe(1);
    expect(denials('method_not_allowed')).toBe(2);
    expect(denials('key_lacks_write')).toBe(1);
    expect(denials('api_key_invalid')).toBe(1);

    // Latency: one auth decision per request that reached a route's authenticators, one upstream timing per forward.
    expect(value(samples, 'portcullis_auth_duration_seconds_count', { route: 'api' })).toBe(7 + 4 + 1);
    expect(value(samples, 'portcullis_upstream_duration_seconds_count', { route: 'api' })).toBe(7);
    expect(value(samples, 'portcullis_upstream_duration_seconds_bucket', { route: 'api', le: '+Inf' })).toBe(7);

    expect(value(samples, 'portcullis_tokens_issued_total', { grant: 'password', client: 'public-api' })).toBe(1);
    expect(value(samples, 'portcullis_tokens_issued_total', { grant: 'refresh_token', client: 'public-api' })).toBe(1);
    expect(value(samples, 'portcullis_token_request_failures_total', { reason: 'login_failed' })).toBe(1);
    expect(value(samples, 'portcullis_token_request_failures_total', { reason: 'client_unknown' })).toBe(1);

    expect(value(samples, 'portcullis_pcr_logins_total', { reason: 'session_created' })).toBe(2);
    expect(value(samples, 'portcullis_pcr_logins_total', { reason: 'login_failed' })).toBe(1);
    expect(value(samples, 'portcullis_pcr_logouts_total', { reason: 'session_ended_by_logout' })).toBe(1);
    expect(value(samples, 'portcullis_pcr_sessions_active')).toBe(1);
    expect(value(samples, 'portcullis_revocation_events_total', { kind: 'session' })).toBe(1);
    expect(value(samples, 'portcullis_revocation_events_total', { kind: 'family' })).toBe(0);

    const accessCache = t.proxy.runtime.accessTokens.cache;
    expect(accessCache.misses).toBeGreaterThanOrEqual(1);
    expect(accessCache.hits).toBeGreaterThanOrEqual(2);
    expect(value(samples, 'portcullis_token_cache_hits_total', { cache: 'access_token' })).toBe(accessCache.hits);
    expect(value(samples, 'portcullis_token_cache_misses_total', { cache: 'access_token' })).toBe(accessCache.misses);
    // The use after the reload was a hit: the session token stayed verified.
    expect(newSessionCache.hits).toBeGreaterThanOrEqual(2);
    expect(value(samples, 'portcullis_token_cache_hits_total', { cache: 'pcr_session_token' })).toBe(newSessionCache.hits);
    expect(value(samples, 'portcullis_token_cache_misses_total', { cache: 'pcr_session_token' })).toBe(newSessionCache.misses);

    const store = (name: string, operation: string) => value(samples, name, { operation });
    expect(store('portcullis_store_operations_total', 'createSession')).toBe(2);
    expect(store('portcullis_store_operations_total', 'deleteSession')).toBe(1);
    expect(store('portcullis_store_operations_total', 'createFamily')).toBe(1);
    expect(store('portcullis_store_operations_total', 'redeemRefreshToken')).toBe(1);
    expect(store('portcullis_store_operation_duration_seconds_count', 'createSession')).toBe(2);
    // The active-sessions gauge reads the store off the books, so scraping never shows up as traffic.
    expect(store('portcullis_store_operations_total', 'listSessions')).toBe(0);
    expect(samples.filter((s) => s.name === 'portcullis_store_errors_total').every((s) => s.value === 0)).toBe(true);

    expect(value(samples, 'portcullis_config_reloads_total')).toBe(1);
    expect(value(samples, 'portcullis_config_reload_failures_total')).toBe(1);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);

    for (const secret of forbidden) expect(text.includes(secret), `exposition contains ${secret}`).toBe(false);
    for (const sample of samples.filter((s) => s.name.startsWith('portcullis_'))) {
      for (const label of Object.values(sample.labels)) expect(label, `${sample.name} label`).not.toMatch(/[/?=\s]/);
    }
  });

  it('keeps the number of series bounded whatever paths, keys and methods clients send', async () => {
    const before = await scrape(t);
    const seen: string[] = [];
    const bearer = { authorization: `Bearer ${accessToken}` };
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const r = random();
          seen.push(r);
          switch (i % 6) {
            case 0:
              return statusOf(t, `/api/items/${r}?token=${r}`, { headers: bearer });
            case 1:
              return statusOf(t, `/${r}/x`);
            case 2:
              return statusOf(t, `/api/${r}/servicedesk.json`);
            case 3:
              return statusOf(t, `/api/${r}`);
            case 4:
              return statusOf(t, `/api/${r}`, { method: `M${r.toUpperCase()}`, headers: bearer });
            default:
              return statusOf(t, `/api/${SECRETS.rwKey}/servicedesk.json?key=${r}`, { headers: { 'PCR-AUTH-TOKEN': sessionToken } });
          }
        }),
      );
    }
    const after = await scrape(t);
    const forwarded = (samples: Sample[]) => value(samples, 'portcullis_requests_total', { route: 'api', method: 'GET', outcome: 'forwarded' });
    const forwardedPerBatch = Array.from({ length: 50 }, (_, i) => i % 6).filter((kind) => kind === 0 || kind === 5).length;
    expect(forwarded(after.samples) - forwarded(before.samples)).toBe(10 * forwardedPerBatch);
    expect(portcullisSeries(after.text)).toBe(portcullisSeries(before.text));
    for (const r of seen) expect(after.text.includes(r), `exposition contains ${r}`).toBe(false);
    for (const secret of forbidden) expect(after.text.includes(secret)).toBe(false);
  });

  it('serves /metrics without the admin token while the admin API still requires it', async () => {
    expect((await fetch(`${t.proxy.adminUrl}/metrics`)).status).toBe(200);
    expect((await fetch(`${t.proxy.adminUrl}/admin/keys`)).status).toBe(401);
  });
});

describe('metrics guards', () => {
  it('counts label values outside the known sets as "other"', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.observeRequest({
      startedAt: 0,
      method: 'BREW',
      routeId: '/api/some/raw/path',
      ownEndpoint: false,
      outcome: 'denied',
      // A reason outside the table can only come from a bug; the label must still stay bounded.
      reason: 'reason-nobody-defined' as ReasonId,
      status: 418,
      upstreamStatus: null,
      upstreamSeconds: null,
      authSeconds: 0.001,
      authMethod: null,
      target: null,
      maskPath: (target) => target.path,
    });
    metrics.observeTokenRequest({ status: 200, reason: 'token_issued', grantType: 'urn:made:up', clientId: 'not-configured', username: 'someone' });
    const samples = parseExposition(await metrics.registry.metrics());
    expect(value(samples, 'portcullis_requests_total', { route: 'other', method: 'OTHER', outcome: 'denied' })).toBe(1);
    expect(value(samples, 'portcullis_denials_total', { reason: 'other' })).toBe(1);
    expect(value(samples, 'portcullis_auth_duration_seconds_count', { route: 'other' })).toBe(1);
    expect(value(samples, 'portcullis_tokens_issued_total', { grant: 'other', client: 'unknown' })).toBe(1);
  });

  it('counts store failures by operation', async () => {
    class DownStore extends MemoryStore {
      override async ping(): Promise<void> {
        throw new StoreUnavailableError('down');
      }
    }
    const metrics = new Metrics({ defaultMetrics: false });
    const t = await startTestProxy({ store: new DownStore(memoryStoreOptions()), hooks: metrics.hooks() });
    try {
      expect(await statusOf(t, '/readyz')).toBe(503);
      const { samples } = await scrape(t);
      expect(value(samples, 'portcullis_store_operations_total', { operation: 'ping' })).toBe(1);
      expect(value(samples, 'portcullis_store_errors_total', { operation: 'ping' })).toBe(1);
      expect(value(samples, 'portcullis_requests_total', { route: 'own:readyz', method: 'GET', outcome: 'own' })).toBe(1);
    } finally {
      await t.close();
    }
  });
});

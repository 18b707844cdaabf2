// Forward-auth on the real proxy: the sub-requests of nginx, Traefik and Envoy are decided exactly as the same
// request in line — every pass answers the identity and path the in-line request handed the upstream, every
// denial the same status, body and reason — and nothing addressed to the endpoint reaches the upstream.

import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { Metrics } from '../../src/observability/metrics.js';
import { SECRETS } from '../fixtures/secrets.js';
import { baseConfig, loadTestConfig, PCR_ENV, withPcr } from '../helpers/fixtures.js';
import {
  ASKERS,
  askForwardAuth,
  expectSameDenial,
  expectSamePass,
  FORWARD_AUTH_PATH,
  FORWARD_PATH_HEADER,
  forwardAuthProxy,
  identityOf,
  inline,
  rawCall,
  reasonOf,
  type HeaderLines,
} from '../helpers/forward-auth.js';
import { send } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken, basicAuth } from '../helpers/oauth.js';
import { pcrLogin, pcrLogout } from '../helpers/pcr.js';
import type { TestProxy } from '../helpers/proxy.js';

const SECOND = 1000;

function identityNames(t: TestProxy): string[] {
  return Object.values(t.proxy.runtime.identityNames);
}

const bearer = (token: string): HeaderLines => [['Authorization', `Bearer ${token}`]];
const sessionToken = (token: string): HeaderLines => [['PCR-AUTH-TOKEN', token]];

describe('forward-auth asked by a trusted proxy', () => {
  const t = testProxyForSuite(forwardAuthProxy({ path: FORWARD_AUTH_PATH, rewrittenPaths: 'header' }, ['127.0.0.1']));
  resetBeforeEachTest(t, { clock: true });
  let token: string;

  beforeAll(async () => {
    token = await accessToken(t.url);
  });

  /** The in-line request first (what the upstream got), then each proxy's sub-request, which must add nothing upstream. */
  async function expectPassesLikeInline(method: string, target: string, headers: HeaderLines): Promise<void> {
    const before = t.upstream.requests.length;
    const direct = await inline(t.port, method, target, headers);
    expect(direct.status, direct.body).toBeLessThan(400);
    expect(t.upstream.requests).toHaveLength(before + 1);
    const forwarded = t.upstream.requests[before]!;
    for (const asker of ASKERS) {
      const asked = await askForwardAuth(t.port, asker, method, target, headers);
      expectSamePass(asked, forwarded, identityNames(t), `${asker} ${method} ${target}`);
    }
    expect(t.upstream.requests, 'a forward-auth call reached the upstream').toHaveLength(before + 1);
  }

  async function expectDeniedLikeInline(method: string, target: string, headers: HeaderLines, reason: string): Promise<void> {
    const before = t.upstream.requests.length;
    const direct = await inline(t.port, method, target, headers);
    expect(reasonOf(direct), direct.body).toBe(reason);
    for (const asker of ASKERS) expectSameDenial(direct, await askForwardAuth(t.port, asker, method, target, headers), `${asker} ${method} ${target}`);
    expect(t.upstream.requests, 'a refused request reached the upstream').toHaveLength(before);
  }

  describe('a pass answers 200 with the identity and path the in-line request gave the upstream', () => {
    it('a bearer token, with the query kept', async () => {
      await expectPassesLikeInline('GET', '/api/dashboard', bearer(token));
      await expectPassesLikeInline('POST', '/api/tickets?sort=desc&x=%2F', bearer(token));
    });

    it('anonymous API keys: the key removed, or swapped for the upstream key, in the path to forward', async () => {
      await expectPassesLikeInline('GET', `/api/${SECRETS.roKey}/servicedesk.json`, []);
      await expectPassesLikeInline('POST', `/api/${PCR_ENV.PCR_LEGACY_KEY}/servicedesk.SO.json?limit=5`, []);
      const asked = await askForwardAuth(t.port, 'nginx', 'GET', `/api/${SECRETS.roKey}/services.xml`);
      expect(asked.headers[FORWARD_PATH_HEADER]).toBe('/api/services.xml');
      expect(asked.headers['x-portcullis-api-key-id']).toBe('demo-ro');
      expect(asked.headers['x-portcullis-access']).toBe('read');
    });

    it('a PCR session token, read and write', async () => {
      const session = await pcrLogin(t.url);
      await expectPassesLikeInline('GET', `/api/${SECRETS.rwKey}/servicedesk.json`, sessionToken(session));
      await expectPassesLikeInline('POST', `/api/${SECRETS.rwKey}/equipment.json`, sessionToken(session));
    });

    it('a public route: 200 without identity, and spoofed identity is not the answer', async () => {
      await expectPassesLikeInline('GET', '/', []);
      const asked = await askForwardAuth(t.port, 'traefik', 'GET', '/docs/start.html');
      expect(identityOf(asked.headers, identityNames(t))).toEqual({});
      expect(asked.headers[FORWARD_PATH_HEADER]).toBe('/docs/start.html');
    });
  });

  describe('every denial is the in-line denial: status, body, reason, challenge', () => {
    it('bearer credentials (RFC 6750)', async () => {
      await expectDeniedLikeInline('GET', '/api/dashboard', [], 'credentials_missing');
      await expectDeniedLikeInline('GET', '/api/dashboard', [['Authorization', 'Bearer not.a.token']], 'token_malformed');
      await expectDeniedLikeInline('GET', '/api/dashboard', [['Authorization', 'Basic dXNlcjpwYXNz']], 'scheme_unsupported');
      await expectDeniedLikeInline('GET', '/api/dashboard', [['Authorization', 'Bearer']], 'authorization_malformed');
      await expectDeniedLikeInline('GET', '/api/dashboard', [...bearer(token), ...bearer(token)], 'authorization_repeated');
      await expectDeniedLikeInline('GET', `/api/${SECRETS.roKey}/servicedesk.json`, bearer(token), 'credentials_conflicting');
    });

    it('an expired and a revoked access token', async () => {
      const revoked = await accessToken(t.url);
      const revocation = await send(`${t.url}/oauth/revoke`, {
        method: 'POST',
        headers: { authorization: basicAuth('public-api', SECRETS.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${revoked}&token_type_hint=access_token`,
      });
      expect(revocation.status).toBe(200);
      await expectDeniedLikeInline('GET', '/api/dashboard', bearer(revoked), 'token_revoked');
      t.clock.advance(3600 * SECOND);
      await expectDeniedLikeInline('GET', '/api/dashboard', bearer(token), 'token_expired');
    });

    it('API keys and PCR sessions, in the PCR output formats', async () => {
      await expectDeniedLikeInline('GET', '/api/no-such-key-0123456789/servicedesk.json', [], 'api_key_invalid');
      await expectDeniedLikeInline('GET', `/api/${PCR_ENV.PCR_EXPIRED_KEY}/servicedesk.xml`, [], 'api_key_expired');
      await expectDeniedLikeInline('POST', `/api/${SECRETS.roKey}/servicedesk.json`, [], 'key_lacks_write');
      await expectDeniedLikeInline('GET', `/api/${SECRETS.roKey}/equipment.php`, [], 'key_lacks_read');
      await expectDeniedLikeInline('POST', `/api/${SECRETS.roKey}/sql.xml`, [], 'key_lacks_read');
      await expectDeniedLikeInline('GET', `/api/${SECRETS.roKey}/nonsense.json`, [], 'request_type_unknown');
      await expectDeniedLikeInline('GET', `/api/${SECRETS.roKey}/servicedesk.csv`, [], 'output_unsupported');
      await expectDeniedLikeInline('PUT', `/api/${SECRETS.roKey}/servicedesk.json`, [], 'pcr_method_not_allowed');
      await expectDeniedLikeInline('GET', `/api/${SECRETS.rwKey}/servicedesk.json`, [], 'session_token_missing');
      await expectDeniedLikeInline('GET', `/api/${SECRETS.rwKey}/servicedesk.json`, sessionToken('garbage'), 'session_token_invalid');
      const session = await pcrLogin(t.url);
      expect((await pcrLogout(t.url, SECRETS.rwKey, { 'PCR-AUTH-TOKEN': session })).status).toBe(200);
      await expectDeniedLikeInline('GET', `/api/${SECRETS.rwKey}/servicedesk.json`, sessionToken(session), 'session_ended');
    });

    it('routes and methods', async () => {
      await expectDeniedLikeInline('GET', '/nowhere', bearer(token), 'route_not_found');
      await expectDeniedLikeInline('POST', '/', [], 'method_not_allowed');
    });

    it('ambiguous and malformed targets (400), decided on the original URI before anything else', async () => {
      const cases: Array<[string, string]> = [
        ['/api/../api/dashboard', 'path_ambiguous'],
        ['/api/%2e%2e/api/dashboard', 'path_ambiguous'],
        ['/api/%2E/dashboard', 'path_ambiguous'],
        ['/api%2Fdashboard', 'path_ambiguous'],
        ['/api/dash%5cboard', 'path_ambiguous'],
        ['/api//dashboard', 'path_ambiguous'],
        ['/api/dashboard;jsessionid=1', 'path_ambiguous'],
        ['/api/%252e%252e/x', 'path_ambiguous'],
        ['/api/%c0%ae%c0%ae/x', 'path_ambiguous'],
        ['/api/x%00', 'path_ambiguous'],
        ['//api/dashboard', 'target_form'],
        ['/api/%zz', 'path_invalid'],
      ];
      for (const [target, reason] of cases) await expectDeniedLikeInline('GET', target, bearer(token), reason);
    });

    it('decoded unreserved escapes are the same path: %61pi is /api', async () => {
      await expectPassesLikeInline('GET', '/%61pi/dashboard', bearer(token));
    });
  });

  describe('what only forward-auth refuses', () => {
    it('no original request named: 400 forward_auth_original_missing', async () => {
      const answer = await rawCall(t.port, 'GET', FORWARD_AUTH_PATH, bearer(token));
      expect({ status: answer.status, reason: reasonOf(answer) }).toEqual({ status: 400, reason: 'forward_auth_original_missing' });
      const withoutMethod = await rawCall(t.port, 'GET', FORWARD_AUTH_PATH, [...bearer(token), ['X-Original-URI', '/api/dashboard']]);
      expect(reasonOf(withoutMethod)).toBe('forward_auth_original_missing');
      const withoutUri = await rawCall(t.port, 'GET', FORWARD_AUTH_PATH, [...bearer(token), ['X-Forwarded-Method', 'GET']]);
      expect(reasonOf(withoutUri)).toBe('forward_auth_original_missing');
    });

    it('two ways of naming it, or one header twice: 400 forward_auth_original_ambiguous', async () => {
      const both: HeaderLines = [['X-Original-URI', '/api/dashboard'], ['X-Original-Method', 'GET'], ['X-Forwarded-Uri', '/docs/x'], ['X-Forwarded-Method', 'GET']];
      const twice: HeaderLines = [['X-Original-URI', '/docs/x'], ['X-Original-URI', '/api/dashboard'], ['X-Original-Method', 'GET']];
      const envoyAndHeader: HeaderLines = [['X-Original-URI', '/docs/x']];
      for (const [target, headers] of [[FORWARD_AUTH_PATH, both], [FORWARD_AUTH_PATH, twice], [`${FORWARD_AUTH_PATH}/api/dashboard`, envoyAndHeader]] as const) {
        const answer = await rawCall(t.port, 'GET', target, [...bearer(token), ...headers]);
        expect({ status: answer.status, reason: reasonOf(answer) }).toEqual({ status: 400, reason: 'forward_auth_original_ambiguous' });
      }
    });

    it('an original URI that is one of our own endpoints: 404 forward_auth_own_endpoint, for every proxy', async () => {
      for (const target of ['/oauth/token', '/oauth/revoke', `/api/${SECRETS.rwKey}/authlogin.json`, `/api/${SECRETS.rwKey}/authlogout.xml`, '/.well-known/jwks.json', '/healthz', FORWARD_AUTH_PATH]) {
        for (const asker of ASKERS) {
          const answer = await askForwardAuth(t.port, asker, 'POST', target, [['PCR-AUTH-USERNAME', 'api-user'], ['PCR-AUTH-PASSWORD', SECRETS.apiUserPassword]]);
          expect({ status: answer.status, reason: reasonOf(answer) }, `${asker} ${target}`).toEqual({ status: 404, reason: 'forward_auth_own_endpoint' });
        }
      }
      expect(t.upstream.requests).toHaveLength(0);
    });

    it('a header the proxy would have removed in line: 400 forward_auth_header_refused', async () => {
      for (const header of [['X-Portcullis-User', 'admin'], ['X_Portcullis_Teams', 'root'], ['X-Portcullis-Forward-Path', '/admin'], ['X-HTTP-Method-Override', 'DELETE'], ['X-Original-URL', '/admin']] as const) {
        for (const asker of ASKERS) {
          const answer = await askForwardAuth(t.port, asker, 'GET', '/api/dashboard', [...bearer(token), header]);
          expect({ status: answer.status, reason: reasonOf(answer) }, `${asker} ${header[0]}`).toEqual({ status: 400, reason: 'forward_auth_header_refused' });
        }
      }
    });

    it('an unknown original method: 400 forward_auth_method_invalid', async () => {
      for (const method of ['get', 'G ET', 'BREW', '']) {
        const answer = await rawCall(t.port, 'GET', FORWARD_AUTH_PATH, [...bearer(token), ['X-Original-URI', '/api/dashboard'], ['X-Original-Method', method]]);
        expect(reasonOf(answer), JSON.stringify(method)).toBe('forward_auth_method_invalid');
      }
    });

    it('the endpoint spelled with escapes is still the endpoint, never forwarded', async () => {
      const answer = await rawCall(t.port, 'GET', '/auth/%76erify', [...bearer(token), ['X-Original-URI', '/api/dashboard'], ['X-Original-Method', 'GET']]);
      expect(answer.status).toBe(200);
      const envoy = await rawCall(t.port, 'GET', '/auth/%76erify/api/dashboard', bearer(token));
      expect(envoy.status).toBe(200);
      expect(t.upstream.requests).toHaveLength(0);
    });
  });

  describe('session activity and observability', () => {
    it('a pass counts as use of a PCR session, as if the upstream had answered 200', async () => {
      const shortKey = PCR_ENV.PCR_SHORT_KEY;
      const session = await pcrLogin(t.url, shortKey);
      for (let i = 0; i < 3; i++) {
        t.clock.advance(20 * SECOND);
        const asked = await askForwardAuth(t.port, 'nginx', 'GET', `/api/${shortKey}/servicedesk.json`, sessionToken(session));
        expect(asked.status, asked.body).toBe(200);
      }
      // 60 s after login, twice the 30 s inactivity limit: only the forward-auth uses kept it alive.
      t.clock.advance(20 * SECOND);
      expect((await inline(t.port, 'GET', `/api/${shortKey}/servicedesk.json`, sessionToken(session))).status).toBe(200);
      t.clock.advance(30 * SECOND);
      expect(reasonOf(await askForwardAuth(t.port, 'envoy', 'GET', `/api/${shortKey}/servicedesk.json`, sessionToken(session)))).toBe('session_idle');
    });

    it('one log line per decision: the endpoint as route, the original method and masked path, the outcome and reason', async () => {
      const lines = t.logLines;
      const from = lines.length;
      await askForwardAuth(t.port, 'nginx', 'POST', `/api/${SECRETS.roKey}/servicedesk.json`);
      await askForwardAuth(t.port, 'traefik', 'GET', '/api/dashboard', bearer(token));
      const logged = lines
        .slice(from)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line['msg'] === 'request');
      expect(logged).toMatchObject([
        { method: 'POST', path: '/api/***/servicedesk.json', route: 'forward-auth', outcome: 'denied', reason: 'key_lacks_write', status: 403 },
        { method: 'GET', path: '/api/dashboard', route: 'forward-auth', outcome: 'own', reason: null, status: 200, auth: 'oauth' },
      ]);
      expect(lines.slice(from).join('\n')).not.toContain(SECRETS.roKey);
    });
  });
});

describe('forward-auth in the metrics', () => {
  const metrics = new Metrics();
  const t = testProxyForSuite({ ...forwardAuthProxy({ path: FORWARD_AUTH_PATH, rewrittenPaths: 'header' }, ['127.0.0.1']), hooks: metrics.hooks() });

  it('counts each decision as the own endpoint forward-auth, by original method and outcome, and denials by reason', async () => {
    const token = await accessToken(t.url);
    await askForwardAuth(t.port, 'nginx', 'GET', '/api/dashboard', bearer(token));
    await askForwardAuth(t.port, 'envoy', 'POST', `/api/${SECRETS.roKey}/servicedesk.json`);
    const text = await (await fetch(`${t.proxy.adminUrl}/metrics`)).text();
    expect(text).toContain('portcullis_requests_total{route="own:forward-auth",method="GET",outcome="own"} 1');
    expect(text).toContain('portcullis_requests_total{route="own:forward-auth",method="POST",outcome="denied"} 1');
    expect(text).toContain('portcullis_denials_total{reason="key_lacks_write"} 1');
    expect(text).toMatch(/portcullis_auth_duration_seconds_count\{route="own:forward-auth"\} 2/);
    expect(text).not.toContain(SECRETS.roKey);
  });
});

describe('forward-auth whose proxy does not rewrite paths (rewrittenPaths: refuse, the default)', () => {
  const t = testProxyForSuite(forwardAuthProxy({ path: FORWARD_AUTH_PATH }, ['127.0.0.1']));
  resetBeforeEachTest(t);

  it('refuses a key the upstream must not see, in the PCR format, and passes what needs no rewriting', async () => {
    for (const asker of ASKERS) {
      const answer = await askForwardAuth(t.port, asker, 'GET', `/api/${SECRETS.roKey}/servicedesk.xml`);
      expect({ status: answer.status, reason: reasonOf(answer) }, asker).toEqual({ status: 403, reason: 'forward_auth_path_not_rewritable' });
      expect(answer.headers['content-type']).toMatch(/^application\/xml/);
    }
    const token = await accessToken(t.url);
    const passed = await askForwardAuth(t.port, 'traefik', 'GET', '/api/dashboard?a=1', bearer(token));
    expect(passed.status).toBe(200);
    expect(passed.headers[FORWARD_PATH_HEADER]).toBe('/api/dashboard?a=1');
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('forward-auth asked by a peer that is not a trusted proxy', () => {
  const t = testProxyForSuite(forwardAuthProxy({ path: FORWARD_AUTH_PATH, rewrittenPaths: 'header' }, ['10.0.0.0/8', '::1']));
  resetBeforeEachTest(t);
  let token: string;

  beforeEach(async () => {
    token ??= await accessToken(t.url);
  });

  it('is refused with 403 forward_auth_untrusted_peer whatever it claims, and nothing is forwarded', async () => {
    for (const asker of ASKERS) {
      for (const target of ['/api/dashboard', '/', `/api/${SECRETS.roKey}/servicedesk.json`, '/api/../x']) {
        const answer = await askForwardAuth(t.port, asker, 'GET', target, [...bearer(token), ['X-Forwarded-For', '10.1.2.3']]);
        expect({ status: answer.status, reason: reasonOf(answer) }, `${asker} ${target}`).toEqual({ status: 403, reason: 'forward_auth_untrusted_peer' });
      }
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('while the same requests in line are decided as usual', async () => {
    expect((await inline(t.port, 'GET', '/api/dashboard', bearer(token))).status).toBe(200);
    expect(t.upstream.requests).toHaveLength(1);
  });
});

describe('without a forwardAuth section', () => {
  const t = testProxyForSuite(withPcr());
  resetBeforeEachTest(t);

  it('there is no endpoint: the path is routed like any other', async () => {
    const answer = await rawCall(t.port, 'GET', FORWARD_AUTH_PATH, [['X-Original-URI', '/'], ['X-Original-Method', 'GET']]);
    expect({ status: answer.status, reason: reasonOf(answer) }).toEqual({ status: 404, reason: 'route_not_found' });
  });
});

describe('the forwardAuth section', () => {
  const withSection = (forwardAuth: unknown, trustedProxies: string[] = ['10.0.0.5']) => {
    const config = baseConfig('http://127.0.0.1:9');
    return loadTestConfig({ ...config, listen: { ...(config['listen'] as object), trustedProxies }, forwardAuth });
  };

  it('is refused without a trusted proxy to answer, since it would refuse every caller', async () => {
    const error = await withSection({}, []).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^forwardAuth: forward-auth answers only the proxies in listen\.trustedProxies, and none is listed/)]);
  });

  it('defaults to /auth/verify, refusing paths that must be rewritten', async () => {
    expect((await withSection({})).parsed.forwardAuth).toEqual({ path: '/auth/verify', rewrittenPaths: 'refuse' });
  });

  it('takes only a path with one spelling, and no unknown keys', async () => {
    for (const path of ['/', 'auth/verify', '/auth/', '/auth//verify', '/auth/../verify', '/auth/./verify', '/auth/%76erify', '/auth verify', '/auth?x']) {
      const error = await withSection({ path }).then(() => null, (e: unknown) => e);
      expect(error, path).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems, path).toEqual([expect.stringMatching(/^forwardAuth\.path: expected a path like "\/auth\/verify"/)]);
    }
    const unknown = await withSection({ path: '/auth/verify', mode: 'nginx', rewrittenPaths: 'always' }).then(() => null, (e: unknown) => e);
    expect((unknown as ConfigError).problems.sort()).toEqual([expect.stringMatching(/^forwardAuth\.mode: unknown key/), expect.stringMatching(/^forwardAuth\.rewrittenPaths: /)]);
  });
});

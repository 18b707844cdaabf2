// Attacks on the forward-auth endpoint: an untrusted peer claiming to be a proxy, original URIs and methods that
// try to smuggle a second target or method past the decision, overrides a backend would honour, and original URIs
// that name Portcullis's own endpoints. Behind a catch-all public route, so anything that slipped past the
// endpoint would visibly reach the upstream.

import { beforeAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { withPcr } from '../helpers/fixtures.js';
import { askForwardAuth, ASKERS, FORWARD_AUTH_PATH, FORWARD_PATH_HEADER, reasonOf, type HeaderLines } from '../helpers/forward-auth.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import type { TestProxy, TestProxyOptions } from '../helpers/proxy.js';
import type { RawResponse } from '../helpers/raw-http.js';
import { exchange, expectNoInternals, http11, IDENTITY_HEADERS, type HeaderList } from './support.js';

function proxyTrusting(trustedProxies: string[]): TestProxyOptions {
  return withPcr((config) => {
    config['forwardAuth'] = { path: FORWARD_AUTH_PATH, rewrittenPaths: 'header' };
    (config['listen'] as Record<string, unknown>)['trustedProxies'] = trustedProxies;
    (config['routes'] as unknown[]).push({ id: 'everything-else', path: '/**', public: true });
  });
}

function outcome(response: RawResponse): { status: number | null; reason: string | undefined } {
  return { status: response.status, reason: reasonOf(response) };
}

/** Sends exact bytes and checks that the answer is clean and that nothing reached the upstream. */
async function refused(t: TestProxy, bytes: string | Buffer): Promise<RawResponse> {
  const { response, upstream } = await exchange(t, bytes, { settleMs: 20 });
  expect(upstream, 'a forward-auth call reached the upstream').toEqual([]);
  expectNoInternals(response.raw);
  return response;
}

describe('a peer that is not a trusted proxy', () => {
  const t = testProxyForSuite(proxyTrusting(['10.0.0.0/8', '192.168.0.0/16']));
  let bearer: string;

  beforeAll(async () => {
    bearer = `Bearer ${await accessToken(t.url)}`;
  });

  const spoofs: Array<[string, HeaderList]> = [
    ['X-Forwarded-For naming a trusted proxy', [['X-Forwarded-For', '10.0.0.1']]],
    ['a whole trusted chain', [['X-Forwarded-For', '192.168.1.1, 10.0.0.1']]],
    ['X-Real-IP and Forwarded', [['X-Real-IP', '10.0.0.1'], ['Forwarded', 'for=10.0.0.1;proto=https']]],
    ['True-Client-IP and X-Client-IP', [['True-Client-IP', '10.0.0.1'], ['X-Client-IP', '10.0.0.1']]],
  ];

  for (const [label, headers] of spoofs) {
    it(`is refused whatever it claims (${label}), for every proxy's convention`, async () => {
      for (const asker of ASKERS) {
        const answer = await askForwardAuth(t.port, asker, 'GET', '/api/dashboard', [['Authorization', bearer], ...headers]);
        expect(outcome(answer), asker).toEqual({ status: 403, reason: 'forward_auth_untrusted_peer' });
      }
      const bytes = http11('GET', FORWARD_AUTH_PATH, [['Authorization', bearer], ['X-Original-URI', '/api/dashboard'], ['X-Original-Method', 'GET'], ...headers, ['Connection', 'close']]);
      expect(outcome(await refused(t, bytes))).toEqual({ status: 403, reason: 'forward_auth_untrusted_peer' });
    });
  }

  it('learns nothing from the answer: the same refusal for a good, a bad and no credential', async () => {
    const credentials: HeaderLines[] = [[['Authorization', bearer]], [['Authorization', 'Bearer forged.token.value']], []];
    const answers = await Promise.all(credentials.map((headers) => askForwardAuth(t.port, 'nginx', 'GET', '/api/dashboard', headers)));
    expect(new Set(answers.map((a) => `${a.status} ${a.body}`)).size).toBe(1);
    expect(answers[0]!.headers[FORWARD_PATH_HEADER]).toBeUndefined();
  });
});

describe('a trusted proxy relaying a hostile client', () => {
  const t = testProxyForSuite(proxyTrusting(['127.0.0.1']));
  let bearer: string;

  beforeAll(async () => {
    bearer = `Bearer ${await accessToken(t.url)}`;
  });

  const nginxCall = (uri: string, extra: HeaderList = [], method = 'GET'): string =>
    http11('GET', FORWARD_AUTH_PATH, [['Authorization', bearer], ['X-Original-URI', uri], ['X-Original-Method', method], ...extra, ['Connection', 'close']]);

  it('a second header smuggled into X-Original-URI with CRLF is a second header: refused as ambiguous', async () => {
    const response = await refused(t, nginxCall('/docs/harmless\r\nX-Original-URI: /api/dashboard'));
    expect(outcome(response)).toEqual({ status: 400, reason: 'forward_auth_original_ambiguous' });
  });

  it('bare CR, LF or NUL inside the header value never becomes a target', async () => {
    for (const injected of ['/api/dashboard\r/docs', '/docs\n/api/dashboard', '/api/dash\0board']) {
      const response = await refused(t, Buffer.from(nginxCall(injected), 'latin1'));
      expect(response.status, JSON.stringify(injected)).toBe(400);
    }
  });

  it('encoded CR LF in the path is refused; in the query it stays encoded in the path to forward', async () => {
    expect(outcome(await refused(t, nginxCall('/api/dashboard%0d%0aX-Portcullis-User:%20admin')))).toEqual({ status: 400, reason: 'path_ambiguous' });
    const { response, upstream } = await exchange(t, nginxCall('/api/dashboard?q=%0d%0aX-Portcullis-User:%20admin'));
    expect(response.status).toBe(200);
    expect(upstream).toEqual([]);
    expect(response.headers[FORWARD_PATH_HEADER]).toBe('/api/dashboard?q=%0d%0aX-Portcullis-User:%20admin');
    expect(response.raw).not.toMatch(/\r\nX-Portcullis-User: admin/i);
  });

  it('targets that are not an origin-form path: absolute URIs, authorities, no leading slash, asterisk, empty', async () => {
    const cases: Array<[string, string]> = [
      ['http://evil/', 'target_form'],
      ['http://evil/api/dashboard', 'target_form'],
      ['https://portal.example/api/dashboard', 'target_form'],
      ['//evil/api/dashboard', 'target_form'],
      ['api/dashboard', 'target_form'],
      ['*', 'target_form'],
      ['', 'target_form'],
      ['\\\\evil\\api', 'target_form'],
      ['/api/dash board', 'path_invalid'],
      ['/api/dashboard#fragment', 'path_invalid'],
      ['/api/\u00e9', 'path_invalid'],
    ];
    for (const [uri, reason] of cases) {
      const response = await refused(t, Buffer.from(nginxCall(uri), 'latin1'));
      expect(outcome(response), JSON.stringify(uri)).toEqual({ status: 400, reason });
    }
  });

  it('a second method: the header repeated, a list, another convention beside it, or Envoy method plus a header', async () => {
    const cases: Array<[string, string | Buffer]> = [
      ['X-Original-Method twice', nginxCall('/api/dashboard', [['X-Original-Method', 'POST']])],
      ['X-Forwarded-Method beside the nginx headers', nginxCall('/api/dashboard', [['X-Forwarded-Method', 'POST']])],
      ['X-Original-Method beside the Traefik headers', http11('GET', FORWARD_AUTH_PATH, [['Authorization', bearer], ['X-Forwarded-Uri', '/api/dashboard'], ['X-Forwarded-Method', 'GET'], ['X-Original-Method', 'POST'], ['Connection', 'close']])],
      ['X-Original-Method on an Envoy call', http11('POST', `${FORWARD_AUTH_PATH}/api/dashboard`, [['Authorization', bearer], ['X-Original-Method', 'GET'], ['Content-Length', '0'], ['Connection', 'close']])],
    ];
    for (const [label, bytes] of cases) expect(outcome(await refused(t, bytes)), label).toEqual({ status: 400, reason: 'forward_auth_original_ambiguous' });
    // Whitespace around a header value is not part of it (RFC 9110 §5.5), so 'GET ' is GET; inside it is not.
    for (const method of ['GET, POST', 'GET,POST', 'get', 'G ET', 'PO\tST', 'GET\u00a0']) {
      expect(outcome(await refused(t, nginxCall('/api/dashboard', [], method))), JSON.stringify(method)).toEqual({ status: 400, reason: 'forward_auth_method_invalid' });
    }
  });

  it('method and URL overrides a backend would honour are refused, not ignored: the proxy in front would forward them', async () => {
    const readOnlyKeyRead = `/api/${SECRETS.roKey}/servicedesk.json`;
    const overrides: HeaderList = [
      ['X-HTTP-Method-Override', 'POST'],
      ['X-HTTP-Method', 'DELETE'],
      ['X-Method-Override', 'PUT'],
      ['x_http_method_override', 'POST'],
      ['X-Original-URL', '/api/admin'],
      ['X-Rewrite-URL', '/api/admin'],
    ];
    for (const header of overrides) {
      for (const asker of ASKERS) {
        const answer = await askForwardAuth(t.port, asker, 'GET', readOnlyKeyRead, [header]);
        expect(outcome(answer), `${asker} ${header[0]}`).toEqual({ status: 400, reason: 'forward_auth_header_refused' });
      }
    }
    // Without the override the read passes, and the write it tried to become is refused on its own.
    expect((await askForwardAuth(t.port, 'nginx', 'GET', readOnlyKeyRead)).status).toBe(200);
    expect(reasonOf(await askForwardAuth(t.port, 'nginx', 'POST', readOnlyKeyRead))).toBe('key_lacks_write');
  });

  it('forged identity headers, in every spelling a backend folds together, on public routes too', async () => {
    for (const name of IDENTITY_HEADERS) {
      for (const spelling of [name, name.toUpperCase(), name.replaceAll('-', '_'), name.replaceAll('-', '.')]) {
        const answer = await askForwardAuth(t.port, 'traefik', 'GET', '/docs/public', [[spelling, 'forged']]);
        expect(outcome(answer), spelling).toEqual({ status: 400, reason: 'forward_auth_header_refused' });
      }
    }
  });

  it('original URIs naming our own endpoints, however spelled, are 404 forward_auth_own_endpoint', async () => {
    const ownTargets = [
      '/oauth/token',
      '/oauth/%74oken',
      '/oauth/token?grant_type=password',
      '/oauth/revoke',
      `/api/${SECRETS.rwKey}/authlogin.json`,
      `/api/${SECRETS.rwKey}/%61uthlogin.json`,
      `/api/${SECRETS.rwKey}/authlogout.php`,
      '/.well-known/jwks.json',
      '/.well-known/oauth-authorization-server',
      '/healthz',
      '/readyz',
      FORWARD_AUTH_PATH,
      `${FORWARD_AUTH_PATH}?x=1`,
      `${FORWARD_AUTH_PATH}/api/dashboard`,
      '/auth/%76erify',
    ];
    for (const target of ownTargets) {
      for (const asker of ASKERS) {
        const answer = await askForwardAuth(t.port, asker, 'POST', target, [['Authorization', bearer]]);
        expect(outcome(answer), `${asker} ${target}`).toEqual({ status: 404, reason: 'forward_auth_own_endpoint' });
      }
    }
  });

  it('nothing addressed to the endpoint reaches the upstream, even behind a catch-all route', async () => {
    const targets = [
      FORWARD_AUTH_PATH,
      `${FORWARD_AUTH_PATH}/`,
      `${FORWARD_AUTH_PATH}?x-original-uri=/api/dashboard`,
      `${FORWARD_AUTH_PATH}/../docs/x`,
      `${FORWARD_AUTH_PATH}/%2e%2e/docs/x`,
      `${FORWARD_AUTH_PATH}//docs/x`,
      '/auth/%76erify',
      '/auth/%76erify/docs/x',
      '/%61uth/verify?y',
    ];
    for (const target of targets) {
      for (const headers of [[], [['X-Original-URI', '/docs/x'], ['X-Original-Method', 'GET']]] as HeaderList[]) {
        const { response, upstream } = await exchange(t, http11('GET', target, [...headers, ['Connection', 'close']]));
        expect(upstream, `${target} was forwarded`).toEqual([]);
        expect(response.status, target).not.toBeNull();
      }
    }
    // Nor is a WebSocket upgrade to it tunnelled, whatever route would match.
    const upgrade: HeaderList = [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==']];
    for (const target of [FORWARD_AUTH_PATH, `${FORWARD_AUTH_PATH}/docs/x`, '/auth/%76erify']) {
      const { response, upstream, upgrades } = await exchange(t, http11('GET', target, [...upgrade, ['X-Original-URI', '/docs/x'], ['X-Original-Method', 'GET']]), { settleMs: 20 });
      expect({ status: response.status, upgrades, upstream }, target).toEqual({ status: 400, upgrades: [], upstream: [] });
    }
    // A path that only starts like the endpoint is an ordinary path.
    const { upstream } = await exchange(t, http11('GET', `${FORWARD_AUTH_PATH}ed`, [['Connection', 'close']]));
    expect(upstream.map((r) => r.url)).toEqual([`${FORWARD_AUTH_PATH}ed`]);
  });
});

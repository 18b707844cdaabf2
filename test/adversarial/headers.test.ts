// Forged identity and routing headers. The upstream trusts X-Portcullis-* and the X-Forwarded-* family, and legacy
// backends fold '-', '_' and '.' together and honour URL and method overrides, so no spelling of any of them may
// come from the client: identity headers are the proxy's alone (present with its values when it authenticated,
// absent otherwise), X-Forwarded-For/-Proto/-Host are replaced by its own, and none of them changes a decision.

import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { SECRETS } from '../fixtures/secrets.js';
import { OPERATOR_IDENTITY } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken, basicAuth } from '../helpers/oauth.js';
import { exchange, folded, http11, IDENTITY_HEADERS, jsonOf, rawHeaderLines, type HeaderList } from './support.js';

const t = testProxyForSuite();
let bearer: string;

beforeAll(async () => {
  bearer = `Bearer ${await accessToken(t.url)}`;
});

/** Every spelling a backend would read as `name`. */
function spellings(name: string): string[] {
  const title = name.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
  return [name, name.toUpperCase(), title, name.replaceAll('-', '_'), title.replaceAll('-', '_'), name.replaceAll('-', '.'), title.replaceAll('-', '.'), name.replace('-', '_').replace('-', '.')];
}

/** Owned headers as they reached the upstream: the proxy's own set on an authenticated request, nothing otherwise. */
function expectIdentityFromProxyOnly(request: RecordedRequest, authenticated: boolean): void {
  const owned: Array<[string, string]> = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if (folded(request.rawHeaders[i]!).startsWith('x-portcullis-')) owned.push([request.rawHeaders[i]!.toLowerCase(), request.rawHeaders[i + 1]!]);
  }
  const expected = authenticated ? Object.entries(OPERATOR_IDENTITY) : [];
  expect(owned.sort()).toEqual([...expected].sort());
}

const forgedIdentity: Array<[string, HeaderList]> = [
  ...IDENTITY_HEADERS.flatMap((name) => spellings(name).map((spelling) => [`${spelling}: forged`, [[spelling, 'forged']]] as [string, HeaderList])),
  ['unknown names under the owned prefix', [['X-Portcullis-Admin', 'true'], ['x_portcullis_role', 'root'], ['X.PORTCULLIS.IMPERSONATE', 'admin']]],
  ['the user header repeated', [['X-Portcullis-User', 'admin'], ['X-Portcullis-User', 'root'], ['x-portcullis-user', 'other']]],
  ['one value in each spelling at once', spellings('x-portcullis-user').map((s) => [s, `forged-${s}`] as const)],
  ['the auth method header claiming an API key', [['X-Portcullis-Auth', 'api-key'], ['X-Portcullis-Api-Key-Id', 'demo-rw'], ['X-Portcullis-Access', 'write']]],
];

describe('forged identity headers', () => {
  it.each(forgedIdentity)('%s: nothing of it reaches the upstream on a public route', async (_name, headers) => {
    const { response, upstream } = await exchange(t, http11('GET', '/docs/page', headers));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expectIdentityFromProxyOnly(upstream[0]!, false);
  });

  it.each(forgedIdentity)('%s: the upstream sees only the proxy\'s identity on an authenticated route', async (_name, headers) => {
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', [...headers, ['Authorization', bearer]]));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expectIdentityFromProxyOnly(upstream[0]!, true);
  });

  it('does not authenticate anyone: forged identity alone on /api is 401 and nothing is forwarded', async () => {
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', [['X-Portcullis-User', 'my-operator'], ['X-Portcullis-Auth', 'oauth']]));
    expect(response.status).toBe(401);
    expect(upstream).toEqual([]);
  });
});

describe('identity headers named in Connection', () => {
  const nominations: Array<[string, HeaderList]> = [
    ['close, X-Portcullis-User', [['Connection', 'close, X-Portcullis-User']]],
    ['keep-alive, x_portcullis_user, X-Portcullis-Teams', [['Connection', 'keep-alive, x_portcullis_user, X-Portcullis-Teams']]],
    ['every identity header, in two Connection lines', [['Connection', IDENTITY_HEADERS.slice(0, 5).join(', ')], ['Connection', IDENTITY_HEADERS.slice(5).join(', ')]]],
    ['the user header nominated and also sent', [['Connection', 'X-Portcullis-User'], ['X-Portcullis-User', 'admin']]],
    ['X-Forwarded-For nominated and also sent', [['Connection', 'X-Forwarded-For, X-Real-IP'], ['X-Forwarded-For', '10.0.0.1']]],
  ];

  it.each(nominations)('Connection: %s does not drop the proxy\'s own identity headers', async (_name, headers) => {
    const { response, upstream } = await exchange(t, http11('GET', '/api/dashboard', [...headers, ['Authorization', bearer]]));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expectIdentityFromProxyOnly(upstream[0]!, true);
    expect(upstream[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('cannot strip the framing: Connection: Content-Length still forwards the body with its length', async () => {
    const { response, upstream } = await exchange(t, http11('POST', '/api/dashboard', [['Connection', 'Content-Length, Host'], ['Content-Length', '5'], ['Authorization', bearer]], 'hello'), { settleMs: 50 });
    expect(response.status).toBe(200);
    expect(upstream.map((r) => [r.url, r.headers['content-length'], r.body.toString()])).toEqual([['/api/dashboard', '5', 'hello']]);
    expect(upstream[0]!.headers.host).toBe('portal.example');
  });
});

/** Headers backends read as the client's address, scheme, host, URL or method. */
const ROUTING_HEADERS: Array<[string, string]> = [
  ['X-Forwarded-For', '10.0.0.1'],
  ['X-Forwarded-Host', 'admin.internal'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Forwarded-Port', '443'],
  ['X-Forwarded-Prefix', '/api'],
  ['X-Forwarded-Server', 'admin.internal'],
  ['X-Forwarded-Uri', '/api/dashboard'],
  ['X-Forwarded-Path', '/api/dashboard'],
  ['X-Forwarded-Method', 'DELETE'],
  ['X-Forwarded-Ssl', 'on'],
  ['X-Forwarded-Scheme', 'https'],
  ['X-Url-Scheme', 'https'],
  ['Front-End-Https', 'on'],
  ['Forwarded', 'for=10.0.0.1;host=admin.internal;proto=https'],
  ['X-Real-IP', '10.0.0.1'],
  ['X-Client-IP', '10.0.0.1'],
  ['True-Client-IP', '10.0.0.1'],
  ['CF-Connecting-IP', '10.0.0.1'],
  ['X-Cluster-Client-IP', '10.0.0.1'],
  ['X-Remote-IP', '10.0.0.1'],
  ['X-Remote-Addr', '10.0.0.1'],
  ['X-Originating-IP', '10.0.0.1'],
  ['Client-IP', '10.0.0.1'],
  ['X-Original-URL', '/api/dashboard'],
  ['X-Rewrite-URL', '/api/dashboard'],
  ['X-Original-URI', '/api/dashboard'],
  ['X-Original-Method', 'DELETE'],
  ['X-Original-Host', 'admin.internal'],
  ['X-Host', 'admin.internal'],
  ['X-HTTP-Method-Override', 'DELETE'],
  ['X-HTTP-Method', 'DELETE'],
  ['X-Method-Override', 'DELETE'],
];

const PROXY_SET: Readonly<Record<string, string>> = { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'portal.example' };

/** The routing headers that reached the upstream, by folded name: only the three the proxy sets, with its values. */
function routingHeadersSeen(request: RecordedRequest): Record<string, string[]> {
  const seen: Record<string, string[]> = {};
  for (const [name] of ROUTING_HEADERS) {
    const lines = rawHeaderLines(request, folded(name));
    if (lines.length > 0) seen[folded(name)] = lines.map(([, value]) => value);
  }
  return seen;
}

describe('forged routing headers', () => {
  const spelled = ROUTING_HEADERS.flatMap(([name, value]) => [
    [name, value],
    [name.replaceAll('-', '_'), value],
    [name.toLowerCase().replaceAll('-', '.'), value],
  ]) as Array<[string, string]>;

  it.each([
    ['a public route', '/docs/page', false],
    ['an authenticated route', '/api/dashboard', true],
  ] as const)('on %s, none reaches the upstream except the proxy\'s own X-Forwarded-For/-Proto/-Host', async (_name, path, authenticated) => {
    const headers: HeaderList = authenticated ? [...spelled, ['Authorization', bearer]] : spelled;
    const { response, upstream } = await exchange(t, http11('GET', path, headers));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expect(routingHeadersSeen(upstream[0]!)).toEqual({
      'x-forwarded-for': [PROXY_SET['x-forwarded-for']],
      'x-forwarded-proto': [PROXY_SET['x-forwarded-proto']],
      'x-forwarded-host': [PROXY_SET['x-forwarded-host']],
    });
    expect(upstream[0]!.method).toBe('GET');
    expect(upstream[0]!.url).toBe(path);
  });

  it.each(ROUTING_HEADERS)('%s never changes a decision', async (name, value) => {
    // Pointing a public request at the protected prefix: still the public path, anonymous.
    const publicAnswer = await exchange(t, http11('GET', '/', [[name, value]]));
    expect(publicAnswer.response.status).toBe(200);
    expect(publicAnswer.upstream.map((r) => [r.method, r.url])).toEqual([['GET', '/']]);
    expectIdentityFromProxyOnly(publicAnswer.upstream[0]!, false);
    // A protected request without a credential: still refused, and refused for the same reason.
    const protectedAnswer = await exchange(t, http11('GET', '/api/dashboard', [[name, value]]));
    expect(protectedAnswer.response.status).toBe(401);
    expect(jsonOf(protectedAnswer.response)?.['reason']).toBe('credentials_missing');
    expect(protectedAnswer.upstream).toEqual([]);
    // A method the route does not take: still 405, whatever the override says.
    const postAnswer = await exchange(t, http11('POST', '/', [[name, value], ['X-HTTP-Method-Override', 'GET'], ['Content-Length', '0']]));
    expect(postAnswer.response.status).toBe(405);
    expect(postAnswer.upstream).toEqual([]);
  });
});

describe('client credentials never travel upstream', () => {
  const credentialHeaders = ['Proxy-Authorization', 'PCR-AUTH-TOKEN', 'PCR-AUTH-USERNAME', 'PCR-AUTH-PASSWORD'].flatMap((name) => [name, name.replaceAll('-', '_'), name.toLowerCase().replaceAll('-', '.')]);

  it('whatever their spelling, on public and authenticated routes', async () => {
    for (const [path, extra] of [['/docs/page', []], ['/api/dashboard', [['Authorization', bearer]]]] as Array<[string, HeaderList]>) {
      const { response, upstream } = await exchange(t, http11('GET', path, [...credentialHeaders.map((name) => [name, 'secret-value'] as const), ...extra]));
      expect(response.status).toBe(200);
      expect(upstream).toHaveLength(1);
      const forwarded = upstream[0]!.rawHeaders.filter((_v, i) => i % 2 === 0).map(folded);
      for (const name of ['authorization', 'proxy-authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password']) expect(forwarded).not.toContain(name);
      expect(upstream[0]!.rawHeaders.join('\n')).not.toContain('secret-value');
    }
  });
});

describe('brute-force accounting by address', () => {
  const guarded = testProxyForSuite(() => ({
    upstream: t.upstream,
    edit(config) {
      config['protection'] = { bruteForce: { maxFailuresPerAddress: 3, maxFailuresPerUser: 100, window: '15m' } };
    },
  }));

  it('a rotating X-Forwarded-For from an untrusted peer does not reset the per-address lockout', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const body = `grant_type=password&scope=public-api&username=nobody-${i}&password=wrong`;
      const { response } = await exchange(
        guarded,
        http11('POST', '/oauth/token', [
          ['Authorization', basicAuth('public-api', SECRETS.clientSecret)],
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['X-Forwarded-For', `10.0.${i}.1`],
          ['X-Real-IP', `10.0.${i}.1`],
          ['Forwarded', `for=10.0.${i}.1`],
          ['Content-Length', String(body.length)],
        ], body),
      );
      statuses.push(response.status ?? 0);
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
  });
});

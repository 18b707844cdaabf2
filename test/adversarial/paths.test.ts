// Path tricks against the real listener: every request target is sent as raw bytes, so nothing tidies it on the
// way, and the recording upstream shows what got through. Routes: /api/** needs a bearer token, / (GET) and
// /docs/** are public. An ambiguous target is refused before any route or credential is looked at, so a valid
// token never helps; what is forwarded is exactly the normalised path.

import { beforeAll, describe, expect, it } from 'vitest';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { exchange, http11, IDENTITY_HEADERS, jsonOf } from './support.js';

const t = testProxyForSuite();
let bearer: string;

beforeAll(async () => {
  bearer = `Bearer ${await accessToken(t.url)}`;
});

interface Refused {
  target: string;
  status: number;
  /** Reason id in the body; absent when the HTTP parser itself refused the request line. */
  reason?: string;
}

const refused: Record<string, Refused[]> = {
  'raw dot segments': [
    { target: '/docs/../api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/./page', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..', status: 400, reason: 'path_ambiguous' },
    { target: '/api/dashboard/..', status: 400, reason: 'path_ambiguous' },
    { target: '/api/dashboard/.', status: 400, reason: 'path_ambiguous' },
    { target: '/..', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..?x=1', status: 400, reason: 'path_ambiguous' },
  ],
  'encoded dot segments': [
    { target: '/docs/%2e%2e/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%2E%2E/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/.%2e/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%2e./api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%2e/page', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%2e%2e', status: 400, reason: 'path_ambiguous' },
  ],
  'double-encoded dot segments and slashes': [
    { target: '/docs/%252e%252e/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%25%32%65%25%32%65/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..%252fapi/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%25', status: 400, reason: 'path_ambiguous' },
  ],
  'encoded slashes and backslashes': [
    { target: '/docs/..%2fapi/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..%2Fapi/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs%2f..%2fapi%2fdashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/api%2fdashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..%5capi/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..%5Capi%5Cdashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..\\api\\dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs\\..\\api', status: 400, reason: 'path_ambiguous' },
  ],
  'empty segments': [
    { target: '//api/dashboard', status: 400, reason: 'target_form' },
    { target: '//evil.example/api/dashboard', status: 400, reason: 'target_form' },
    { target: '/docs//../api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/api//dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs//page', status: 400, reason: 'path_ambiguous' },
  ],
  'path parameters': [
    { target: '/docs/..;/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/api;/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs;jsessionid=1/page', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/page%3bx', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/page%3B/../../api', status: 400, reason: 'path_ambiguous' },
  ],
  'NUL and other encoded controls': [
    { target: '/docs/page%00.html', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%00/../api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/page%0d%0aX-Injected:%201', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/page%09', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/page%7f', status: 400, reason: 'path_ambiguous' },
  ],
  'invalid percent-encoding': [
    { target: '/docs/%zz', status: 400, reason: 'path_invalid' },
    { target: '/docs/%', status: 400, reason: 'path_invalid' },
    { target: '/docs/%2', status: 400, reason: 'path_invalid' },
    { target: '/docs/%g0', status: 400, reason: 'path_invalid' },
    { target: '/docs/%%32%65', status: 400, reason: 'path_invalid' },
  ],
  'overlong and invalid UTF-8': [
    { target: '/docs/%c0%ae%c0%ae/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%C0%AE%C0%AE%C0%AFapi', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%e0%80%ae%e0%80%ae/api', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%f0%80%80%ae', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%c0%af', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%80', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%ed%a0%80', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%c3', status: 400, reason: 'path_ambiguous' },
  ],
  // NFKC normalisation or Windows best-fit conversion in a backend turns these into a dot, a slash, a backslash, ';' or '%'.
  'Unicode look-alikes of delimiters': [
    { target: '/docs/x%EF%BC%8F..%EF%BC%8F..%EF%BC%8Fapi%EF%BC%8Fdashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%EF%BC%8E%EF%BC%8E/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%ef%bc%8e./api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%E2%80%A5/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/%EF%B9%92%EF%B9%92/api/dashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/..%EF%BC%BCapi%EF%BC%BCdashboard', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/x%E2%88%95..%E2%88%95api', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/x%E2%81%84..%E2%81%84api', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/x%C2%A5..%C2%A5api', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/page%EF%BC%9Bjsessionid=1', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/x%EF%BC%852e%EF%BC%852e', status: 400, reason: 'path_ambiguous' },
    { target: '/docs/x%EF%BC%9F/api', status: 400, reason: 'path_ambiguous' },
  ],
  // Node's parser refuses these before the pipeline sees them.
  'raw bytes outside printable ASCII': [
    { target: '/docs/caf\xe9', status: 400 },
    { target: '/docs/\xc0\xae\xc0\xae/api', status: 400 },
    { target: '/docs/a\x7fb', status: 400 },
  ],
  'case variants of the protected prefix (routes are case-sensitive)': [
    { target: '/API/dashboard', status: 404 },
    { target: '/Api/dashboard', status: 404 },
    { target: '/aPI/dashboard', status: 404 },
    { target: '/API', status: 404 },
    { target: '/%41PI/dashboard', status: 404 },
    { target: '/%41%50%49/dashboard', status: 404 },
    { target: '/DOCS/page', status: 404 },
  ],
  'raw fragments': [
    { target: '/docs/page#frag', status: 400, reason: 'path_invalid' },
    { target: '/docs/page?x=1#/../../api/dashboard', status: 400, reason: 'path_invalid' },
    { target: '/#/api/dashboard', status: 400, reason: 'path_invalid' },
    { target: '/docs/#/../api', status: 400, reason: 'path_invalid' },
  ],
  'absolute-form and other target forms': [
    { target: 'http://evil.example/api/dashboard', status: 400, reason: 'target_form' },
    { target: 'http://portal.example/docs/page', status: 400, reason: 'target_form' },
    { target: 'https://evil.example/', status: 400, reason: 'target_form' },
    { target: 'HTTP://evil.example/api/dashboard', status: 400, reason: 'target_form' },
    { target: 'evil.example:443', status: 400 },
    { target: '*', status: 400 },
    { target: 'api/dashboard', status: 400 },
  ],
  'very long paths': [
    { target: `/docs/${'a'.repeat(9000)}`, status: 414, reason: 'path_too_long' },
    { target: `/api/${'a/'.repeat(4500)}x`, status: 414, reason: 'path_too_long' },
    { target: `/docs/${'%2e'.repeat(3000)}`, status: 414, reason: 'path_too_long' },
    { target: `/docs/${'a'.repeat(20_000)}`, status: 431 },
  ],
};

describe.each(Object.entries(refused))('%s', (_group, cases) => {
  it.each(cases.map((c) => [c.target.length > 60 ? `${c.target.slice(0, 40)}... (${c.target.length} bytes)` : c.target, c] as const))(
    '%s is refused and never forwarded, with or without a token',
    async (_name, c) => {
      for (const headers of [[], [['Authorization', bearer]]] as Array<Array<[string, string]>>) {
        const { response, upstream } = await exchange(t, http11('GET', c.target, headers));
        expect(response.status).toBe(c.status);
        if (c.reason !== undefined) expect(jsonOf(response)?.['reason']).toBe(c.reason);
        expect(upstream).toEqual([]);
      }
    },
  );
});

interface Forwarded {
  target: string;
  /** The request target the upstream must see. */
  upstreamUrl: string;
  method?: string;
}

const forwardedPublicly: Forwarded[] = [
  // A query that looks like a protected path is a query: forwarded as it is, and no identity comes with it.
  { target: '/?x=/api/dashboard', upstreamUrl: '/?x=/api/dashboard' },
  { target: '/?/../api/dashboard', upstreamUrl: '/?/../api/dashboard' },
  { target: '/docs/?../api', upstreamUrl: '/docs/?../api' },
  { target: '/docs/page?next=..%2f..%2fapi%2fdashboard&x=%2e%2e', upstreamUrl: '/docs/page?next=..%2f..%2fapi%2fdashboard&x=%2e%2e' },
  { target: '/docs/page?;/api/dashboard', upstreamUrl: '/docs/page?;/api/dashboard' },
  // Names that merely contain dots are not dot segments.
  { target: '/docs/.../page', upstreamUrl: '/docs/.../page' },
  { target: '/docs/..page/x.', upstreamUrl: '/docs/..page/x.' },
  // Unreserved characters are decoded, other escapes upper-cased: the upstream gets the normalised form.
  { target: '/docs/%7euser/%61bc', upstreamUrl: '/docs/~user/abc' },
  { target: '/docs/caf%c3%a9', upstreamUrl: '/docs/caf%C3%A9' },
  { target: '/docs/%e2%82%ac/%F0%9F%98%80', upstreamUrl: '/docs/%E2%82%AC/%F0%9F%98%80' },
  { target: '/docs/a%20b', upstreamUrl: '/docs/a%20b' },
  // http-proxy's URL join used to turn these into "http://", an empty segment the pipeline never decided on.
  { target: '/docs/http:/evil.example/x', upstreamUrl: '/docs/http:/evil.example/x' },
  { target: '/docs/go/https:/evil.example', upstreamUrl: '/docs/go/https:/evil.example' },
];

describe('targets that are forwarded on a public route', () => {
  it.each(forwardedPublicly.map((c) => [c.target, c] as const))('%s is forwarded exactly as normalised, anonymously', async (_name, c) => {
    const { response, upstream } = await exchange(t, http11(c.method ?? 'GET', c.target));
    expect(response.status).toBe(200);
    expect(upstream.map((r) => r.url)).toEqual([c.upstreamUrl]);
    for (const name of IDENTITY_HEADERS) expect(upstream[0]!.headers[name]).toBeUndefined();
  });
});

describe('tricks that reach the protected prefix still need the credential', () => {
  const protectedTargets = ['/%61pi/dashboard', '/ap%69/dashboard', '/api/%64ashboard', '/api', '/api?x=/docs/', '/api/'];
  const normalised: Record<string, string> = {
    '/%61pi/dashboard': '/api/dashboard',
    '/ap%69/dashboard': '/api/dashboard',
    '/api/%64ashboard': '/api/dashboard',
    '/api': '/api',
    '/api?x=/docs/': '/api?x=/docs/',
    '/api/': '/api/',
  };

  it.each(protectedTargets)('%s without a token: 401, nothing forwarded', async (target) => {
    const { response, upstream } = await exchange(t, http11('GET', target));
    expect(response.status).toBe(401);
    expect(jsonOf(response)?.['reason']).toBe('credentials_missing');
    expect(upstream).toEqual([]);
  });

  it.each(protectedTargets)('%s with a token: forwarded as its normalised path', async (target) => {
    const { response, upstream } = await exchange(t, http11('GET', target, [['Authorization', bearer]]));
    expect(response.status).toBe(200);
    expect(upstream.map((r) => r.url)).toEqual([normalised[target]]);
    expect(upstream[0]!.headers['x-portcullis-user']).toBe('my-operator');
  });

  it('the public home route takes GET only: POST / is 405 and not forwarded', async () => {
    const { response, upstream } = await exchange(t, http11('POST', '/?x=/api/dashboard', [['Content-Length', '0']]));
    expect(response.status).toBe(405);
    expect(upstream).toEqual([]);
  });
});

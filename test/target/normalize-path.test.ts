// Table-driven checks of request-target normalisation: every rejection rule, the RFC 3986 rewrites, and the
// guarantee that clean targets come back untouched.

import { describe, expect, it } from 'vitest';
import { normalizeRequestTarget, type TargetRejection } from '../../src/target/normalize-path.js';

type Accepted = [target: string, path: string, search: string];
type Rejected = [target: string, reason: TargetRejection];

function expectRejected(target: string, reason: TargetRejection, maxLength?: number): void {
  const r = normalizeRequestTarget(target, maxLength);
  expect(r.ok, `expected ${JSON.stringify(target)} to be rejected`).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  expect(r.status).toBe(reason === 'path_too_long' ? 414 : 400);
}

function expectAccepted(target: string, path: string, search: string): void {
  expect(normalizeRequestTarget(target)).toEqual({ ok: true, path, search });
}

describe('normalizeRequestTarget: clean targets', () => {
  const clean: string[] = [
    '/',
    '/api',
    '/api/',
    '/api/v1/tickets/123',
    '/API/Tickets',
    '/a/.../b',
    '/a/..b/c',
    '/a/b../c',
    '/.well-known/openid-configuration',
    '/.hidden',
    '/a/.x/',
    '/a-b_c~d/e.f',
    "/a!$&'()*+,=:@b",
    '/%20',
    '/a%3Fb',
    '/a%23b',
    '/%C3%A9t%C3%A9',
    '/%E2%82%AC',
    '/%F0%9F%98%80',
    '/%3A%40%2B',
  ];
  it.each(clean)('%j is returned unchanged', (target) => {
    const r = normalizeRequestTarget(target);
    expect(r).toEqual({ ok: true, path: target, search: '' });
    // The fast path hands back the very same string instead of a copy.
    if (r.ok) expect(r.path).toBe(target);
  });

  const withQuery: Accepted[] = [
    ['/a?b=c', '/a', '?b=c'],
    ['/?x', '/', '?x'],
    ['/a?', '/a', '?'],
    ['/a??b', '/a', '??b'],
    ['/a?next=/admin/../x', '/a', '?next=/admin/../x'],
    ['/a?p=%2e%2e%2f%2F%5c%00%zz%', '/a', '?p=%2e%2e%2f%2F%5c%00%zz%'],
    ['/a?x=1;y=2&z=\\', '/a', '?x=1;y=2&z=\\'],
    ['/a?//x', '/a', '?//x'],
    ['/a?q=%61', '/a', '?q=%61'],
    ['/%61?q=%61', '/a', '?q=%61'],
  ];
  it.each(withQuery)('%j keeps its query verbatim', expectAccepted);
});

describe('normalizeRequestTarget: RFC 3986 rewrites', () => {
  const cases: Accepted[] = [
    ['/%61pi/x', '/api/x', ''],
    ['/%41PI', '/API', ''],
    ['/%7e%7E', '/~~', ''],
    ['/%2D%5F%2E%30', '/-_.0', ''],
    ['/a/%2e%2e%2e', '/a/...', ''],
    ['/a/%2ex', '/a/.x', ''],
    ['/a/x%2E', '/a/x.', ''],
    ['/%2e%2ehidden', '/..hidden', ''],
    ['/a%3fb', '/a%3Fb', ''],
    ['/a%3a%40', '/a%3A%40', ''],
    ['/%c3%a9', '/%C3%A9', ''],
    ['/%C3%a9', '/%C3%A9', ''],
    ['/%e2%82%ac/x', '/%E2%82%AC/x', ''],
    ['/%f0%9f%98%80', '/%F0%9F%98%80', ''],
    ['/%20%2b', '/%20%2B', ''],
    ['/mixed/%61%3f%62?q=%61', '/mixed/a%3Fb', '?q=%61'],
    ['/api/', '/api/', ''],
  ];
  it.each(cases)('%j → %j', expectAccepted);

  it('preserves case outside escapes', () => {
    expectAccepted('/Api/%61BC', '/Api/aBC', '');
  });
});

describe('normalizeRequestTarget: target form', () => {
  const cases: string[] = [
    '',
    '*',
    'http://host/x',
    'https://host:443/x',
    'HTTP://host/x',
    'host:443',
    'example.com:80',
    'api/x',
    '?x',
    '//evil.example/x',
    '//',
    '\\x',
    '%2Fx',
  ];
  it.each(cases)('%j is not origin-form', (target) => expectRejected(target, 'target_form'));
});

describe('normalizeRequestTarget: length', () => {
  it('accepts a target of exactly maxLength', () => {
    const target = '/' + 'a'.repeat(8191);
    expectAccepted(target, target, '');
  });
  it('rejects one byte over the default of 8192 with 414', () => {
    expectRejected('/' + 'a'.repeat(8192), 'path_too_long');
  });
  it('counts the query towards the limit', () => {
    expectRejected('/a?' + 'q'.repeat(8190), 'path_too_long');
  });
  it('honours a custom limit', () => {
    expectAccepted('/abcd', '/abcd', '');
    expectRejected('/abcd', 'path_too_long', 4);
    expect(normalizeRequestTarget('/abc', 4).ok).toBe(true);
  });
  it('rejects very long targets without scanning them', () => {
    expectRejected('/' + '%2e/'.repeat(100_000), 'path_too_long');
  });
});

describe('normalizeRequestTarget: invalid characters and escapes', () => {
  const cases: string[] = [
    '/a#b',
    '/a#',
    '/#',
    '/a?b#c',
    '/a?#',
    '/a b',
    '/a\tb',
    '/a\nb',
    '/a\rb',
    '/a\u0000b',
    '/a\u001fb',
    '/a\u007fb',
    '/a\u0080b',
    '/caf\u00e9',
    '/\u00ff',
    '/\u20ac',
    '/\ud83d\ude00',
    '/a?q=a b',
    '/a?q=\u00e9',
    '/a?q=\u007f',
    '/a?q=\n',
    '/%',
    '/%4',
    '/%zz',
    '/%g0',
    '/%0g',
    '/a%',
    '/a%2',
    '/a%%41',
    '/%-1',
    '/%C3%zz',
    '/%E2%82%z0',
  ];
  it.each(cases)('%j is path_invalid', (target) => expectRejected(target, 'path_invalid'));
});

describe('normalizeRequestTarget: ambiguous paths', () => {
  const cases: Rejected[] = [
    // dot segments, raw and encoded, anywhere
    ['/.', 'path_ambiguous'],
    ['/..', 'path_ambiguous'],
    ['/./a', 'path_ambiguous'],
    ['/../a', 'path_ambiguous'],
    ['/a/.', 'path_ambiguous'],
    ['/a/..', 'path_ambiguous'],
    ['/a/./b', 'path_ambiguous'],
    ['/a/../b', 'path_ambiguous'],
    ['/a/./', 'path_ambiguous'],
    ['/a/../', 'path_ambiguous'],
    ['/a/..?x', 'path_ambiguous'],
    ['/%2e', 'path_ambiguous'],
    ['/%2E/a', 'path_ambiguous'],
    ['/a/%2e%2e/b', 'path_ambiguous'],
    ['/a/%2E%2E/b', 'path_ambiguous'],
    ['/a/.%2E/b', 'path_ambiguous'],
    ['/a/%2e./b', 'path_ambiguous'],
    ['/a/%2e%2e', 'path_ambiguous'],
    ['/a/%2e%2e?x=1', 'path_ambiguous'],
    // encoded slash and backslash
    ['/a%2fb', 'path_ambiguous'],
    ['/a%2Fb', 'path_ambiguous'],
    ['/a/%2F', 'path_ambiguous'],
    ['/a%5cb', 'path_ambiguous'],
    ['/a%5Cb', 'path_ambiguous'],
    ['/..%2f..%2fetc', 'path_ambiguous'],
    ['/..%5c..%5cwindows', 'path_ambiguous'],
    // raw backslash
    ['/a\\b', 'path_ambiguous'],
    ['/a\\..\\b', 'path_ambiguous'],
    ['/\\evil.example', 'path_ambiguous'],
    // double encoding
    ['/%25', 'path_ambiguous'],
    ['/%252e', 'path_ambiguous'],
    ['/%252E%252E/x', 'path_ambiguous'],
    ['/%252f', 'path_ambiguous'],
    ['/a%2541', 'path_ambiguous'],
    // path parameters
    ['/a;b', 'path_ambiguous'],
    ['/a;jsessionid=1', 'path_ambiguous'],
    ['/admin;/x', 'path_ambiguous'],
    ['/..;/admin', 'path_ambiguous'],
    ['/a%3bb', 'path_ambiguous'],
    ['/a%3Bb', 'path_ambiguous'],
    // empty segments
    ['/a//b', 'path_ambiguous'],
    ['/a/b//', 'path_ambiguous'],
    ['/a///', 'path_ambiguous'],
    ['/a//?x', 'path_ambiguous'],
    // encoded control characters
    ['/%00', 'path_ambiguous'],
    ['/a%00.html', 'path_ambiguous'],
    ['/a%0a', 'path_ambiguous'],
    ['/a%0D%0A', 'path_ambiguous'],
    ['/a%09', 'path_ambiguous'],
    ['/a%1F', 'path_ambiguous'],
    ['/a%7f', 'path_ambiguous'],
    // overlong and otherwise invalid UTF-8
    ['/%C0%AE', 'path_ambiguous'],
    ['/%c0%ae%c0%ae/x', 'path_ambiguous'],
    ['/%E0%80%AE', 'path_ambiguous'],
    ['/%C0%AF', 'path_ambiguous'],
    ['/%C1%9C', 'path_ambiguous'],
    ['/%E0%80%AF', 'path_ambiguous'],
    ['/%F0%80%80%AF', 'path_ambiguous'],
    ['/%F8%80%80%80%AF', 'path_ambiguous'],
    ['/%80', 'path_ambiguous'],
    ['/%BF', 'path_ambiguous'],
    ['/%C3', 'path_ambiguous'],
    ['/%C3/', 'path_ambiguous'],
    ['/%C3A', 'path_ambiguous'],
    ['/%C3%41', 'path_ambiguous'],
    ['/%C3%A9%A9', 'path_ambiguous'],
    ['/%E2%82', 'path_ambiguous'],
    ['/%ED%A0%80', 'path_ambiguous'],
    ['/%F4%90%80%80', 'path_ambiguous'],
    ['/%F5%80%80%80', 'path_ambiguous'],
    ['/%FF', 'path_ambiguous'],
    ['/%E2%82?%AC', 'path_ambiguous'],
  ];
  it.each(cases)('%j is %s', (target, reason) => expectRejected(target, reason));
});

describe('normalizeRequestTarget: results', () => {
  it('never echoes the input in the message', () => {
    const marker = 'SECRET<script>';
    for (const target of [`/${marker}%2f`, `/${marker}/..`, `http://${marker}`, `/${marker}#`, `/${marker}%zz`]) {
      const r = normalizeRequestTarget(target);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).not.toContain(marker);
    }
  });

  it('returns immutable rejections', () => {
    const r = normalizeRequestTarget('/a%2fb');
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('only ever returns a search that is empty or starts with "?"', () => {
    for (const target of ['/a', '/a?', '/a?b', '/%61?%61']) {
      const r = normalizeRequestTarget(target);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.search === '' || r.search.startsWith('?')).toBe(true);
    }
  });
});

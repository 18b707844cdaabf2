// Table-driven checks of which client headers reach the upstream, and of the forwarding headers and client
// address derived from a request.

import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, forwardedHeaders } from '../../src/rewrite/forwarded-headers.js';
import { HOP_BY_HOP_HEADERS, SPOOFABLE_ROUTING_HEADERS, canonicalHeaderName, compileHeaderPolicy, sanitizeRequestHeaders } from '../../src/rewrite/sanitize-headers.js';

const policy = compileHeaderPolicy({
  ownedNames: ['X-Remote-User', 'x-auth-subject', 'pcr_user'],
  ownedPrefixes: ['X-Portcullis-'],
  credentialNames: ['authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password', 'proxy-authorization'],
});

const BENIGN: IncomingHttpHeaders = {
  host: 'portal.example',
  'content-length': '42',
  'content-type': 'application/json',
  accept: '*/*',
  'user-agent': 'test',
  cookie: 'a=1; b=2',
  'x-request-id': 'abc',
  'x-forwarded-for-display': 'kept: not a routing header',
  'x-portcullis': 'kept: the prefix needs the trailing dash',
  'remote-user': 'kept: not owned',
};

function sanitize(extra: IncomingHttpHeaders): Record<string, string | string[]> {
  return sanitizeRequestHeaders({ ...BENIGN, ...extra }, policy);
}

function expectDropped(name: string, value: string | string[] = 'v'): void {
  const out = sanitize({ [name]: value });
  expect(Object.keys(out)).not.toContain(name);
  expect(out).toEqual(BENIGN);
}

describe('canonicalHeaderName', () => {
  const cases: [string, string][] = [
    ['x-forwarded-for', 'x-forwarded-for'],
    ['X-Forwarded-For', 'x-forwarded-for'],
    ['X_Forwarded_For', 'x-forwarded-for'],
    ['x.original.url', 'x-original-url'],
    ['X.Portcullis_User', 'x-portcullis-user'],
    ['PCR_AUTH.TOKEN', 'pcr-auth-token'],
    ['__', '--'],
    ['', ''],
    ['\u212Aeep-alive', '\u212Aeep-alive'],
  ];
  it.each(cases)('%j → %j', (name, canonical) => expect(canonicalHeaderName(name)).toBe(canonical));

  it('returns the same string when already canonical', () => {
    const name = 'x-already-canonical';
    expect(canonicalHeaderName(name)).toBe(name);
  });
});

describe('compileHeaderPolicy', () => {
  it('canonicalises every entry', () => {
    expect([...policy.ownedNames].sort()).toEqual(['pcr-user', 'x-auth-subject', 'x-remote-user']);
    expect(policy.ownedPrefixes).toEqual(['x-portcullis-']);
    expect(policy.credentialNames.has('pcr-auth-token')).toBe(true);
  });
  it('refuses empty names and prefixes', () => {
    expect(() => compileHeaderPolicy({ ownedNames: [], ownedPrefixes: [''], credentialNames: [] })).toThrow(TypeError);
    expect(() => compileHeaderPolicy({ ownedNames: [' '], ownedPrefixes: [], credentialNames: [] })).toThrow(TypeError);
  });
});

describe('sanitizeRequestHeaders: dropped classes', () => {
  it.each([...HOP_BY_HOP_HEADERS])('hop-by-hop %s', (name) => expectDropped(name));
  it.each([...SPOOFABLE_ROUTING_HEADERS])('routing %s', (name) => expectDropped(name));
  it.each(['authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password', 'proxy-authorization'])(
    'credential %s',
    (name) => expectDropped(name),
  );
  it.each(['x-remote-user', 'x-auth-subject', 'pcr-user'])('owned name %s', (name) => expectDropped(name));
  it.each(['x-portcullis-user', 'x-portcullis-roles', 'x-portcullis-'])('owned prefix %s', (name) => expectDropped(name));

  const variants: string[] = [
    'X-Forwarded-For',
    'X_Forwarded_For',
    'x.forwarded.for',
    'X.FORWARDED_for',
    'x.original.url',
    'X_ORIGINAL_URL',
    'X-HTTP-Method-Override',
    'x_http_method_override',
    'Forwarded',
    'X_Real_IP',
    'Authorization',
    'AUTHORIZATION',
    'PCR_AUTH_TOKEN',
    'pcr.auth.password',
    'Pcr-Auth_Username',
    'Proxy_Authorization',
    'X_Remote_User',
    'x.remote.user',
    'PCR.USER',
    'pcr_user',
    'X_PORTCULLIS_USER',
    'x.portcullis.anything',
    'X-Portcullis_Roles',
    'Transfer_Encoding',
    'Keep.Alive',
    'UPGRADE',
    'Connection',
  ];
  it.each(variants)('case and separator variant %s', (name) => expectDropped(name));

  it('drops array-valued dropped headers', () => {
    expectDropped('x-forwarded-for', ['1.2.3.4', '5.6.7.8']);
  });
});

describe('sanitizeRequestHeaders: Connection nomination', () => {
  const cases: [connection: string | string[], dropped: string[]][] = [
    ['x-request-id', ['x-request-id']],
    ['keep-alive, X-Request-Id', ['x-request-id']],
    ['close,cookie', ['cookie']],
    ['  Cookie \t,  accept  ', ['cookie', 'accept']],
    ['X_Request_ID', ['x-request-id']],
    ['x.request.id', ['x-request-id']],
    [['keep-alive', 'cookie'], ['cookie']],
    [',,, ,', []],
    ['keep-alive', []],
    ['close', []],
    // Host and Content-Length are never removed on a client's say-so.
    ['host, content-length', []],
  ];
  it.each(cases)('Connection: %j drops %j', (connection, dropped) => {
    // Node always joins Connection into a string; the array form is for callers that build headers by hand.
    const out = sanitize({ connection } as IncomingHttpHeaders);
    expect(out).not.toHaveProperty('connection');
    for (const name of Object.keys(BENIGN)) {
      if (dropped.includes(name)) expect(out).not.toHaveProperty(name);
      else expect(out[name]).toEqual(BENIGN[name]);
    }
  });

  it('honours a Connection key in any spelling', () => {
    const out = sanitizeRequestHeaders({ ...BENIGN, Connection: 'x-request-id' }, policy);
    expect(out).not.toHaveProperty('x-request-id');
    expect(out).not.toHaveProperty('Connection');
  });

  it('drops nominated headers whatever their own spelling', () => {
    const out = sanitizeRequestHeaders({ connection: 'x-custom-thing', X_Custom_Thing: '1', a: 'b' }, policy);
    expect(out).toEqual({ a: 'b' });
  });
});

describe('sanitizeRequestHeaders: kept headers', () => {
  it('keeps benign headers, host and content-length exactly', () => {
    expect(sanitize({})).toEqual(BENIGN);
  });

  it('drops transfer-encoding but keeps content-length', () => {
    const out = sanitize({ 'transfer-encoding': 'chunked' });
    expect(out['content-length']).toBe('42');
    expect(out).not.toHaveProperty('transfer-encoding');
  });

  it('copies array values instead of sharing them', () => {
    const input: IncomingHttpHeaders = { 'x-multi': ['a', 'b'] };
    const out = sanitizeRequestHeaders(input, policy);
    expect(out['x-multi']).toEqual(['a', 'b']);
    expect(out['x-multi']).not.toBe(input['x-multi']);
  });

  it('skips undefined values', () => {
    const out = sanitizeRequestHeaders({ a: undefined, b: 'x' }, policy);
    expect(Object.keys(out)).toEqual(['b']);
  });

  it('drops a header literally named __proto__ instead of touching the prototype', () => {
    const input = JSON.parse('{"__proto__":["x"],"a":"b"}') as IncomingHttpHeaders;
    const out = sanitizeRequestHeaders(input, policy);
    expect(Object.keys(out)).toEqual(['a']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('gives the same answer on repeated calls with the verdict cache warm', () => {
    const input: IncomingHttpHeaders = { ...BENIGN, authorization: 'x', X_Remote_User: 'y', connection: 'cookie' };
    const first = sanitizeRequestHeaders(input, policy);
    for (let i = 0; i < 3; i++) expect(sanitizeRequestHeaders(input, policy)).toEqual(first);
    expect(first).not.toHaveProperty('cookie');
    expect(first).not.toHaveProperty('X_Remote_User');
  });

  it('keeps deciding correctly after many distinct header names', () => {
    for (let i = 0; i < 3000; i++) sanitizeRequestHeaders({ [`x-noise-${i}`]: '1' }, policy);
    expect(sanitize({ 'X.Portcullis.User': 'admin', 'x-noise-1': '1' })).toEqual({ ...BENIGN, 'x-noise-1': '1' });
  });

  it('does not mutate the input', () => {
    const input: IncomingHttpHeaders = {
      ...BENIGN,
      connection: 'keep-alive, x-request-id',
      authorization: 'Basic Zm9vOmJhcg==',
      'x-forwarded-for': '1.2.3.4',
      'x-portcullis-user': 'admin',
      'x-multi': ['a', 'b'],
    };
    const snapshot = structuredClone(input);
    const multi = input['x-multi'];
    const out = sanitizeRequestHeaders(input, policy);
    expect(out).not.toBe(input);
    expect(input).toEqual(snapshot);
    expect(input['x-multi']).toBe(multi);
    out['x-multi'] = 'changed';
    expect(input['x-multi']).toEqual(['a', 'b']);
  });
});

describe('forwardedHeaders', () => {
  type Case = {
    name: string;
    incoming: IncomingHttpHeaders;
    peerAddress: string;
    encrypted: boolean;
    trustedPeer: boolean;
    expected: { 'x-forwarded-for': string; 'x-forwarded-proto': string; 'x-forwarded-host': string };
  };
  const cases: Case[] = [
    {
      name: 'untrusted peer: client values replaced',
      incoming: {
        host: 'portal.example',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
      },
      peerAddress: '203.0.113.7',
      encrypted: false,
      trustedPeer: false,
      expected: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'portal.example' },
    },
    {
      name: 'untrusted peer over TLS, mapped IPv4',
      incoming: { host: 'portal.example:8443' },
      peerAddress: '::ffff:203.0.113.7',
      encrypted: true,
      trustedPeer: false,
      expected: {
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'portal.example:8443',
      },
    },
    {
      name: 'trusted peer: chain appended, proto and host kept',
      incoming: {
        host: 'internal:8080',
        'x-forwarded-for': '198.51.100.1, 10.0.0.2',
        'x-forwarded-proto': 'HTTPS',
        'x-forwarded-host': 'portal.example',
      },
      peerAddress: '10.0.0.3',
      encrypted: false,
      trustedPeer: true,
      expected: {
        'x-forwarded-for': '198.51.100.1, 10.0.0.2, 10.0.0.3',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'portal.example',
      },
    },
    {
      name: 'trusted peer without forwarding headers',
      incoming: { host: 'portal.example' },
      peerAddress: '::1',
      encrypted: true,
      trustedPeer: true,
      expected: { 'x-forwarded-for': '::1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'portal.example' },
    },
    {
      name: 'trusted peer with malformed values: socket values used',
      incoming: {
        host: 'portal.example',
        'x-forwarded-for': '198.51.100.1, <script>',
        'x-forwarded-proto': 'gopher',
        'x-forwarded-host': 'evil.example, other.example',
      },
      peerAddress: '10.0.0.3',
      encrypted: false,
      trustedPeer: true,
      expected: { 'x-forwarded-for': '10.0.0.3', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'portal.example' },
    },
    {
      name: 'trusted peer with ports and brackets in the chain',
      incoming: { host: 'h', 'x-forwarded-for': '198.51.100.1:4711, [2001:db8::1]:443, ::ffff:192.0.2.9' },
      peerAddress: '10.0.0.3',
      encrypted: false,
      trustedPeer: true,
      expected: {
        'x-forwarded-for': '198.51.100.1, 2001:db8::1, 192.0.2.9, 10.0.0.3',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'h',
      },
    },
    {
      name: 'malformed or missing Host',
      incoming: { host: 'bad host/with spaces' },
      peerAddress: '192.0.2.1',
      encrypted: false,
      trustedPeer: false,
      expected: { 'x-forwarded-for': '192.0.2.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': '' },
    },
    {
      name: 'IPv6 literal host',
      incoming: { host: '[2001:db8::1]:8443' },
      peerAddress: '2001:db8::2',
      encrypted: true,
      trustedPeer: false,
      expected: {
        'x-forwarded-for': '2001:db8::2',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': '[2001:db8::1]:8443',
      },
    },
  ];
  it.each(cases)('$name', ({ incoming, peerAddress, encrypted, trustedPeer, expected }) => {
    expect(forwardedHeaders({ incoming, peerAddress, encrypted, trustedPeer })).toEqual(expected);
  });
});

describe('clientAddress', () => {
  const cases: [name: string, incoming: IncomingHttpHeaders, peer: string, trusted: boolean, expected: string][] = [
    ['untrusted ignores XFF', { 'x-forwarded-for': '6.6.6.6' }, '203.0.113.7', false, '203.0.113.7'],
    ['untrusted strips ::ffff:', {}, '::ffff:203.0.113.7', false, '203.0.113.7'],
    ['untrusted keeps real IPv6', {}, '2001:db8::1', false, '2001:db8::1'],
    ['untrusted keeps ::ffff: without IPv4', {}, '::ffff:abcd', false, '::ffff:abcd'],
    ['trusted takes last entry', { 'x-forwarded-for': '6.6.6.6, 198.51.100.1' }, '10.0.0.3', true, '198.51.100.1'],
    ['trusted single entry', { 'x-forwarded-for': '198.51.100.1' }, '10.0.0.3', true, '198.51.100.1'],
    ['trusted strips ::ffff:', { 'x-forwarded-for': '::FFFF:198.51.100.1' }, '10.0.0.3', true, '198.51.100.1'],
    ['trusted with port', { 'x-forwarded-for': '198.51.100.1:5000' }, '10.0.0.3', true, '198.51.100.1'],
    ['trusted bracketed IPv6', { 'x-forwarded-for': '[2001:db8::1]:5000' }, '10.0.0.3', true, '2001:db8::1'],
    ['trusted array', { 'x-forwarded-for': ['6.6.6.6', '198.51.100.2'] }, '10.0.0.3', true, '198.51.100.2'],
    ['trusted without XFF', {}, '::ffff:10.0.0.3', true, '10.0.0.3'],
    ['trusted malformed last entry', { 'x-forwarded-for': '1.2.3.4, nonsense' }, '10.0.0.3', true, '10.0.0.3'],
    ['trusted empty last entry', { 'x-forwarded-for': '1.2.3.4,' }, '10.0.0.3', true, '10.0.0.3'],
  ];
  it.each(cases)('%s', (_name, incoming, peerAddress, trustedPeer, expected) => {
    expect(clientAddress({ incoming, peerAddress, trustedPeer })).toBe(expected);
  });
});

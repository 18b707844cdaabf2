// PCR-360 anonymous mode through the real proxy: every request type × method × kind of key, the error formats,
// how key spellings are compared, and what the upstream sees in place of the client's key.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { send, type Reply } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { login } from '../helpers/oauth.js';
import { pcrLogin } from '../helpers/pcr.js';
import { rawRequest } from '../helpers/raw-http.js';

const UNKNOWN_KEY = 'no-such-key-0123456789';
const KEYS = {
  rw: SECRETS.rwKey,
  ro: SECRETS.roKey,
  legacy: PCR_ENV.PCR_LEGACY_KEY,
  expired: PCR_ENV.PCR_EXPIRED_KEY,
  unknown: UNKNOWN_KEY,
} as const;
type KeyName = keyof typeof KEYS;

/** Values that must never appear in anything the upstream receives. */
const CLIENT_SECRETS = [SECRETS.rwKey, SECRETS.roKey, PCR_ENV.PCR_LEGACY_KEY, PCR_ENV.PCR_EXPIRED_KEY, PCR_ENV.PCR_SHORT_KEY, UNKNOWN_KEY, SECRETS.apiUserPassword];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

const SQL_FORM = 'sql=SELECT+*+FROM+services+WHERE+name+%3D+%27a%26b%27';
const JSON_BODY = '{"subject":"printer on fire","priority":1}';

interface Target {
  tail: string;
  /** Section named in x-portcullis-section when forwarded. */
  section: string;
  output: string;
}

const TARGETS: readonly Target[] = [
  { tail: 'servicedesk.json', section: 'servicedesk', output: 'json' },
  { tail: 'servicedesk.SO.json', section: 'servicedesk', output: 'json' },
  { tail: 'servicedesk.IN.xml', section: 'servicedesk', output: 'xml' },
  { tail: 'services.php', section: 'services', output: 'php' },
  { tail: 'equipment.json', section: 'equipment', output: 'json' },
  { tail: 'snmp.xml', section: 'snmp', output: 'xml' },
  { tail: 'sql.json', section: '*', output: 'json' },
  { tail: 'rpt/42.html', section: 'servicedesk', output: 'html' },
  { tail: 'rpt/42.pdf', section: 'servicedesk', output: 'pdf' },
];

type Verdict = 'ok' | 'key_lacks_read' | 'key_lacks_write';

// [GET/HEAD, POST] per target, straight from the permissions in the test config: demo-ro reads servicedesk and
// services only; legacy reads every section and writes servicedesk only; sql reads every section even as a POST.
const PERMISSIONS: Record<'rw' | 'ro' | 'legacy', Record<string, readonly [Verdict, Verdict]>> = {
  rw: Object.fromEntries(TARGETS.map((t) => [t.tail, ['ok', 'ok'] as const])),
  ro: {
    'servicedesk.json': ['ok', 'key_lacks_write'],
    'servicedesk.SO.json': ['ok', 'key_lacks_write'],
    'servicedesk.IN.xml': ['ok', 'key_lacks_write'],
    'services.php': ['ok', 'key_lacks_write'],
    'equipment.json': ['key_lacks_read', 'key_lacks_write'],
    'snmp.xml': ['key_lacks_read', 'key_lacks_write'],
    'sql.json': ['key_lacks_read', 'key_lacks_read'],
    'rpt/42.html': ['ok', 'key_lacks_write'],
    'rpt/42.pdf': ['ok', 'key_lacks_write'],
  },
  legacy: {
    'servicedesk.json': ['ok', 'ok'],
    'servicedesk.SO.json': ['ok', 'ok'],
    'servicedesk.IN.xml': ['ok', 'ok'],
    'services.php': ['ok', 'key_lacks_write'],
    'equipment.json': ['ok', 'key_lacks_write'],
    'snmp.xml': ['ok', 'key_lacks_write'],
    'sql.json': ['ok', 'ok'],
    'rpt/42.html': ['ok', 'ok'],
    'rpt/42.pdf': ['ok', 'ok'],
  },
};

interface Expectation {
  status: number;
  reason?: string;
}

function expectationFor(key: KeyName, target: Target, method: Method): Expectation {
  // The key is judged before anything else, so an unknown or expired key learns nothing about methods or types.
  if (key === 'unknown') return { status: 401, reason: 'api_key_invalid' };
  if (key === 'expired') return { status: 401, reason: 'api_key_expired' };
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return { status: 405, reason: 'pcr_method_not_allowed' };
  const verdict = PERMISSIONS[key][target.tail]![method === 'POST' ? 1 : 0];
  return verdict === 'ok' ? { status: 200 } : { status: 403, reason: verdict };
}

function errorFormat(output: string): 'json' | 'xml' | 'php' {
  return output === 'xml' || output === 'php' ? output : 'json';
}

/** Checks a PCR error answer in the format the client asked for; HEAD answers carry no body to look at. */
function expectPcrError(reply: Reply, output: string, status: number, reason: string, method = 'GET'): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('cache-control')).toBe('no-store');
  if (status === 401) expect(reply.headers.get('www-authenticate')).not.toBeNull();
  if (status === 405) expect(reply.headers.get('allow')).toBe('GET, HEAD, POST');
  const format = errorFormat(output);
  const contentType = reply.headers.get('content-type') ?? '';
  if (method === 'HEAD') {
    expect(reply.text).toBe('');
    return;
  }
  switch (format) {
    case 'json':
      expect(contentType).toMatch(/^application\/json/);
      expect(JSON.parse(reply.text)).toMatchObject({ status: 'error', code: status, error: reason });
      break;
    case 'xml':
      expect(contentType).toMatch(/^application\/xml/);
      expect(reply.text).toMatch(/^<\?xml /);
      expect(reply.text).toContain('<status>error</status>');
      expect(reply.text).toContain(`<code>${status}</code>`);
      expect(reply.text).toContain(`<error>${reason}</error>`);
      break;
    case 'php':
      expect(contentType).toMatch(/^text\/plain/);
      expect(reply.text.startsWith('a:')).toBe(true);
      expect(reply.text).toContain('s:6:"status";s:5:"error";');
      expect(reply.text).toContain(`s:4:"code";i:${status};`);
      expect(reply.text).toContain(`s:5:"error";s:${reason.length}:"${reason}";`);
      break;
  }
}

function haystacks(request: RecordedRequest): string[] {
  let decoded = request.url;
  try {
    decoded = decodeURIComponent(request.url);
  } catch {
    // An undecodable URL is still searched as it arrived.
  }
  return [request.url, decoded, request.rawHeaders.join('\n'), request.body.toString('latin1')].map((s) => s.toLowerCase());
}

function expectNoClientSecrets(requests: readonly RecordedRequest[], extra: readonly string[] = []): void {
  for (const request of requests) {
    const texts = haystacks(request);
    for (const secret of [...CLIENT_SECRETS, ...extra]) {
      for (const text of texts) expect(text.includes(secret.toLowerCase()), `"${secret}" reached the upstream in ${request.method} ${request.url}`).toBe(false);
    }
  }
}

function header(request: RecordedRequest, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i]!.toLowerCase() === name) values.push(request.rawHeaders[i + 1]!);
  }
  return values;
}

/** Every header the upstream got whose name folds (case, '_', '.') to x-portcullis-*. */
function portcullisHeaders(request: RecordedRequest): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase().replace(/[_.]/g, '-');
    if (name.startsWith('x-portcullis-')) (out[name] ??= []).push(request.rawHeaders[i + 1]!);
  }
  return out;
}

const t = testProxyForSuite(withPcr());
let rwToken: string;
/** Every token this file obtained: none may reach the upstream either. */
const tokens: string[] = [];

beforeAll(async () => {
  rwToken = await pcrLogin(t.url, KEYS.rw);
  tokens.push(rwToken);
});

resetBeforeEachTest(t);

afterEach(() => {
  expectNoClientSecrets(t.upstream.requests, tokens);
});

function credentialHeaders(key: KeyName): Record<string, string> {
  return key === 'rw' ? { 'PCR-AUTH-TOKEN': rwToken } : {};
}

function upstreamPathFor(key: KeyName, tail: string): string {
  return key === 'legacy' ? `/api/${PCR_ENV.PCR_UPSTREAM_KEY}/${tail}` : `/api/${tail}`;
}

describe('anonymous mode: request type × method × key', () => {
  const cases = (Object.keys(KEYS) as KeyName[]).flatMap((key) =>
    TARGETS.flatMap((target) => METHODS.map((method) => ({ key, method, target, tail: target.tail, expected: expectationFor(key, target, method) }))),
  );

  it.each(cases)('$method /api/<$key>/$tail', async ({ key, method, target, expected }) => {
    const isSql = target.tail.startsWith('sql.');
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const body = hasBody ? (isSql ? SQL_FORM : JSON_BODY) : undefined;
    const headers: Record<string, string> = { ...credentialHeaders(key) };
    if (body !== undefined) headers['content-type'] = isSql ? 'application/x-www-form-urlencoded' : 'application/json';

    const reply = await send(`${t.url}/api/${KEYS[key]}/${target.tail}`, { method, headers, ...(body !== undefined ? { body } : {}) });

    if (expected.status !== 200) {
      expectPcrError(reply, target.output, expected.status, expected.reason!, method);
      expect(t.upstream.requests).toHaveLength(0);
      return;
    }
    expect(reply.status).toBe(200);
    expect(t.upstream.requests).toHaveLength(1);
    const seen = t.upstream.requests[0]!;
    expect(seen.method).toBe(method);
    expect(seen.url).toBe(upstreamPathFor(key, target.tail));
    const access = method === 'POST' && !isSql ? 'write' : 'read';
    expect(portcullisHeaders(seen)).toEqual({
      'x-portcullis-auth': [key === 'rw' ? 'api-session' : 'api-key'],
      ...(key === 'rw' ? { 'x-portcullis-user': ['api-user'] } : {}),
      'x-portcullis-api-key-id': [key === 'rw' ? 'demo-rw' : key === 'ro' ? 'demo-ro' : 'legacy'],
      'x-portcullis-section': [target.section],
      'x-portcullis-access': [access],
    });
    if (body !== undefined) expect(seen.body.toString('utf8')).toBe(body);
  });
});

describe('error bodies in the requested output format', () => {
  const errors = [
    { what: 'unknown key', key: UNKNOWN_KEY, type: 'servicedesk', method: 'GET', status: 401, reason: 'api_key_invalid' },
    { what: 'expired key', key: PCR_ENV.PCR_EXPIRED_KEY, type: 'servicedesk', method: 'GET', status: 401, reason: 'api_key_expired' },
    { what: 'read without permission', key: SECRETS.roKey, type: 'equipment', method: 'GET', status: 403, reason: 'key_lacks_read' },
    { what: 'write without permission', key: SECRETS.roKey, type: 'servicedesk', method: 'POST', status: 403, reason: 'key_lacks_write' },
    { what: 'unknown request type', key: SECRETS.roKey, type: 'tickets', method: 'GET', status: 404, reason: 'request_type_unknown' },
    { what: 'method PCR-360 does not take', key: SECRETS.roKey, type: 'servicedesk', method: 'PUT', status: 405, reason: 'pcr_method_not_allowed' },
  ];
  const cases = errors.flatMap((e) => (['json', 'xml', 'php'] as const).map((output) => ({ ...e, output })));

  it.each(cases)('$what as .$output', async ({ key, type, method, status, reason, output }) => {
    const reply = await send(`${t.url}/api/${key}/${type}.${output}`, { method });
    expectPcrError(reply, output, status, reason);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('the PHP error is a complete serialize() array whose string lengths are byte counts', async () => {
    const reply = await send(`${t.url}/api/${UNKNOWN_KEY}/servicedesk.php`);
    expect(reply.status).toBe(401);
    const message = 'the API key is not valid';
    expect(reply.text).toBe(
      `a:4:{s:6:"status";s:5:"error";s:4:"code";i:401;s:5:"error";s:15:"api_key_invalid";s:7:"message";s:${Buffer.byteLength(message)}:"${message}";}`,
    );
  });

  it('errors for reports and unspoken formats fall back to JSON', async () => {
    expectPcrError(await send(`${t.url}/api/${UNKNOWN_KEY}/rpt/42.pdf`), 'json', 401, 'api_key_invalid');
    expectPcrError(await send(`${t.url}/api/${SECRETS.roKey}/servicedesk.csv`), 'json', 400, 'output_unsupported');
    expectPcrError(await send(`${t.url}/api/${SECRETS.roKey}/rpt/42.json`), 'json', 400, 'output_unsupported');
    expectPcrError(await send(`${t.url}/api/${SECRETS.roKey}/rpt/42.xml`), 'xml', 400, 'output_unsupported');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('names that only look like request types are unknown, not inherited object properties', async () => {
    for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'SERVICEDESK', 'Servicedesk', 'servicedesk.XX', 'servicedesk.so', 'authlogin2']) {
      const reply = await send(`${t.url}/api/${SECRETS.roKey}/${type}.json`);
      expect(reply.status, type).toBe(404);
      expectPcrError(reply, 'json', 404, 'request_type_unknown');
    }
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('the key never reaches the upstream', () => {
  it('legacy: the client key is swapped for the backend key and the query passes verbatim', async () => {
    const reply = await send(`${t.url}/api/${PCR_ENV.PCR_LEGACY_KEY}/servicedesk.json?x=1`);
    expect(reply.status).toBe(200);
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/api/upstream-key-1/servicedesk.json?x=1']);

    const query = '?x=1&x=2&y=a%2Fb&z=%7e&w=%41+b&empty=&flag';
    await send(`${t.url}/api/${PCR_ENV.PCR_LEGACY_KEY}/servicedesk.SO.xml${query}`);
    expect(t.upstream.requests[1]!.url).toBe(`/api/upstream-key-1/servicedesk.SO.xml${query}`);
  });

  it('legacy reports keep their rpt/ID path behind the backend key', async () => {
    await send(`${t.url}/api/${PCR_ENV.PCR_LEGACY_KEY}/rpt/42.pdf?from=2026-01-01`);
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/api/upstream-key-1/rpt/42.pdf?from=2026-01-01']);
  });

  it('keys configured with upstreamKey remove: the key segment is dropped', async () => {
    await send(`${t.url}/api/${SECRETS.roKey}/servicedesk.json`);
    await send(`${t.url}/api/${SECRETS.roKey}/servicedesk.IN.php?id=7`);
    await send(`${t.url}/api/${SECRETS.roKey}/rpt/9.html`);
    await send(`${t.url}/api/${SECRETS.rwKey}/equipment.json`, { method: 'POST', headers: { 'PCR-AUTH-TOKEN': rwToken }, body: JSON_BODY });
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/api/servicedesk.json', '/api/servicedesk.IN.php?id=7', '/api/rpt/9.html', '/api/equipment.json']);
    expect(header(t.upstream.requests[3]!, 'pcr-auth-token')).toEqual([]);
  });

  it('sql as a form POST reaches the upstream with its body untouched and is marked as a read', async () => {
    const form = 'sql=SELECT%20name%2C%20status%20FROM%20equipment%20WHERE%20id%20%3E%2010';
    const reply = await send(`${t.url}/api/${PCR_ENV.PCR_LEGACY_KEY}/sql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(reply.status).toBe(200);
    const seen = t.upstream.requests[0]!;
    expect(seen.url).toBe('/api/upstream-key-1/sql.json');
    expect(seen.body.toString('latin1')).toBe(form);
    expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.headers['x-portcullis-access']).toBe('read');

    const denied = await send(`${t.url}/api/${SECRETS.roKey}/sql.json`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expectPcrError(denied, 'json', 403, 'key_lacks_read');
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('identity headers forged by the client are removed, however they are spelled', async () => {
    const forged = {
      'X-Portcullis-Auth': 'oauth',
      'X-Portcullis-User': 'root',
      'x-portcullis-api-key-id': 'demo-rw',
      'X-PORTCULLIS-SECTION': '*',
      X_Portcullis_Access: 'write',
      'X.Portcullis.Scope': 'admin',
      'X-Portcullis-Anything-Else': '1',
    };
    const reply = await send(`${t.url}/api/${SECRETS.roKey}/servicedesk.json`, { headers: forged });
    expect(reply.status).toBe(200);
    expect(portcullisHeaders(t.upstream.requests[0]!)).toEqual({
      'x-portcullis-auth': ['api-key'],
      'x-portcullis-api-key-id': ['demo-ro'],
      'x-portcullis-section': ['servicedesk'],
      'x-portcullis-access': ['read'],
    });

    await send(`${t.url}/api/${SECRETS.rwKey}/snmp.json`, { method: 'POST', headers: { ...forged, 'PCR-AUTH-TOKEN': rwToken }, body: JSON_BODY });
    expect(portcullisHeaders(t.upstream.requests[1]!)).toEqual({
      'x-portcullis-auth': ['api-session'],
      'x-portcullis-user': ['api-user'],
      'x-portcullis-api-key-id': ['demo-rw'],
      'x-portcullis-section': ['snmp'],
      'x-portcullis-access': ['write'],
    });
  });

  it('PCR credential headers sent to an anonymous key are not forwarded either', async () => {
    await send(`${t.url}/api/${SECRETS.roKey}/servicedesk.json`, {
      headers: { 'PCR-AUTH-TOKEN': rwToken, 'PCR-AUTH-USERNAME': 'api-user', 'PCR-AUTH-PASSWORD': SECRETS.apiUserPassword },
    });
    const seen = t.upstream.requests[0]!;
    for (const name of ['pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password']) expect(header(seen, name)).toEqual([]);
  });

  it('a key in the path of a request that carries an OAuth bearer token is not forwarded', async () => {
    const oauth = await login(t.url);
    expect(oauth.status).toBe(200);
    const accessToken = oauth.body['access_token'] as string;
    tokens.push(accessToken);
    for (const key of [SECRETS.roKey, PCR_ENV.PCR_LEGACY_KEY]) {
      const reply = await send(`${t.url}/api/${key}/servicedesk.json`, { headers: { authorization: `Bearer ${accessToken}` } });
      // Refusing the mixed request and forwarding it without the key are both safe; forwarding the key is not.
      if (reply.status === 200) expect(t.upstream.requests.at(-1)!.url).not.toContain(key);
      else expect(reply.status).toBeGreaterThanOrEqual(400);
    }
    expectNoClientSecrets(t.upstream.requests);
  });
});

describe('key spelling', () => {
  it('a key with its case changed is unknown', async () => {
    for (const key of ['DEMO-RO-KEY', 'Demo-ro-key', 'demo-RO-key', PCR_ENV.PCR_LEGACY_KEY.toUpperCase()]) {
      expectPcrError(await send(`${t.url}/api/${key}/servicedesk.json`), 'json', 401, 'api_key_invalid');
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a key with an encoded trailing or leading space is unknown', async () => {
    for (const path of [`/api/${SECRETS.roKey}%20/servicedesk.json`, `/api/%20${SECRETS.roKey}/servicedesk.json`, `/api/${SECRETS.roKey}+/servicedesk.json`]) {
      const reply = await rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: portal.example\r\nConnection: close\r\n\r\n`);
      expect(reply.status, path).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({ status: 'error', code: 401, error: 'api_key_invalid' });
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('percent-encoded characters outside the unreserved set make a different, unknown key', async () => {
    for (const suffix of ['%21', '%2B', '%2b', '%40', '%3A', '%C3%A9', '%E2%80%8B']) {
      expectPcrError(await send(`${t.url}/api/${SECRETS.roKey}${suffix}/servicedesk.json`), 'json', 401, 'api_key_invalid');
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('encoded control characters and encoded slashes are refused before any key lookup', async () => {
    for (const suffix of ['%00', '%09', '%0A', '%7F', '%2F']) {
      const reply = await send(`${t.url}/api/${SECRETS.roKey}${suffix}/servicedesk.json`);
      expect(reply.status, suffix).toBe(400);
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('percent-encoded unreserved characters are the same key (RFC 3986 equivalence) and the encoded form is not forwarded', async () => {
    const reply = await send(`${t.url}/api/%64emo-ro%2Dkey/servicedesk.json`);
    expect(reply.status).toBe(200);
    const legacyEncoded = `/api/%6c${PCR_ENV.PCR_LEGACY_KEY.slice(1)}/servicedesk.json`;
    expect((await send(t.url + legacyEncoded)).status).toBe(200);
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/api/servicedesk.json', '/api/upstream-key-1/servicedesk.json']);
  });

  it('overlong, empty or missing keys are refused and nothing is forwarded', async () => {
    expectPcrError(await send(`${t.url}/api/${'k'.repeat(300)}/servicedesk.json`), 'json', 401, 'api_key_invalid');
    expect((await send(`${t.url}/api//servicedesk.json`)).status).toBe(400);
    // No key segment at all is not a PCR call; without a bearer token it is simply unauthenticated.
    expect((await send(`${t.url}/api/servicedesk.json`)).status).toBe(401);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('the upstream key itself is not a client key', async () => {
    expectPcrError(await send(`${t.url}/api/${PCR_ENV.PCR_UPSTREAM_KEY}/servicedesk.json`), 'json', 401, 'api_key_invalid');
    expect(t.upstream.requests).toHaveLength(0);
  });
});

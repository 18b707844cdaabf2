// PCR-360 API keys in the path (withPcr): every method against a read-only key, method-override tricks, spelling
// variants of a key, a second key smuggled in through dot segments. The decision is made on the method and the
// normalised path that are forwarded, GET/HEAD read, POST writes, nothing else is a PCR-360 call; the client's
// key is swapped or removed before the upstream sees the path.

import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { PCR_ENV, withPcr } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { exchange, http11, jsonOf, type HeaderList } from './support.js';

const RO = SECRETS.roKey;
const RW = SECRETS.rwKey;
const LEGACY = PCR_ENV.PCR_LEGACY_KEY;

const t = testProxyForSuite(withPcr());

/** The PCR error body names the reason in `error`. */
function pcrReason(body: string): unknown {
  try {
    return (JSON.parse(body) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
}

function withBody(headers: HeaderList, body: string): HeaderList {
  return [...headers, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]];
}

describe('every method against a read-only key', () => {
  const path = `/api/${RO}/servicedesk.json`;

  it.each(['GET', 'HEAD'])('%s reads: forwarded with the key removed and read access asserted', async (method) => {
    const { response, upstream } = await exchange(t, http11(method, path));
    expect(response.status).toBe(200);
    expect(upstream.map((r) => [r.method, r.url])).toEqual([[method, '/api/servicedesk.json']]);
    expect(upstream[0]!.headers).toMatchObject({ 'x-portcullis-auth': 'api-key', 'x-portcullis-api-key-id': 'demo-ro', 'x-portcullis-section': 'servicedesk', 'x-portcullis-access': 'read' });
  });

  it('POST writes: 403 key_lacks_write, nothing forwarded', async () => {
    const { response, upstream } = await exchange(t, http11('POST', path, withBody([], 'status=closed'), 'status=closed'));
    expect(response.status).toBe(403);
    expect(pcrReason(response.body)).toBe('key_lacks_write');
    expect(upstream).toEqual([]);
  });

  it.each(['PUT', 'PATCH', 'DELETE', 'OPTIONS'])('%s is not a PCR-360 call: 405 with Allow, nothing forwarded', async (method) => {
    const { response, upstream } = await exchange(t, http11(method, path, withBody([], 'x=1'), 'x=1'));
    expect(response.status).toBe(405);
    expect(pcrReason(response.body)).toBe('pcr_method_not_allowed');
    expect(response.headers['allow']).toBe('GET, HEAD, POST');
    expect(upstream).toEqual([]);
  });

  it.each(['TRACE', 'PROPFIND', 'PURGE', 'MKCOL', 'LOCK', 'SEARCH', 'REPORT'])('%s is not a method of the route: 405, nothing forwarded', async (method) => {
    const { response, upstream } = await exchange(t, http11(method, path));
    expect(response.status).toBe(405);
    expect(jsonOf(response)?.['reason']).toBe('method_not_allowed');
    expect(upstream).toEqual([]);
  });

  it('CONNECT is never proxied: the connection is closed, nothing forwarded', async () => {
    const { response, upstream } = await exchange(t, http11('CONNECT', `portal.example:443`), { timeoutMs: 1000 });
    expect(response.status === null || response.status === 400).toBe(true);
    expect(upstream).toEqual([]);
  });

  it.each([
    ['GET a section it cannot read', 'GET', `/api/${RO}/equipment.json`, 403, 'key_lacks_read'],
    ['POST sql (reads every section)', 'POST', `/api/${RO}/sql.json`, 403, 'key_lacks_read'],
    ['POST a report', 'POST', `/api/${RO}/rpt/1.pdf`, 403, 'key_lacks_write'],
  ])('%s: refused, nothing forwarded', async (_name, method, target, status, reason) => {
    const { response, upstream } = await exchange(t, http11(method, target, withBody([], 'sql=SELECT+1'), 'sql=SELECT+1'));
    expect(response.status).toBe(status);
    expect(pcrReason(response.body)).toBe(reason);
    expect(upstream).toEqual([]);
  });
});

describe('forged identity on the key face', () => {
  it('the upstream sees only what the key grants, whatever the client claims', async () => {
    const forged: HeaderList = [
      ['X-Portcullis-Access', 'write'],
      ['X_Portcullis_Api_Key_Id', 'demo-rw'],
      ['x.portcullis.section', '*'],
      ['X-Portcullis-User', 'admin'],
      ['X-Portcullis-Auth', 'oauth'],
      ['Connection', 'close, X-Portcullis-Access, X-Portcullis-Api-Key-Id'],
    ];
    const { response, upstream } = await exchange(t, http11('GET', `/api/${RO}/servicedesk.json`, forged));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    const owned: Array<[string, string]> = [];
    const raw = upstream[0]!.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (/^x[-_.]portcullis[-_.]/i.test(raw[i]!)) owned.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    expect(owned.sort()).toEqual(
      [
        ['x-portcullis-auth', 'api-key'],
        ['x-portcullis-api-key-id', 'demo-ro'],
        ['x-portcullis-section', 'servicedesk'],
        ['x-portcullis-access', 'read'],
      ].sort(),
    );
  });
});

describe('method-override tricks against a section without write', () => {
  const path = `/api/${RO}/servicedesk.json`;

  it.each<[string, string, HeaderList, string]>([
    ['X-HTTP-Method-Override: GET', path, [['X-HTTP-Method-Override', 'GET']], ''],
    ['X-HTTP-Method and X-Method-Override: GET', path, [['X-HTTP-Method', 'GET'], ['X-Method-Override', 'GET']], ''],
    ['x_http_method_override: HEAD', path, [['x_http_method_override', 'HEAD']], ''],
    ['_method=GET in the query', `${path}?_method=GET`, [], ''],
    ['_method=GET in the body', path, [], '_method=GET'],
    ['every override at once', `${path}?_method=GET&X-HTTP-Method-Override=GET`, [['X-HTTP-Method-Override', 'GET'], ['X-Original-Method', 'GET']], '_method=GET'],
  ])('POST with %s: still 403, nothing forwarded', async (_name, target, headers, body) => {
    const { response, upstream } = await exchange(t, http11('POST', target, withBody(headers, body), body));
    expect(response.status).toBe(403);
    expect(pcrReason(response.body)).toBe('key_lacks_write');
    expect(upstream).toEqual([]);
  });

  it('GET with X-HTTP-Method-Override: POST is a read, and the override never reaches the upstream', async () => {
    const { response, upstream } = await exchange(t, http11('GET', path, [['X-HTTP-Method-Override', 'POST'], ['X_HTTP_Method_Override', 'DELETE']]));
    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.method).toBe('GET');
    expect(upstream[0]!.rawHeaders.some((name) => /method/i.test(name))).toBe(false);
  });
});

describe('spelling variants of a key', () => {
  it.each([
    ['upper case', `/api/${RO.toUpperCase()}/servicedesk.json`],
    ['one letter in another case', `/api/D${RO.slice(1)}/servicedesk.json`],
    ['an encoded trailing space', `/api/${RO}%20/servicedesk.json`],
    ['an encoded leading space', `/api/%20${RO}/servicedesk.json`],
    ['a trailing +', `/api/${RO}+/servicedesk.json`],
    ['a trailing dot', `/api/${RO}./servicedesk.json`],
    ['an encoded non-breaking space', `/api/${RO}%C2%A0/servicedesk.json`],
    ['a truncated key', `/api/${RO.slice(0, -1)}/servicedesk.json`],
    ['the key id instead of the key', '/api/demo-ro/servicedesk.json'],
    ['an expired key', `/api/${PCR_ENV.PCR_EXPIRED_KEY}/servicedesk.json`],
  ])('%s: 401, nothing forwarded', async (_name, target) => {
    const { response, upstream } = await exchange(t, http11('GET', target));
    expect(response.status).toBe(401);
    expect(pcrReason(response.body)).toMatch(/^api_key_(invalid|expired)$/);
    expect(upstream).toEqual([]);
  });

  it.each([
    ['a raw trailing space', `/api/${RO} /servicedesk.json`],
    ['a raw tab', `/api/${RO}\t/servicedesk.json`],
    ['an encoded tab', `/api/${RO}%09/servicedesk.json`],
    ['an encoded NUL', `/api/${RO}%00/servicedesk.json`],
    ['a path parameter', `/api/${RO};v=1/servicedesk.json`],
  ])('%s: 400, nothing forwarded', async (_name, target) => {
    const { response, upstream } = await exchange(t, http11('GET', target));
    expect(response.status).toBe(400);
    expect(upstream).toEqual([]);
  });

  it.each([
    ['unreserved characters percent-encoded', `/api/%64emo-ro-%6Bey/servicedesk.json`],
    ['every character percent-encoded', `/api/${[...RO].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}/servicedesk.json`],
  ])('%s: the same key, the same decision, and the same forwarded path', async (_name, target) => {
    const read = await exchange(t, http11('GET', target));
    expect(read.response.status).toBe(200);
    expect(read.upstream.map((r) => r.url)).toEqual(['/api/servicedesk.json']);
    const write = await exchange(t, http11('POST', target, withBody([], 'x=1'), 'x=1'));
    expect(write.response.status).toBe(403);
    expect(write.upstream).toEqual([]);
  });
});

describe('a second key smuggled into the path', () => {
  it.each([
    `/api/${RO}/../${RW}/servicedesk.json`,
    `/api/${RO}/%2e%2e/${RW}/servicedesk.json`,
    `/api/${RO}/%2E%2E/${LEGACY}/servicedesk.json`,
    `/api/${RO}/.%2e/${LEGACY}/servicedesk.json`,
    `/api/${RO}/%252e%252e/${LEGACY}/servicedesk.json`,
    `/api/${RO}%2f..%2f${LEGACY}/servicedesk.json`,
    `/api/${RO}/..%2f${LEGACY}/servicedesk.json`,
    `/api/${RO}/..%5c${LEGACY}/servicedesk.json`,
    `/api/${RO}/..;/${LEGACY}/servicedesk.json`,
    `/api/${RO}/%c0%ae%c0%ae/${LEGACY}/servicedesk.json`,
    `/api/${RO}//${LEGACY}/servicedesk.json`,
    `/api/${RO}%EF%BC%8F..%EF%BC%8F${LEGACY}/servicedesk.json`,
    `/api/unknown/../${LEGACY}/servicedesk.json`,
  ])('%s: 400, nothing forwarded', async (target) => {
    for (const method of ['GET', 'POST']) {
      const { response, upstream } = await exchange(t, http11(method, target, withBody([], 'x=1'), 'x=1'));
      expect(response.status).toBe(400);
      expect(upstream).toEqual([]);
    }
  });

  it('two keys in a row are not a PCR-360 path: 401, nothing forwarded', async () => {
    const { response, upstream } = await exchange(t, http11('GET', `/api/${RO}/${LEGACY}/servicedesk.json`));
    expect(response.status).toBe(401);
    expect(upstream).toEqual([]);
  });

  it('a bearer token beside a key in the path is two credentials: 400, nothing forwarded', async () => {
    const token = await accessToken(t.url);
    const { response, upstream } = await exchange(t, http11('GET', `/api/${LEGACY}/servicedesk.json`, [['Authorization', `Bearer ${token}`]]));
    expect(response.status).toBe(400);
    expect(jsonOf(response)?.['reason']).toBe('credentials_conflicting');
    expect(upstream).toEqual([]);
  });
});

describe('request types and outputs', () => {
  it.each([
    ['__proto__.json', 404, 'request_type_unknown'],
    ['constructor.json', 404, 'request_type_unknown'],
    ['toString.json', 404, 'request_type_unknown'],
    ['hasOwnProperty.json', 404, 'request_type_unknown'],
    ['SERVICEDESK.json', 404, 'request_type_unknown'],
    ['servicedesk.JSON', 400, 'output_unsupported'],
    ['servicedesk.html', 400, 'output_unsupported'],
  ])('%s: %s, nothing forwarded', async (file, status, reason) => {
    const { response, upstream } = await exchange(t, http11('GET', `/api/${RO}/${file}`));
    expect(response.status).toBe(status);
    expect(pcrReason(response.body)).toBe(reason);
    expect(upstream).toEqual([]);
  });
});

describe('keys with token authentication and swapped keys', () => {
  it('a token-auth key without a session token: 401, nothing forwarded', async () => {
    const { response, upstream } = await exchange(t, http11('GET', `/api/${RW}/servicedesk.json`));
    expect(response.status).toBe(401);
    expect(pcrReason(response.body)).toBe('session_token_missing');
    expect(upstream).toEqual([]);
  });

  it('the legacy key is swapped for the upstream key: the client key never reaches the upstream', async () => {
    const { response, upstream } = await exchange(t, http11('GET', `/api/${LEGACY}/servicedesk.json?x=1`));
    expect(response.status).toBe(200);
    expect(upstream.map((r) => r.url)).toEqual([`/api/${PCR_ENV.PCR_UPSTREAM_KEY}/servicedesk.json?x=1`]);
    expect(JSON.stringify(upstream[0]!.rawHeaders)).not.toContain(LEGACY);
  });
});

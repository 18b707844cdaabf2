// The demo backend: every route and output format, the identity echo and the credential flag that the
// proxy's own integration tests and the quick-start rely on.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_IDENTITY_HEADERS,
  PATH_KEY_CREDENTIAL,
  buildPdf,
  serializePhp,
  startDemoBackend,
  type DemoBackend,
  type ReceivedRequest,
} from '../../src/demo/backend.js';
import { rawRequest } from '../helpers/raw-http.js';

const CLIENT_KEY = 'client-key-0123456789';
const UPSTREAM_KEY = 'upstream-key-1';

let backend: DemoBackend;

beforeAll(async () => {
  backend = await startDemoBackend({ clientKeysToFlag: (segment) => segment === CLIENT_KEY });
});

afterAll(async () => {
  await backend.close();
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const res = await fetch(backend.url + path, init);
  const text = await res.text();
  const isJson = res.headers.get('content-type')?.startsWith('application/json') ?? false;
  return { status: res.status, headers: res.headers, text, json: isJson && text !== '' ? JSON.parse(text) : undefined };
}

/** A strict reader of PHP serialize() output that counts string lengths in bytes, as PHP does. */
function unserializePhp(input: Buffer): unknown {
  let pos = 0;
  const expectText = (text: string) => {
    const actual = input.subarray(pos, pos + text.length).toString('latin1');
    if (actual !== text) throw new Error(`expected ${JSON.stringify(text)} at byte ${pos}, got ${JSON.stringify(actual)}`);
    pos += text.length;
  };
  const readUntil = (end: string) => {
    const at = input.indexOf(end, pos);
    if (at < 0) throw new Error(`missing ${end} after byte ${pos}`);
    const text = input.subarray(pos, at).toString('latin1');
    pos = at + 1;
    return text;
  };
  const value = (): unknown => {
    const type = String.fromCharCode(input[pos++]!);
    if (type === 'N') {
      expectText(';');
      return null;
    }
    expectText(':');
    switch (type) {
      case 'b':
        return readUntil(';') === '1';
      case 'i':
        return Number(readUntil(';'));
      case 'd':
        return Number(readUntil(';'));
      case 's': {
        const length = Number(readUntil(':'));
        expectText('"');
        const text = input.subarray(pos, pos + length).toString('utf8');
        pos += length;
        expectText('";');
        return text;
      }
      case 'a': {
        const count = Number(readUntil(':'));
        expectText('{');
        const entries: [unknown, unknown][] = [];
        for (let i = 0; i < count; i++) entries.push([value(), value()]);
        expectText('}');
        const isList = entries.every(([key], i) => key === i);
        return isList ? entries.map(([, v]) => v) : Object.fromEntries(entries);
      }
      default:
        throw new Error(`unknown type ${type} at byte ${pos - 1}`);
    }
  };
  const result = value();
  if (pos !== input.length) throw new Error(`trailing bytes after ${pos}`);
  return result;
}

/** JSON as PHP sees it: an empty object and an empty list are the same empty array. */
function asPhpShape(json: string): unknown {
  return JSON.parse(json, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? [] : v,
  );
}

/** Checks that tags nest and close properly and that no bare `&` or `<` sits in text. */
function assertWellFormedXml(xml: string): void {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
  const stack: string[] = [];
  const body = xml.slice(xml.indexOf('?>') + 2);
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of body.matchAll(tag)) {
    const text = body.slice(last, m.index);
    expect(text).not.toMatch(/<|&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/);
    last = m.index + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name!);
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

describe('index and errors', () => {
  it('describes itself at /', async () => {
    const { status, json } = await call('/');
    expect(status).toBe(200);
    expect(json.pcr360.outputs).toEqual(['json', 'xml', 'php']);
    expect(json.received).toMatchObject({ method: 'GET', path: '/' });
  });

  it('answers 404 JSON for unknown paths, unknown requests and unknown ticket ids', async () => {
    for (const path of ['/nope', '/api/unknown', `/api/${UPSTREAM_KEY}/bogus.json`, '/api/tickets/9999', '/api/tickets/abc']) {
      const { status, json } = await call(path);
      expect(status, path).toBe(404);
      expect(json.error).toBe('not_found');
      expect(json.received.path).toBe(path);
    }
  });

  it('answers 405 with Allow for a method a route does not take', async () => {
    const dashboard = await call('/api/dashboard', { method: 'DELETE' });
    expect(dashboard.status).toBe(405);
    expect(dashboard.headers.get('allow')).toBe('GET, HEAD');
    expect(dashboard.json.error).toBe('method_not_allowed');

    const sql = await call(`/api/${UPSTREAM_KEY}/sql.json`);
    expect(sql.status).toBe(405);
    expect(sql.headers.get('allow')).toBe('POST');

    const report = await call('/api/rpt/7.pdf', { method: 'POST', body: '' });
    expect(report.status).toBe(405);
  });

  it('answers 400 for a path that does not percent-decode and for an unsupported output format', async () => {
    expect((await call('/api/%zz/services.json')).json.error).toBe('bad_path');
    const csv = await call(`/api/${UPSTREAM_KEY}/services.csv`);
    expect(csv.status).toBe(400);
    expect(csv.json.error).toBe('unsupported_output');
  });

  it('serves absolute-form request targets', async () => {
    const res = await rawRequest(
      backend.port,
      'GET http://portal.example/api/dashboard HTTP/1.1\r\nHost: portal.example\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).dashboard.openTickets).toBeGreaterThan(0);
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await fetch(`${backend.url}/api/dashboard`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await res.text()).toBe('');
  });
});

describe('identity echo and credential flag', () => {
  it('echoes every identity header present and nothing else', async () => {
    const { json } = await call('/api/dashboard', {
      headers: { 'X-Portcullis-User': 'alice', 'x-portcullis-auth': 'oauth', 'x-unrelated': 'no' },
    });
    expect(json.received.identity).toEqual({ 'x-portcullis-user': 'alice', 'x-portcullis-auth': 'oauth' });
    expect(json.received.credentialsSeen).toEqual([]);
  });

  it('lists every credential header that arrived', async () => {
    const { json } = await call('/api/tickets', {
      headers: {
        authorization: 'Bearer leaked',
        'pcr-auth-token': 't',
        'pcr-auth-username': 'u',
        'pcr-auth-password': 'p',
      },
    });
    expect(json.received.credentialsSeen).toEqual(['authorization', 'pcr-auth-token', 'pcr-auth-username', 'pcr-auth-password']);
  });

  it("flags a client's API key in the path but not the upstream's", async () => {
    const leaked = await call(`/api/${CLIENT_KEY}/services.json`);
    expect(leaked.json.received.credentialsSeen).toEqual([PATH_KEY_CREDENTIAL]);
    const swapped = await call(`/api/${UPSTREAM_KEY}/services.json`);
    expect(swapped.json.received.credentialsSeen).toEqual([]);
  });

  it('takes the identity header names as an option and finds roles by suffix', async () => {
    const custom = await startDemoBackend({ identityHeaders: ['X-Acme-User', 'x-acme-teams'], credentialHeaders: ['cookie'] });
    try {
      const res = await fetch(`${custom.url}/api/operators/me`, {
        headers: { 'x-acme-user': 'bob', 'x-acme-teams': 'network, desk', 'x-portcullis-user': 'ignored', cookie: 'a=b' },
      });
      const json = (await res.json()) as { operator: Record<string, unknown>; received: ReceivedRequest };
      expect(json.operator).toMatchObject({ login: 'bob', teams: ['network', 'desk'] });
      expect(json.received.identity).toEqual({ 'x-acme-user': 'bob', 'x-acme-teams': 'network, desk' });
      expect(json.received.credentialsSeen).toEqual(['cookie']);
    } finally {
      await custom.close();
    }
  });
});

describe('Cockpit-style routes', () => {
  it('GET /api/dashboard returns small numbers', async () => {
    const { status, json } = await call('/api/dashboard');
    expect(status).toBe(200);
    expect(json.dashboard).toMatchObject({ openTickets: expect.any(Number), slaBreaches: expect.any(Number) });
    expect(json.received).toEqual({ method: 'GET', path: '/api/dashboard', identity: {}, credentialsSeen: [] });
  });

  it('lists three tickets and shows one', async () => {
    const list = await call('/api/tickets?page=1');
    expect(list.json.tickets).toHaveLength(3);
    expect(list.json.received.path).toBe('/api/tickets?page=1');
    const one = await call('/api/tickets/1002');
    expect(one.json.ticket).toMatchObject({ id: 1002, status: 'in_progress' });
  });

  it('creates a ticket from a JSON body and echoes it with 201', async () => {
    const { status, headers, json } = await call('/api/tickets', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Écran noir', priority: 'high' }),
    });
    expect(status).toBe(201);
    expect(headers.get('location')).toBe('/api/tickets/1004');
    expect(json.ticket).toEqual({ title: 'Écran noir', priority: 'high', id: 1004 });
    expect(json.received.method).toBe('POST');
  });

  it('rejects bad JSON, a non-object body and an oversized body without going down', async () => {
    const post = (body: string, type = 'application/json') =>
      call('/api/tickets', { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('{"title":')).json).toMatchObject({ error: 'invalid_json' });
    expect((await post('[1,2]')).json).toMatchObject({ error: 'invalid_body' });
    expect((await post('null')).status).toBe(400);
    expect((await post('<x/>', 'application/xml')).json).toMatchObject({ error: 'unsupported_content_type' });
    const big = await post(JSON.stringify({ blob: 'x'.repeat(1024 * 1024) }));
    expect(big.status).toBe(413);
    expect((await call('/api/dashboard')).status).toBe(200);
  });

  it('replaces with PUT, merges with PATCH and deletes with 204', async () => {
    const put = await call('/api/tickets/1001', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Replaced' }),
    });
    expect(put.json.ticket).toEqual({ title: 'Replaced', id: 1001 });

    const patch = await call('/api/tickets/1001', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'resolved' }),
    });
    expect(patch.json.ticket).toMatchObject({ id: 1001, status: 'resolved', title: 'Printer on 3rd floor offline' });

    const del = await call('/api/tickets/1003', { method: 'DELETE', headers: { 'x-portcullis-user': 'alice' } });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const received = JSON.parse(del.headers.get('x-demo-received')!) as ReceivedRequest;
    expect(received).toMatchObject({ method: 'DELETE', identity: { 'x-portcullis-user': 'alice' } });
  });

  it('GET /api/operators/me returns who the identity headers say', async () => {
    const { json } = await call('/api/operators/me', {
      headers: {
        'x-portcullis-auth': 'oauth',
        'x-portcullis-user': 'op-api',
        'x-portcullis-client-id': 'public-api-client',
        'x-portcullis-scope': 'public-api',
        'x-portcullis-teams': 'Network,Service Desk',
        'x-portcullis-organizations': 'ACME',
        'x-portcullis-features': '',
      },
    });
    expect(json.operator).toEqual({
      login: 'op-api',
      authMethod: 'oauth',
      clientId: 'public-api-client',
      scope: 'public-api',
      teams: ['Network', 'Service Desk'],
      organizations: ['ACME'],
      features: [],
    });
  });
});

describe('PCR-360-style routes', () => {
  const READ_REQUESTS = ['servicedesk', 'servicedesk.SO', 'servicedesk.IN', 'services', 'equipment', 'snmp'];

  it.each(READ_REQUESTS)('GET %s returns rows with and without the key in the path', async (request) => {
    for (const path of [`/api/${UPSTREAM_KEY}/${request}.json`, `/api/${request}.json`]) {
      const { status, json } = await call(path);
      expect(status, path).toBe(200);
      expect(json).toMatchObject({ status: 'ok', request });
      expect(json.rows.length).toBeGreaterThan(0);
      expect(json.count).toBe(json.rows.length);
      expect(json.received.path).toBe(path);
    }
  });

  it('splits service desk orders from incidents and filters on query fields', async () => {
    const orders = await call(`/api/${UPSTREAM_KEY}/servicedesk.SO.json`);
    expect(orders.json.rows.map((r: { SD_ID: string }) => r.SD_ID)).toEqual(['SO-1001', 'SO-1002', 'SO-1003']);
    const incidents = await call(`/api/${UPSTREAM_KEY}/servicedesk.IN.json`);
    expect(incidents.json.rows.every((r: { SD_ID: string }) => r.SD_ID.startsWith('IN-'))).toBe(true);
    const open = await call(`/api/${UPSTREAM_KEY}/servicedesk.json?status=Open&unknownField=1`);
    expect(open.json.rows.map((r: { SD_ID: string }) => r.SD_ID)).toEqual(['SO-1001', 'IN-2001']);
  });

  it('accepts a form or JSON POST', async () => {
    const form = await call(`/api/${UPSTREAM_KEY}/servicedesk.SO.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'summary=Move+phone&tag=a&tag=b&__proto__=x',
    });
    expect(form.status).toBe(200);
    expect(form.json).toMatchObject({ status: 'ok', request: 'servicedesk.SO' });
    expect(form.json.data).toEqual({ summary: 'Move phone', tag: ['a', 'b'], ['__proto__']: 'x' });

    const json = await call('/api/equipment.json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ MODEL: 'X1' }),
    });
    expect(json.json).toMatchObject({ status: 'ok', request: 'equipment', data: { MODEL: 'X1' } });
  });

  it('runs a SELECT posted to sql and refuses anything else', async () => {
    const sql = (body: string) =>
      call(`/api/${UPSTREAM_KEY}/sql.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    const select = await sql(new URLSearchParams({ sql: 'SELECT * FROM equipment' }).toString());
    expect(select.status).toBe(200);
    expect(select.json).toMatchObject({ status: 'ok', request: 'sql', sql: 'SELECT * FROM equipment', count: 3 });
    expect(select.json.rows[0].EQUIPMENT_ID).toBe('EQ-4001');

    expect((await sql('')).json.error).toBe('missing_sql');
    expect((await sql('sql=DELETE+FROM+equipment')).json.error).toBe('invalid_sql');
    expect((await sql('sql=SELECT+1%3B+DROP+TABLE+x')).json.error).toBe('invalid_sql');
    expect((await sql('sql=SELECT+*+FROM+unknown_table')).json.rows).toEqual([]);
  });

  it('renders XML with received as a nested element', async () => {
    const res = await fetch(`${backend.url}/api/${UPSTREAM_KEY}/services.xml`, {
      headers: { 'x-portcullis-user': 'a<b&c' },
    });
    expect(res.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    const xml = await res.text();
    assertWellFormedXml(xml);
    expect(xml).toContain('<response><status>ok</status><request>services</request><count>3</count><rows><item>');
    expect(xml).toContain(
      `<received><method>GET</method><path>/api/${UPSTREAM_KEY}/services.xml</path>` +
        '<identity><x-portcullis-user>a&#60;b&#38;c</x-portcullis-user></identity><credentialsSeen></credentialsSeen></received>',
    );
  });

  it('keeps client-chosen field names that are not XML names in an attribute', async () => {
    const res = await fetch(`${backend.url}/api/services.xml`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '1st+field=v&xmlish=w',
    });
    const xml = await res.text();
    assertWellFormedXml(xml);
    expect(xml).toContain('<data><item key="1st field">v</item><item key="xmlish">w</item></data>');
  });

  it('renders PHP serialize() output that round-trips to the JSON answer', async () => {
    const path = `/api/${UPSTREAM_KEY}/equipment`;
    const headers = { 'x-portcullis-user': 'müller' };
    const php = await fetch(`${backend.url}${path}.php`, { headers });
    expect(php.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const bytes = Buffer.from(await php.arrayBuffer());
    expect(bytes.toString('utf8').startsWith('a:')).toBe(true);
    const json = await fetch(`${backend.url}${path}.json`, { headers });
    const decoded = unserializePhp(bytes) as { received: ReceivedRequest };
    decoded.received.path = decoded.received.path.replace(/\.php$/, '.json');
    expect(decoded).toEqual(asPhpShape(await json.text()));
    // Lengths count bytes: "Zürich – Rack 3" is 15 characters but 18 bytes.
    expect(bytes.toString('utf8')).toContain('s:18:"Zürich – Rack 3";');
  });

  it('serves reports as HTML and as a valid PDF', async () => {
    const html = await fetch(`${backend.url}/api/${UPSTREAM_KEY}/rpt/42.html`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const page = await html.text();
    expect(page).toContain('<h1>Report 42</h1>');
    const embedded = /<script type="application\/json" id="received">(.*)<\/script>/.exec(page)![1]!;
    expect(JSON.parse(embedded).path).toBe(`/api/${UPSTREAM_KEY}/rpt/42.html`);

    const pdf = await fetch(`${backend.url}/api/rpt/42.pdf`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const received = JSON.parse(pdf.headers.get('x-demo-received')!) as ReceivedRequest;
    expect(received.path).toBe('/api/rpt/42.pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.toString('latin1')).toMatch(/^%PDF-1\.4\n[\s\S]*Portcullis demo report 42[\s\S]*%%EOF\n$/);

    expect((await call('/api/rpt/a.b.pdf')).status).toBe(404);
    expect((await call('/api/rpt/42.doc')).status).toBe(404);
  });
});

describe('serializers', () => {
  it('writes each PHP type the way PHP does', () => {
    expect(serializePhp(null)).toBe('N;');
    expect(serializePhp(true)).toBe('b:1;');
    expect(serializePhp(false)).toBe('b:0;');
    expect(serializePhp(42)).toBe('i:42;');
    expect(serializePhp(-7n)).toBe('i:-7;');
    expect(serializePhp(0.1)).toBe('d:0.1;');
    expect(serializePhp(1e25)).toBe('d:1.0E+25;');
    expect(serializePhp(1.5e-7)).toBe('d:1.5E-7;');
    expect(serializePhp(Number.NaN)).toBe('d:NAN;');
    expect(serializePhp(-Infinity)).toBe('d:-INF;');
    expect(serializePhp('é')).toBe('s:2:"é";');
    expect(serializePhp('😀"')).toBe('s:5:"😀"";');
    expect(serializePhp(['a', 1])).toBe('a:2:{i:0;s:1:"a";i:1;i:1;}');
    expect(serializePhp({ '7': 'x', '07': 'y', k: [], u: undefined })).toBe('a:3:{i:7;s:1:"x";s:2:"07";s:1:"y";s:1:"k";a:0:{}}');
    expect(() => serializePhp(() => 1)).toThrow(TypeError);
  });

  it('builds a PDF whose xref offsets point at its objects', () => {
    const pdf = buildPdf(['Line (one)', 'naïve \\ two']).toString('latin1');
    const xrefAt = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(pdf)![1]);
    expect(pdf.slice(xrefAt).startsWith('xref\n0 6\n')).toBe(true);
    const offsets = [...pdf.slice(xrefAt).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    expect(offsets).toHaveLength(5);
    offsets.forEach((offset, i) => expect(pdf.slice(offset).startsWith(`${i + 1} 0 obj\n`)).toBe(true));
    const length = Number(/\/Length (\d+) >>\nstream\n/.exec(pdf)![1]);
    const streamStart = pdf.indexOf('stream\n') + 'stream\n'.length;
    expect(pdf.slice(streamStart + length)).toMatch(/^\nendstream/);
    expect(pdf).toContain('(Line \\(one\\)) Tj');
    expect(pdf).toContain('(na?ve \\\\ two) Tj');
  });

  it('uses the documented identity header names by default', () => {
    expect(DEFAULT_IDENTITY_HEADERS).toContain('x-portcullis-access');
    expect(DEFAULT_IDENTITY_HEADERS).toHaveLength(10);
  });
});

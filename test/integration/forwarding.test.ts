// Forwarding to the upstream: streamed bodies, keep-alive, 502/504 on upstream failure, cancellation when the
// client leaves, header hygiene (credentials, spoofed identity, hop-by-hop), path canonicalisation before any rule,
// and the proxy's own health, public-route, 404 and 405 answers.

import { beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { canonicalHeaderName } from '../../src/rewrite/sanitize-headers.js';
import { SECRETS } from '../fixtures/secrets.js';
import type { RecordedRequest } from '../helpers/echo-upstream.js';
import { FORWARDING_ENGINES, OPERATOR_IDENTITY, usingEngine } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { resetBeforeEachTest, testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken, login } from '../helpers/oauth.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-http.js';
import { freePort } from '../setup/global-redis.js';
import { expectErrorBody, expectNoInternals } from './error-answers.js';

const t = testProxyForSuite();
let token: string;

function rawGet(path: string, headerLines: string[] = []) {
  return rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: portal\r\n${headerLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
}

/** Every header the upstream received whose name folds to one the proxy owns, as name/value pairs in wire order. */
function ownedHeadersSeen(request: RecordedRequest): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!;
    if (canonicalHeaderName(name).startsWith('x-portcullis-')) pairs.push([name, request.rawHeaders[i + 1]!]);
  }
  return pairs;
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

beforeAll(async () => {
  const answer = await login(t.url);
  token = answer.body['access_token'] as string;
});

resetBeforeEachTest(t, { clock: true });

describe.each(FORWARDING_ENGINES)('forwarding engine %s', (engine) => {
  const useEngine = usingEngine(engine);
  let bearer: string;

  async function tokenFor(proxy: TestProxy): Promise<string> {
    return `Bearer ${await accessToken(proxy.url)}`;
  }

  const e = testProxyForSuite({
    edit(config) {
      useEngine(config);
      // Far beyond how long cancellation may take, so a closed upstream request can only mean the client left.
      (config['upstream'] as Record<string, unknown>)['timeout'] = '10s';
    },
  });

  beforeAll(async () => {
    bearer = await tokenFor(e);
  });

  resetBeforeEachTest(e);

  it('streams a 1 MiB request body to the upstream intact', async () => {
    const body = randomBytes(1024 * 1024);
    const reply = await send(`${e.url}/api/tickets`, { method: 'POST', headers: { authorization: bearer, 'content-type': 'application/octet-stream' }, body });
    expect(reply.status).toBe(200);
    const seen = e.upstream.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/tickets');
    expect(seen.headers['content-length']).toBe(String(body.length));
    expect(createHash('sha256').update(seen.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('streams a chunked request body of unknown length intact', async () => {
    const chunks = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${e.url}/api/tickets`, { method: 'PUT', headers: { authorization: bearer } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
    expect(status).toBe(200);
    expect(e.upstream.requests[0]!.body.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('streams the upstream answer back unchanged', async () => {
    const payload = randomBytes(512 * 1024);
    e.upstream.respondWith((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/octet-stream', 'x-upstream': 'yes' });
      res.end(payload);
    });
    const res = await fetch(`${e.url}/api/export`, { headers: { authorization: bearer } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(Buffer.from(await res.arrayBuffer()).equals(payload)).toBe(true);
  });

  it('reuses its upstream connection for consecutive requests (keep-alive)', async () => {
    const ports: number[] = [];
    e.upstream.respondWith((req, res) => {
      ports.push(req.socket.remotePort ?? -1);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
    });
    for (let i = 0; i < 3; i++) expect((await send(`${e.url}/api/dashboard`, { headers: { authorization: bearer } })).status).toBe(200);
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(1);
  });

  it('cancels the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    e.upstream.respondWith((_req, res) => {
      res.once('close', () => {
        upstreamClosed = true;
      });
    });
    const abort = new AbortController();
    const pending = fetch(`${e.url}/api/slow`, { headers: { authorization: bearer }, signal: abort.signal }).catch(() => 'aborted');
    await waitFor(() => e.upstream.requests.length === 1, 'the request to reach the upstream');
    abort.abort();
    expect(await pending).toBe('aborted');
    await waitFor(() => upstreamClosed, 'the upstream request to be closed', 3000);
  });

  it('answers 502 JSON when the upstream cannot be reached', async () => {
    // Taken and released again: nothing listens there, so connecting is refused.
    const port = await freePort();
    const down = await startTestProxy({
      edit(config) {
        useEngine(config);
        (config['upstream'] as Record<string, unknown>)['url'] = `http://127.0.0.1:${port}`;
      },
    });
    try {
      const authorization = await tokenFor(down);
      // Bounded well below the test timeout, so a proxy that never answers fails here and says so.
      const res = await fetch(`${down.url}/api/dashboard`, { headers: { authorization }, signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toMatchObject({ reason: 'upstream_unreachable' });
      expect(JSON.parse(text).error).toBeTypeOf('string');
      expectNoInternals(text);
      expect(text).not.toContain(String(port));
    } finally {
      await down.close();
    }
  });

  it('answers 504 JSON when the upstream does not answer within upstream.timeout', async () => {
    const slow = await startTestProxy({
      edit(config) {
        useEngine(config);
        (config['upstream'] as Record<string, unknown>)['timeout'] = '300ms';
      },
    });
    try {
      slow.upstream.respondWith(() => {});
      const authorization = await tokenFor(slow);
      const started = Date.now();
      const res = await fetch(`${slow.url}/api/dashboard`, { headers: { authorization }, signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      expect(res.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toMatchObject({ reason: 'upstream_timeout' });
      expectNoInternals(text);
    } finally {
      await slow.close();
    }
  });
});

describe('request headers', () => {
  it('never forwards Authorization, on protected or public routes', async () => {
    await send(`${t.url}/api/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    await send(`${t.url}/`, { headers: { authorization: `Bearer ${token}` } });
    await send(`${t.url}/docs/guide`, { headers: { authorization: 'Basic dXNlcjpwYXNz', 'proxy-authorization': 'Basic dXNlcjpwYXNz' } });
    expect(t.upstream.requests).toHaveLength(3);
    for (const seen of t.upstream.requests) {
      expect(seen.headers['authorization']).toBeUndefined();
      expect(seen.headers['proxy-authorization']).toBeUndefined();
      expect(seen.rawHeaders.join('\n')).not.toContain(token);
    }
  });

  it('strips identity headers the client sends, in any case or spelling, and sets its own', async () => {
    const reply = await rawGet('/api/dashboard', [
      `Authorization: Bearer ${token}`,
      'X-Portcullis-User: admin',
      'x_portcullis_user: admin',
      'X.Portcullis.User: admin',
      'X-PORTCULLIS-TEAMS: root',
      'x-portcullis-scope: admin',
      'X_Portcullis_Client_Id: other-client',
      'X-Portcullis-Anything-Else: 1',
      'X-Request-Id: req-42',
    ]);
    expect(reply.status).toBe(200);
    const seen = t.upstream.requests[0]!;
    expect(Object.fromEntries(ownedHeadersSeen(seen).map(([n, v]) => [n.toLowerCase(), v]))).toEqual(OPERATOR_IDENTITY);
    expect(ownedHeadersSeen(seen)).toHaveLength(Object.keys(OPERATOR_IDENTITY).length);
    expect(seen.headers['x-request-id']).toBe('req-42');
  });

  it('keeps its identity headers when the client names them in Connection', async () => {
    const nominated = await rawRequest(
      t.port,
      `GET /api/dashboard HTTP/1.1\r\nHost: portal\r\nAuthorization: Bearer ${token}\r\nX-Portcullis-User: admin\r\n` +
        'Connection: close, X-Portcullis-User, X-Portcullis-Teams, Authorization\r\n\r\n',
    );
    expect(nominated.status).toBe(200);
    const seen = t.upstream.requests[0]!;
    expect(Object.fromEntries(ownedHeadersSeen(seen).map(([n, v]) => [n.toLowerCase(), v]))).toEqual(OPERATOR_IDENTITY);
    expect(seen.headers['authorization']).toBeUndefined();
  });

  it('removes hop-by-hop headers, headers named in Connection and client forwarding headers', async () => {
    const reply = await rawRequest(
      t.port,
      `GET /api/dashboard HTTP/1.1\r\nHost: portal\r\nAuthorization: Bearer ${token}\r\n` +
        'Connection: keep-alive, X-Hop-Header\r\nX-Hop-Header: secret-hop\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-Later\r\n' +
        'Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n' +
        'X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Original-URL: /admin\r\nX-HTTP-Method-Override: DELETE\r\n' +
        'X-End-To-End: kept\r\n\r\n',
    );
    expect(reply.status).toBe(200);
    const seen = t.upstream.requests[0]!;
    for (const name of ['x-hop-header', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'proxy-authorization', 'forwarded', 'x-real-ip', 'x-original-url', 'x-http-method-override']) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    expect(seen.rawHeaders.join('\n')).not.toContain('secret-hop');
    expect(String(seen.headers['connection'] ?? '')).not.toMatch(/x-hop-header/i);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-end-to-end']).toBe('kept');
  });
});

describe('paths', () => {
  const ambiguous = [
    '/api/../admin',
    '/api/./dashboard',
    '/api/%2e%2e/x',
    '/api/%2E%2E/x',
    '/api/.%2e/x',
    '/api/a%2fb',
    '/api/a%2Fb',
    '/api/a%5cb',
    '/api/a\\b',
    '/api/%00',
    '/api/%zz',
    '/api/%',
    '/api/%25',
    '/api/%c0%ae%c0%ae/x',
    '/api;x=y/dashboard',
    '/api/dashboard;jsessionid=1',
    '//api/dashboard',
    '/api//dashboard',
    '/api/dashboard#x',
    'http://portal/api/dashboard',
    '*',
  ];

  it('refuses ambiguous targets with 400 before any route, credential or upstream is involved', async () => {
    for (const path of ambiguous) {
      const reply = await rawGet(path, [`Authorization: Bearer ${token}`]);
      expect(reply.status, path).toBe(400);
      expectErrorBody(JSON.parse(reply.body), 'invalid_request');
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('matches routes case-sensitively: /API/dashboard is no route and is not forwarded', async () => {
    const reply = await rawGet('/API/dashboard', [`Authorization: Bearer ${token}`]);
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body)).toMatchObject({ reason: 'route_not_found' });
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('forwards the path it decided on: unreserved escapes decoded, other escapes upper-cased', async () => {
    expect((await rawGet('/api/%64ashboard', [`Authorization: Bearer ${token}`])).status).toBe(200);
    expect((await rawGet('/api/r%c3%a9sum%C3%A9/%7euser', [`Authorization: Bearer ${token}`])).status).toBe(200);
    expect(t.upstream.requests.map((r) => r.url)).toEqual(['/api/dashboard', '/api/r%C3%A9sum%C3%A9/~user']);
  });

  it('does not let an escaped prefix dodge a route: /%61pi/dashboard needs a token like /api/dashboard', async () => {
    const reply = await rawGet('/%61pi/dashboard');
    expect(reply.status).toBe(401);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('passes the query string through verbatim', async () => {
    const query = '?b=2&a=1&a=3&q=%2F%2e+x&empty=&flag&x=%zz&path=/../admin';
    expect((await rawGet(`/api/tickets${query}`, [`Authorization: Bearer ${token}`])).status).toBe(200);
    expect(t.upstream.requests[0]!.url).toBe(`/api/tickets${query}`);
  });
});

describe('own endpoints and routing answers', () => {
  it('answers /healthz without credentials and without revealing anything', async () => {
    const reply = await send(`${t.url}/healthz`);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ status: 'ok' });
    for (const secret of ['my-operator', 'public-api', 'test-key-1', 'scrypt', 'BEGIN', SECRETS.clientSecret, '127.0.0.1']) expect(reply.text).not.toContain(secret);
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('forwards the public route without identity headers, stripping any the client sent', async () => {
    const reply = await rawGet('/', ['X-Portcullis-User: admin', 'x_portcullis_auth: oauth', 'X.Portcullis.Teams: root', 'X-Portcullis-Auth: oauth']);
    expect(reply.status).toBe(200);
    const seen = t.upstream.requests[0]!;
    expect(seen.url).toBe('/');
    expect(ownedHeadersSeen(seen)).toEqual([]);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('answers an unknown path with 404 and forwards nothing', async () => {
    for (const path of ['/nowhere', '/apix/dashboard', '/oauth/authorize', '/.well-known/openid-configuration']) {
      const reply = await send(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(reply.status, path).toBe(404);
      expect(reply.json).toMatchObject({ reason: 'route_not_found' });
    }
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('answers a method the route does not allow with 405 and Allow', async () => {
    for (const method of ['POST', 'DELETE', 'PUT']) {
      const reply = await send(`${t.url}/`, { method, headers: { authorization: `Bearer ${token}` } });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.get('allow')).toBe('GET, HEAD');
      expect(reply.json).toMatchObject({ reason: 'method_not_allowed' });
    }
    expect(t.upstream.requests).toHaveLength(0);
  });
});

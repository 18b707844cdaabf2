// Request smuggling and parser confusion over raw sockets, against both forwarding engines. The rule: a request is
// forwarded with its body intact, framed so the upstream reads exactly that one request, or it is refused; bytes
// of a body never become a second request upstream. Each body below carries a complete request to an
// authenticated path, so a framing mistake would show up as a request the upstream recorded but nobody authorised.

import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { startRawUpstream, type RawUpstream } from '../helpers/echo-upstream.js';
import { FORWARDING_ENGINES, usingEngine, withPcr, type ForwardingEngine } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openConnection, within } from '../helpers/sockets.js';
import { exchange, http11, jsonOf, type HeaderList } from './support.js';

const SMUGGLED = 'GET /api/smuggled HTTP/1.1\r\nHost: portal.example\r\n\r\n';
const chunked = (body: string): string => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const SETTLE = { settleMs: 50 };

function proxyOptions(engine: ForwardingEngine) {
  return withPcr((config) => {
    (config['routes'] as unknown[]).push({ id: 'public-docs', path: '/docs/**', public: true });
    usingEngine(engine)(config);
  });
}

describe.each(FORWARDING_ENGINES)('engine %s', (engine) => {
  const t = testProxyForSuite(proxyOptions(engine));
  let bearer: HeaderList;

  beforeAll(async () => {
    bearer = [['Authorization', `Bearer ${await accessToken(t.url)}`]];
  });

  /** Refused with 400 and nothing upstream, or forwarded once with the body intact: never a second request. */
  function expectIntactOrRefused(result: Awaited<ReturnType<typeof exchange>>, method: string, path: string, body: string): void {
    expect(result.upstream.some((r) => r.url === '/api/smuggled')).toBe(false);
    if (result.response.status === 400) {
      expect(result.upstream).toEqual([]);
      return;
    }
    expect(result.response.status).toBe(200);
    expect(result.upstream.map((r) => [r.method, r.url, r.body.toString('latin1')])).toEqual([[method, path, body]]);
  }

  describe('Content-Length and Transfer-Encoding', () => {
    it.each<[string, HeaderList, string]>([
      ['Content-Length then Transfer-Encoding', [['Content-Length', '4'], ['Transfer-Encoding', 'chunked']], chunked(SMUGGLED)],
      ['Transfer-Encoding then Content-Length', [['Transfer-Encoding', 'chunked'], ['Content-Length', String(chunked(SMUGGLED).length)]], chunked(SMUGGLED)],
      ['Transfer-Encoding with Content-Length: 0', [['Transfer-Encoding', 'chunked'], ['Content-Length', '0']], chunked(SMUGGLED)],
      ['two differing Content-Lengths', [['Content-Length', '0'], ['Content-Length', String(SMUGGLED.length)]], SMUGGLED],
      ['a Content-Length list', [['Content-Length', `0, ${SMUGGLED.length}`]], SMUGGLED],
      ['a signed Content-Length', [['Content-Length', `+${SMUGGLED.length}`]], SMUGGLED],
      ['a hex Content-Length', [['Content-Length', `0x${SMUGGLED.length.toString(16)}`]], SMUGGLED],
      ['an overflowing Content-Length', [['Content-Length', '18446744073709551617']], SMUGGLED],
      ['chunked, identity', [['Transfer-Encoding', 'chunked, identity']], chunked(SMUGGLED)],
      ['xchunked', [['Transfer-Encoding', 'xchunked']], chunked(SMUGGLED)],
      ['chunked twice in one header', [['Transfer-Encoding', 'chunked, chunked']], chunked(SMUGGLED)],
      ['two Transfer-Encoding headers', [['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']], chunked(SMUGGLED)],
      ['identity only', [['Transfer-Encoding', 'identity']], chunked(SMUGGLED)],
      ['a vertical tab before chunked', [['Transfer-Encoding', '\x0bchunked']], chunked(SMUGGLED)],
      ['a space before the colon', [['Transfer-Encoding ', 'chunked']], chunked(SMUGGLED)],
      ['a folded value', [['Transfer-Encoding', '\r\n chunked']], chunked(SMUGGLED)],
    ])('%s: 400, nothing forwarded', async (_name, headers, body) => {
      const result = await exchange(t, http11('POST', '/docs/upload', headers, body), SETTLE);
      expect(result.response.status).toBe(400);
      expect(result.upstream).toEqual([]);
    });

    it.each<[string, string]>([
      ['a leading space', ' chunked'],
      ['a leading tab', '\tchunked'],
      ['upper case', 'CHUNKED'],
    ])('chunked with %s is still chunked: the body arrives intact, as one request', async (_name, value) => {
      const result = await exchange(t, http11('POST', '/docs/upload', [['Transfer-Encoding', value]], chunked(SMUGGLED)), SETTLE);
      expectIntactOrRefused(result, 'POST', '/docs/upload', SMUGGLED);
      expect(result.response.status).toBe(200);
    });

    it.each<[string, string]>([
      ['trailing whitespace', 'chunked \t'],
      ['gzip before chunked', 'gzip, chunked'],
      ['identity before chunked', 'identity, chunked'],
      ['a parameter', 'chunked;q=1'],
    ])('chunked with %s: intact or refused, never a second request', async (_name, value) => {
      const result = await exchange(t, http11('POST', '/docs/upload', [['Transfer-Encoding', value]], chunked(SMUGGLED)), SETTLE);
      expectIntactOrRefused(result, 'POST', '/docs/upload', SMUGGLED);
    });

    it('an unknown Transfer-Encoding name (Transfer_Encoding) frames nothing: the chunk bytes are a bad next request', async () => {
      const result = await exchange(t, http11('POST', '/docs/upload', [['Transfer_Encoding', 'chunked']], chunked(SMUGGLED)), SETTLE);
      // The body-less POST may or may not reach the upstream before the bad bytes close the connection.
      for (const request of result.upstream) expect([request.url, request.body.length]).toEqual(['/docs/upload', 0]);
    });
  });

  describe('bodies on methods that usually have none', () => {
    const methods = ['GET', 'HEAD', 'DELETE', 'OPTIONS'];

    it.each(methods)('%s with a chunked body on a public route: forwarded intact, never as a second request', async (method) => {
      const result = await exchange(t, http11(method, '/docs/item', [['Transfer-Encoding', 'chunked']], chunked(SMUGGLED)), SETTLE);
      expectIntactOrRefused(result, method, '/docs/item', SMUGGLED);
    });

    it.each(methods)('%s with a Content-Length body on a public route: forwarded intact', async (method) => {
      const result = await exchange(t, http11(method, '/docs/item', [['Content-Length', String(SMUGGLED.length)]], SMUGGLED), SETTLE);
      expectIntactOrRefused(result, method, '/docs/item', SMUGGLED);
    });

    it.each(methods)('%s with a chunked body and a bearer token: forwarded intact with the identity', async (method) => {
      const result = await exchange(t, http11(method, '/api/item', [...bearer, ['Transfer-Encoding', 'chunked']], chunked(SMUGGLED)), SETTLE);
      expectIntactOrRefused(result, method, '/api/item', SMUGGLED);
      if (result.upstream.length === 1) expect(result.upstream[0]!.headers['x-portcullis-user']).toBe('my-operator');
    });

    it('a chunked body in several chunks with extensions and trailers arrives as one body', async () => {
      const body = `5;ext=1\r\nGET /\r\n7\r\napi/smu\r\n${(SMUGGLED.length - 12).toString(16)}\r\n${SMUGGLED.slice(12)}\r\n0\r\nX-Trailer: 1\r\n\r\n`;
      const result = await exchange(t, http11('DELETE', '/docs/item', [['Transfer-Encoding', 'chunked']], body), SETTLE);
      expectIntactOrRefused(result, 'DELETE', '/docs/item', SMUGGLED);
    });
  });

  describe('pipelining', () => {
    it('a denied request with a body is followed by exactly the next request sent, not by its body', async () => {
      const first = http11('POST', '/api/item', [['Content-Length', String(SMUGGLED.length)]], SMUGGLED);
      const second = http11('GET', '/docs/next', [['Connection', 'close']]);
      const result = await exchange(t, first + second, SETTLE);
      expect(result.response.status).toBe(401);
      expect(result.upstream.map((r) => r.url)).toEqual(['/docs/next']);
    });

    it('a denied request with a chunked body, then a real request', async () => {
      const first = http11('DELETE', '/api/item', [['Transfer-Encoding', 'chunked']], chunked(SMUGGLED));
      const second = http11('GET', '/docs/next', [['Connection', 'close']]);
      const result = await exchange(t, first + second, SETTLE);
      expect(result.response.status).toBe(401);
      expect(result.upstream.map((r) => r.url)).toEqual(['/docs/next']);
    });

    it('two forwarded requests with bodies are recorded as exactly those two', async () => {
      const first = http11('GET', '/docs/one', [['Transfer-Encoding', 'chunked']], chunked(SMUGGLED));
      const second = http11('OPTIONS', '/docs/two', [['Content-Length', '3'], ['Connection', 'close']], 'abc');
      const result = await exchange(t, first + second, SETTLE);
      expect(result.upstream.map((r) => [r.method, r.url, r.body.toString()])).toEqual([
        ['GET', '/docs/one', SMUGGLED],
        ['OPTIONS', '/docs/two', 'abc'],
      ]);
    });

    it('a malformed request pipelined behind a streaming response is not written into that response', async () => {
      t.upstream.respondWith((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
        res.write('first');
        setTimeout(() => res.end('-last'), 300);
      });
      try {
        const client = await openConnection(t.port);
        client.socket.write(http11('GET', '/docs/stream'));
        for (let i = 0; i < 50 && !client.received().includes('first'); i++) await sleep(10);
        expect(client.received()).toContain('first');
        client.socket.write('NOT HTTP AT ALL\r\n\r\n');
        expect(await within(client.closed, 2000)).not.toBe('timeout');
        expect(client.received()).not.toContain('400 Bad Request');
        expect(client.received().split('HTTP/1.1').length).toBe(2);
      } finally {
        t.upstream.respondWith(null);
      }
    });
  });

  describe('control characters in header names and values', () => {
    it.each<[string, string]>([
      ['a NUL in a value', 'X-A: a\x00b'],
      ['a control character in a value', 'X-A: a\x01b'],
      ['DEL in a value', 'X-A: a\x7fb'],
      ['a bare CR inside a value', 'X-A: a\rX-Portcullis-User: admin'],
      ['a NUL in a name', 'X-A\x00B: 1'],
      ['a space inside a name', 'X A: 1'],
      ['a non-ASCII byte in a name', 'X-\xe9: 1'],
      ['a line without a colon', 'X-Portcullis-User admin'],
      ['a name made of a colon', ': admin'],
    ])('%s: 400, nothing forwarded', async (_name, line) => {
      for (const path of ['/docs/page', '/api/dashboard']) {
        const head = `GET ${path} HTTP/1.1\r\nHost: portal.example\r\n${line}\r\n${path.startsWith('/api') ? `Authorization: ${bearer[0]![1]}\r\n` : ''}\r\n`;
        const result = await exchange(t, head, SETTLE);
        expect(result.response.status).toBe(400);
        expect(result.upstream).toEqual([]);
      }
    });

    it('bare LF line endings: one request at most, with its own headers only', async () => {
      const result = await exchange(t, 'GET /docs/page HTTP/1.1\nHost: portal.example\nX-Portcullis-User: admin\n\n', SETTLE);
      if (result.response.status === 400) expect(result.upstream).toEqual([]);
      else expect(result.upstream.map((r) => [r.url, r.headers['x-portcullis-user']])).toEqual([['/docs/page', undefined]]);
    });
  });

  describe('WebSocket upgrades', () => {
    const upgrade: HeaderList = [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ];

    it('without a credential: 401 before any upgrade, the upstream records none', async () => {
      const result = await exchange(t, http11('GET', '/api/socket', upgrade), SETTLE);
      expect(result.response.status).toBe(401);
      expect(result.response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(result.upgrades).toEqual([]);
      expect(result.upstream).toEqual([]);
    });

    it.each<[string, string, HeaderList, number]>([
      ['a forged token', '/api/socket', [['Authorization', 'Bearer a.b.c']], 401],
      ['an ambiguous path', '/docs/../api/socket', [], 400],
      ['a route that does not exist', '/API/socket', [], 404],
      ['a POST upgrade', '/api/socket', [], 405],
      ['one of the proxy\'s own endpoints', '/oauth/token', [], 400],
    ])('with %s: refused before the upgrade', async (name, path, headers, status) => {
      const method = name === 'a POST upgrade' ? 'POST' : 'GET';
      const result = await exchange(t, http11(method, path, [...upgrade, ...headers, ...(status === 405 ? bearer : [])]), SETTLE);
      expect(result.response.status).toBe(status);
      expect(result.upgrades).toEqual([]);
    });

    it('with a bearer token beside an API key in the path: 400, the key is never handed upstream', async () => {
      const result = await exchange(t, http11('GET', `/api/${SECRETS.roKey}/servicedesk.json`, [...upgrade, ...bearer]), SETTLE);
      expect(result.response.status).toBe(400);
      expect(jsonOf(result.response)?.['reason']).toBe('credentials_conflicting');
      expect(result.upgrades).toEqual([]);
    });

    it('with a valid bearer token: upgraded with the proxy\'s identity, bytes echoed both ways', async () => {
      t.upstream.reset();
      const client = await openConnection(t.port);
      try {
        client.socket.write(http11('GET', '/api/socket/http:/x?room=1', [...upgrade, ...bearer, ['X-Portcullis-User', 'admin']]));
        for (let i = 0; i < 100 && !client.received().includes('\r\n\r\n'); i++) await sleep(10);
        expect(client.received()).toMatch(/^HTTP\/1\.1 101 /);
        const frame = Buffer.from([0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e]);
        const before = client.received().length;
        client.socket.write(frame);
        for (let i = 0; i < 100 && client.received().length < before + frame.length; i++) await sleep(10);
        expect(Buffer.from(client.received().slice(before), 'latin1')).toEqual(frame);
        expect(t.upstream.upgrades).toHaveLength(1);
        const recorded = t.upstream.upgrades[0]!;
        expect(recorded.url).toBe('/api/socket/http:/x?room=1');
        expect(recorded.headers['x-portcullis-user']).toBe('my-operator');
        expect(recorded.headers.authorization).toBeUndefined();
      } finally {
        client.socket.destroy();
      }
    });
  });
});

describe.each(FORWARDING_ENGINES)('an upstream answering with invalid HTTP (engine %s)', (engine) => {
  // Broken before the body: nothing has been relayed yet, so the client gets a clean 502.
  const answers: Record<string, string> = {
    'a garbage status line': 'HELLO WORLD\r\n\r\n',
    'a status below 100': 'HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n',
    'a four-digit status': 'HTTP/1.1 2000 Odd\r\nContent-Length: 0\r\n\r\n',
    'a control character in the reason phrase': 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok',
    'DEL in the reason phrase': 'HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nok',
    'a space inside a header name': 'HTTP/1.1 200 OK\r\nX Bad: 1\r\nContent-Length: 2\r\n\r\nok',
    'a control character in a header value': 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok',
    'a NUL in a header value': 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok',
    'Content-Length with Transfer-Encoding': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'two differing Content-Lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!',
    'nothing at all': '',
  };
  // Broken inside the body: the status may already be on its way, so the connection is cut instead; what the
  // client must never see is a complete-looking answer.
  const bodyAnswers: Record<string, string> = {
    'a bad chunk size': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n',
    'a body shorter than its Content-Length': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok',
  };
  const names = [...Object.keys(answers), ...Object.keys(bodyAnswers)];
  const all: Record<string, string> = { ...answers, ...bodyAnswers };
  let raw: RawUpstream;

  beforeAll(async () => {
    raw = await startRawUpstream((socket: Socket) => {
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const path = /^\S+ (\S+)/.exec(head)?.[1] ?? '';
        head = '';
        const index = /^\/docs\/bad\/(\d+)$/.exec(path)?.[1];
        if (index === undefined) socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
        else socket.end(all[names[Number(index)]!]!, 'latin1');
      });
    });
  });

  afterAll(async () => {
    await raw.close();
  });

  const t = testProxyForSuite(() => ({
    edit(config) {
      config['upstream'] = { url: raw.url, timeout: '2s', connectTimeout: '1s', engine };
    },
  }));

  async function expectStillServing(): Promise<void> {
    const next = await rawRequest(t.port, http11('GET', '/docs/ok'), { timeoutMs: 3000 });
    expect(next.status).toBe(200);
    expect(next.body).toBe('ok');
  }

  it.each(Object.keys(answers).map((name) => [name, names.indexOf(name)] as const))('%s: 502, and the next request works', async (_name, index) => {
    const bad = await rawRequest(t.port, http11('GET', `/docs/bad/${index}`), { timeoutMs: 3000 });
    expect(bad.status).toBe(502);
    const body = JSON.parse(bad.body) as { reason: string };
    expect(['upstream_invalid_response', 'upstream_unreachable']).toContain(body.reason);
    await expectStillServing();
  });

  it.each(Object.keys(bodyAnswers).map((name) => [name, names.indexOf(name)] as const))('%s: 502 or a cut connection, never a complete answer', async (_name, index) => {
    const bad = await rawRequest(t.port, http11('GET', `/docs/bad/${index}`), { timeoutMs: 3000 });
    if (bad.status !== 502) {
      expect(bad.closed).toBe(true);
      const declared = bad.headers['content-length'];
      if (declared !== undefined) expect(Buffer.byteLength(bad.body)).toBeLessThan(Number(declared));
      else expect(bad.raw.endsWith('0\r\n\r\n')).toBe(false);
    }
    await expectStillServing();
  });
});

// Resource exhaustion: headers dripped slower than the headers timeout, connections that stay half-open after an
// error answer or a refused upgrade, thousands of idle keep-alive connections, random paths, and tokens with random key ids. The proxy
// cuts what it must, keeps serving everyone else, forwards nothing it did not route, and does no crypto for a
// key id it does not know.

import { request as httpRequest, Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeRequestTarget } from '../../src/target/normalize-path.js';
import { startRawUpstream, type RawUpstream } from '../helpers/echo-upstream.js';
import { FORWARDING_ENGINES, usingEngine } from '../helpers/fixtures.js';
import { b64url, decodePart } from '../helpers/jwt.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { accessToken } from '../helpers/oauth.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openConnection, within, type Watched } from '../helpers/sockets.js';
import { http11, type HeaderList } from './support.js';

const UPGRADE: HeaderList = [
  ['Connection', 'Upgrade'],
  ['Upgrade', 'websocket'],
  ['Sec-WebSocket-Version', '13'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
];

/** Clients that receive an error answer and then keep their side of the connection open, as an attacker would. */
async function halfOpenAfterError(port: number, count: number, provoke: (client: Watched) => void): Promise<Watched[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => openConnection(port, { allowHalfOpen: true })));
  for (const client of clients) provoke(client);
  for (const client of clients) {
    for (let i = 0; i < 300 && !/^HTTP\/1\.1 4\d\d /.test(client.received()); i++) await sleep(10);
  }
  return clients;
}

describe('slow headers and half-open connections', () => {
  const t = testProxyForSuite({
    edit(config) {
      config['listen'] = { ...(config['listen'] as object), headersTimeout: '1s', requestTimeout: '5s', maxConnections: 4 };
    },
  });

  it('headers dripped byte by byte are cut off at the headers timeout, and never forwarded', async () => {
    const client = await openConnection(t.port);
    const head = `GET /docs/slow HTTP/1.1\r\nHost: portal.example\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`;
    let sent = 0;
    const started = Date.now();
    const drip = setInterval(() => {
      if (!client.isClosed() && sent < head.length) client.socket.write(head[sent++]!);
    }, 50);
    try {
      expect(await within(client.closed, 4000)).not.toBe('timeout');
      const after = Date.now() - started;
      expect(after).toBeGreaterThanOrEqual(900);
      expect(after).toBeLessThan(2500);
      if (client.received() !== '') expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(t.upstream.requests.some((r) => r.url === '/docs/slow')).toBe(false);
    } finally {
      clearInterval(drip);
      client.socket.destroy();
    }
  });

  it.each([
    ['a malformed request (400)', (client: Watched) => client.socket.write('NOT HTTP\r\n\r\n')],
    ['headers that never finish (408)', (client: Watched) => client.socket.write('GET /docs/x HTTP/1.1\r\nHost: x\r\n')],
    ['a WebSocket upgrade without a credential (401)', (client: Watched) => client.socket.write(http11('GET', '/api/socket', UPGRADE))],
  ])('clients holding their side open after %s do not keep their connection slots', async (_name, provoke) => {
    const clients = await halfOpenAfterError(t.port, 4, provoke);
    try {
      for (const client of clients) expect(client.received()).toMatch(/^HTTP\/1\.1 4\d\d /);
      // With all four slots held, a fifth client would be turned away at once.
      await sleep(100);
      const answer = await rawRequest(t.port, http11('GET', '/docs/after', [['Connection', 'close']]), { timeoutMs: 2000 });
      expect(answer.status).toBe(200);
    } finally {
      for (const client of clients) client.socket.destroy();
    }
  });
});

describe('an upstream that refuses an upgrade', () => {
  let raw: RawUpstream;

  beforeAll(async () => {
    raw = await startRawUpstream((socket) => socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno')));
  });

  afterAll(async () => {
    await raw.close();
  });

  const t = testProxyForSuite(() => ({
    edit(config) {
      config['upstream'] = { url: raw.url, timeout: '2s', connectTimeout: '1s' };
      config['listen'] = { ...(config['listen'] as object), maxConnections: 3 };
    },
  }));

  it('leaves no connection slot to a client that keeps its side open after the refusal', async () => {
    const clients = await halfOpenAfterError(t.port, 3, (client) => client.socket.write(http11('GET', '/docs/socket', UPGRADE)));
    try {
      for (const client of clients) expect(client.received()).toMatch(/^HTTP\/1\.1 403 /);
      await sleep(100);
      const answer = await rawRequest(t.port, http11('GET', '/healthz', [['Connection', 'close']]), { timeoutMs: 2000 });
      expect(answer.status).toBe(200);
    } finally {
      for (const client of clients) client.socket.destroy();
    }
  });
});

describe.each(FORWARDING_ENGINES)('clients that leave while the upstream works (engine %s)', (engine) => {
  const t = testProxyForSuite({ edit: usingEngine(engine) });

  it.each<[string, HeaderList]>([
    ['a plain POST', []],
    ['a POST with Expect: 100-continue', [['Expect', '100-continue']]],
  ])('%s: the upstream request is cancelled, not left running for nobody', async (_name, extra) => {
    let cancelled = false;
    t.upstream.respondWith((_req, res) => {
      res.on('close', () => (cancelled = true));
    });
    try {
      const client = await openConnection(t.port);
      client.socket.write(http11('POST', '/docs/slow', [...extra, ['Content-Length', '5']], 'hello'));
      for (let i = 0; i < 200 && t.upstream.requests.length === 0; i++) await sleep(10);
      expect(t.upstream.requests).toHaveLength(1);
      expect(t.upstream.requests[0]!.headers.expect).toBeUndefined();
      client.socket.destroy();
      for (let i = 0; i < 100 && !cancelled; i++) await sleep(10);
      expect(cancelled).toBe(true);
    } finally {
      t.upstream.reset();
    }
  });
});

describe('many connections, paths and key ids', () => {
  const t = testProxyForSuite();
  let token: string;

  beforeAll(async () => {
    token = await accessToken(t.url);
  });

  it('2000 idle keep-alive connections: memory stays bounded and a normal request is still served', async () => {
    const before = process.memoryUsage().rss;
    const clients: Watched[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        const opened = await Promise.all(Array.from({ length: 200 }, () => openConnection(t.port)));
        for (const client of opened) client.socket.write(http11('GET', '/healthz'));
        clients.push(...opened);
      }
      for (const client of clients) {
        for (let i = 0; i < 500 && !client.received().includes('"ok"'); i++) await sleep(5);
        expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
      }
      const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
      expect(grown).toBeLessThan(100);
      const response = await fetch(`${t.url}/api/dashboard`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(clients.filter((c) => c.isClosed())).toHaveLength(0);
    } finally {
      for (const client of clients) client.socket.destroy();
    }
  });

  it('500 requests with random paths: no crash, and only public routes are forwarded', async () => {
    const alphabet = "abcAZ09-._~%/?#;:@!$&'()*+,=\\[]{}|^`\"<>";
    const prefixes = ['', '/', '/docs/', '/api/', '/API/', '/oauth/', '/.well-known/', '/docs/../', '/%2e%2e/'];
    const random = (n: number) => Math.floor(Math.random() * n);
    const targets = Array.from({ length: 500 }, () => {
      let tail = '';
      for (let i = random(40); i > 0; i--) tail += alphabet[random(alphabet.length)];
      return prefixes[random(prefixes.length)]! + tail;
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    t.upstream.reset();
    try {
      const statuses = await Promise.all(
        targets.map(
          (target) =>
            new Promise<number>((resolve) => {
              const req = httpRequest({ host: '127.0.0.1', port: t.port, path: target.startsWith('/') ? target : `/${target}`, agent }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              });
              // The client itself refuses some of these targets before sending.
              req.on('error', () => resolve(-1));
              req.end();
            }),
        ),
      );
      for (const status of statuses) expect([-1, 200, 400, 401, 404, 405, 414]).toContain(status);
    } finally {
      agent.destroy();
    }
    for (const request of t.upstream.requests) {
      const target = normalizeRequestTarget(request.url);
      expect(target.ok).toBe(true);
      if (target.ok) expect(target.path === '/' || target.path === '/docs' || target.path.startsWith('/docs/')).toBe(true);
    }
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('1000 tokens with random key ids are all refused fast, before any signature check', async () => {
    const [header, payload] = token.split('.') as [string, string];
    const realHeader = decodePart(token, 0);
    const tokens = Array.from({ length: 1000 }, (_v, i) => `${b64url({ ...realHeader, kid: `kid-${i}-${Math.random().toString(36).slice(2)}` })}.${payload}.${'A'.repeat(342)}`);
    expect(header).not.toBe(tokens[0]!.split('.')[0]);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const started = performance.now();
    try {
      const reasons = await Promise.all(
        tokens.map(
          (forged) =>
            new Promise<string>((resolve, reject) => {
              const req = httpRequest({ host: '127.0.0.1', port: t.port, path: '/api/dashboard', agent, headers: { authorization: `Bearer ${forged}` } }, (res) => {
                let body = '';
                res.on('data', (chunk: Buffer) => (body += chunk.toString()));
                res.on('end', () => resolve(`${res.statusCode} ${(JSON.parse(body) as { reason: string }).reason}`));
              });
              req.on('error', reject);
              req.end();
            }),
        ),
      );
      expect(new Set(reasons)).toEqual(new Set(['401 token_unknown_key']));
    } finally {
      agent.destroy();
    }
    expect(performance.now() - started).toBeLessThan(4000);
  });
});

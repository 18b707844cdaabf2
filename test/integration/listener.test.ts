// The public listener over raw sockets: upgrades the proxy does not speak (h2c) are ignored and the request is
// served as plain HTTP/1.1, and pipelined requests are answered in request order even when a later one cannot be
// parsed, times out or has oversized headers. Part runs through the real proxy, part against the listener alone
// with handlers the test controls, where exact headers and Node's timeouts can be observed.

import { EventEmitter, once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPublicListener, listen } from '../../src/listener/public-listener.js';
import type { EchoUpstream } from '../helpers/echo-upstream.js';
import { baseConfig, login, loadTestConfig, startTestProxy, type TestProxy } from '../helpers/proxy.js';

const H2C = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
const WEBSOCKET =
  'Connection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
/** A space inside a header name: Node's parser refuses the request. */
const MALFORMED = 'GET /docs/bad HTTP/1.1\r\nHost: portal.example\r\nBad Header: 1\r\n\r\n';

interface Answer {
  statusLine: string;
  headers: Record<string, string>;
  body: string;
}

/** The complete responses at the start of `raw`, in order; every answer in these tests carries a Content-Length. */
function answersIn(raw: string): Answer[] {
  const answers: Answer[] = [];
  let offset = 0;
  for (;;) {
    const headEnd = raw.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) return answers;
    const [statusLine = '', ...lines] = raw.slice(offset, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = headEnd + 4;
    // After a 101 the bytes are another protocol's.
    const switched = statusLine.startsWith('HTTP/1.1 101 ');
    const length = switched ? 0 : Number(headers['content-length'] ?? 0);
    if (raw.length < bodyStart + length) return answers;
    answers.push({ statusLine, headers, body: raw.slice(bodyStart, bodyStart + length) });
    if (switched) return answers;
    offset = bodyStart + length;
  }
}

/** A raw connection whose waits are driven by what arrives and by the close, never by a timer. */
interface Client {
  socket: Socket;
  received(): string;
  isClosed(): boolean;
  /** Resolves once `check` holds after some data or the close; rejects if the connection closed without it. */
  until(check: () => boolean, what: string): Promise<void>;
  answers(count: number): Promise<Answer[]>;
  closed(): Promise<void>;
}

async function openClient(port: number): Promise<Client> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client: Client = {
    socket,
    received: () => data,
    isClosed: () => closed,
    until(check, what) {
      return new Promise<void>((resolve, reject) => {
        const waiter = (): void => {
          if (check()) {
            waiters.delete(waiter);
            resolve();
          } else if (closed) {
            waiters.delete(waiter);
            reject(new Error(`connection closed before ${what}; received ${JSON.stringify(data)}`));
          }
        };
        waiters.add(waiter);
        waiter();
      });
    },
    async answers(count) {
      await client.until(() => answersIn(data).length >= count, `${count} answer(s)`);
      return answersIn(data);
    },
    closed: () => client.until(() => closed, 'the close'),
  };
  return client;
}

/**
 * Upstream answers that echo method, URL and body; requests to a path containing /held/ are answered only once
 * the test releases them, so a test knows which answers are still owed to the client.
 */
function holdingResponder(upstream: EchoUpstream): { arrived: Promise<void>; release(): void } {
  let release = (): void => {};
  let arrivedNow = (): void => {};
  const arrived = new Promise<void>((resolve) => (arrivedNow = resolve));
  upstream.respondWith((req, res, body) => {
    const answer = () => {
      const text = JSON.stringify({ method: req.method, url: req.url, body: body.toString('latin1') });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    if (!req.url?.includes('/held/')) return answer();
    release = answer;
    arrivedNow();
  });
  return { arrived, release: () => release() };
}

function urlOf(answer: Answer | undefined): unknown {
  return (JSON.parse(answer?.body ?? '{}') as { url?: unknown }).url;
}

describe('through the proxy', () => {
  let t: TestProxy;
  let bearer: string;
  const clients: Client[] = [];
  const client = async (): Promise<Client> => {
    const opened = await openClient(t.port);
    clients.push(opened);
    return opened;
  };

  beforeAll(async () => {
    t = await startTestProxy({
      edit(config) {
        config['listen'] = { ...(config['listen'] as object), maxHeaderSize: 4096 };
      },
    });
    bearer = `Bearer ${(await login(t.url)).body['access_token'] as string}`;
  });

  afterEach(() => {
    for (const opened of clients.splice(0)) opened.socket.destroy();
    t.upstream.reset();
  });

  afterAll(async () => {
    await t.close();
  });

  describe('an upgrade the proxy does not support (h2c) is ignored', () => {
    it('a GET is served as HTTP/1.1 and the upstream sees neither Upgrade nor HTTP2-Settings', async () => {
      const c = await client();
      c.socket.write(`GET /?q=1 HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n`);
      const [answer] = await c.answers(1);
      expect(answer?.statusLine).toBe('HTTP/1.1 200 OK');
      expect(t.upstream.upgrades).toEqual([]);
      expect(t.upstream.requests.map((r) => [r.method, r.url])).toEqual([['GET', '/?q=1']]);
      const seen = t.upstream.requests[0]!.headers;
      expect(seen.upgrade).toBeUndefined();
      expect(seen['http2-settings']).toBeUndefined();
      expect(seen.connection ?? '').not.toMatch(/upgrade|http2-settings/i);
    });

    it('a POST body arrives intact, and the connection serves the next request (h2c again) too', async () => {
      const c = await client();
      const body = 'name=caf\xe9&text=GET / HTTP/1.1\r\n\r\n';
      c.socket.write(Buffer.from(`POST /docs/upload HTTP/1.1\r\nHost: portal.example\r\n${H2C}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1'));
      const [first] = await c.answers(1);
      expect(first?.statusLine).toBe('HTTP/1.1 200 OK');
      c.socket.write(`GET /docs/next HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n`);
      const [, second] = await c.answers(2);
      expect(second?.statusLine).toBe('HTTP/1.1 200 OK');
      expect(c.isClosed()).toBe(false);
      expect(t.upstream.requests.map((r) => [r.method, r.url, r.body.toString('latin1')])).toEqual([
        ['POST', '/docs/upload', body],
        ['GET', '/docs/next', ''],
      ]);
      expect(t.upstream.requests.every((r) => r.headers.upgrade === undefined && r.headers['http2-settings'] === undefined)).toBe(true);
      expect(t.upstream.upgrades).toEqual([]);
    });

    it('a bearer-authenticated route is served with the proxy identity', async () => {
      const c = await client();
      c.socket.write(`GET /api/things HTTP/1.1\r\nHost: portal.example\r\nAuthorization: ${bearer}\r\n${H2C}\r\n`);
      const [answer] = await c.answers(1);
      expect(answer?.statusLine).toBe('HTTP/1.1 200 OK');
      const seen = t.upstream.requests.map((r) => [r.url, r.headers['x-portcullis-user'], r.headers.authorization, r.headers.upgrade]);
      expect(seen).toEqual([['/api/things', 'my-operator', undefined, undefined]]);
    });

    it('an authenticated route without a credential gets its 401, not an empty reply', async () => {
      const c = await client();
      c.socket.write(`GET /api/things HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n`);
      const [answer] = await c.answers(1);
      expect(answer?.statusLine).toBe('HTTP/1.1 401 Unauthorized');
      expect(answer?.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(t.upstream.requests).toEqual([]);
    });

    it('behind an answer still owed and before pipelined followers, it is answered in request order', async () => {
      const held = holdingResponder(t.upstream);
      const c = await client();
      c.socket.write(
        `GET /docs/held/1 HTTP/1.1\r\nHost: portal.example\r\n\r\n` +
          `GET /docs/after HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n` +
          `GET /docs/last HTTP/1.1\r\nHost: portal.example\r\n\r\n`,
      );
      await Promise.race([held.arrived, c.closed()]);
      held.release();
      const answers = await c.answers(3);
      expect(answers.map((a) => [a.statusLine, urlOf(a)])).toEqual([
        ['HTTP/1.1 200 OK', '/docs/held/1'],
        ['HTTP/1.1 200 OK', '/docs/after'],
        ['HTTP/1.1 200 OK', '/docs/last'],
      ]);
      expect(t.upstream.requests.map((r) => r.url)).toEqual(['/docs/held/1', '/docs/after', '/docs/last']);
      expect(t.upstream.upgrades).toEqual([]);
    });

    it('a WebSocket upgrade (any letter case) still reaches the upstream as an upgrade', async () => {
      const c = await client();
      c.socket.write(`GET /api/socket HTTP/1.1\r\nHost: portal.example\r\nAuthorization: ${bearer}\r\n${WEBSOCKET}\r\n`);
      const [answer] = await c.answers(1);
      expect(answer?.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
      expect(t.upstream.upgrades.map((u) => [u.url, u.headers.upgrade, u.headers['x-portcullis-user']])).toEqual([['/api/socket', 'WebSocket', 'my-operator']]);
      expect(t.upstream.requests).toEqual([]);
    });
  });

  describe('pipelined requests are answered in request order', () => {
    it('a valid POST followed by a malformed request: the POST is answered, then 400, then the connection closes', async () => {
      const held = holdingResponder(t.upstream);
      const c = await client();
      c.socket.write(`POST /docs/held/upload HTTP/1.1\r\nHost: portal.example\r\nContent-Length: 5\r\n\r\nhello${MALFORMED}`);
      await Promise.race([held.arrived, c.closed()]);
      held.release();
      await c.closed();
      const answers = answersIn(c.received());
      expect(answers.map((a) => a.statusLine)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
      expect(JSON.parse(answers[0]!.body)).toEqual({ method: 'POST', url: '/docs/held/upload', body: 'hello' });
      expect(JSON.parse(answers[1]!.body)).toEqual({ error: 'invalid_request', error_description: 'malformed HTTP request' });
      expect(answers[1]!.headers['connection']).toBe('close');
      expect(c.received().endsWith(answers[1]!.body)).toBe(true);
      expect(t.upstream.requests.map((r) => [r.method, r.url, r.body.toString('latin1')])).toEqual([['POST', '/docs/held/upload', 'hello']]);
    });

    it('headers too large behind an owed answer: that answer, then 431, then the connection closes', async () => {
      const held = holdingResponder(t.upstream);
      const c = await client();
      c.socket.write(`GET /docs/held/page HTTP/1.1\r\nHost: portal.example\r\n\r\nGET /docs/big HTTP/1.1\r\nHost: portal.example\r\nX-Big: ${'b'.repeat(6000)}\r\n\r\n`);
      await Promise.race([held.arrived, c.closed()]);
      held.release();
      await c.closed();
      const answers = answersIn(c.received());
      expect(answers.map((a) => a.statusLine)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 431 Request Header Fields Too Large']);
      expect(urlOf(answers[0])).toBe('/docs/held/page');
      expect(t.upstream.requests.map((r) => r.url)).toEqual(['/docs/held/page']);
    });

    it('several answers owed: all of them first, then the 400', async () => {
      const c = await client();
      c.socket.write(`GET /docs/a HTTP/1.1\r\nHost: portal.example\r\n\r\nGET /docs/b HTTP/1.1\r\nHost: portal.example\r\n\r\n${MALFORMED}`);
      await c.closed();
      const answers = answersIn(c.received());
      expect(answers.map((a) => [a.statusLine, urlOf(a)])).toEqual([
        ['HTTP/1.1 200 OK', '/docs/a'],
        ['HTTP/1.1 200 OK', '/docs/b'],
        ['HTTP/1.1 400 Bad Request', undefined],
      ]);
    });

    it('a malformed request with nothing owed is still answered 400 at once', async () => {
      const c = await client();
      c.socket.write(MALFORMED);
      await c.closed();
      expect(answersIn(c.received()).map((a) => a.statusLine)).toEqual(['HTTP/1.1 400 Bad Request']);
      expect(t.upstream.requests.filter((r) => r.url === '/docs/bad')).toEqual([]);
    });
  });
});

describe('the listener alone', () => {
  let server: Server;
  let port: number;
  const seen: IncomingMessage[] = [];
  const arrivals = new EventEmitter();
  const held = new Map<string, ServerResponse>();
  /** The server's side of each connection, by the client's port. */
  const serverSides = new Map<number, Socket>();
  const clients: Client[] = [];
  const client = async (): Promise<Client> => {
    const opened = await openClient(port);
    clients.push(opened);
    return opened;
  };
  let upgrades: IncomingMessage[] = [];

  /** Answers 200 with the URL, except paths under /held/, which wait for the test, and /never, which waits for good. */
  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    seen.push(req);
    arrivals.emit(req.url ?? '');
    req.resume();
    if (req.url === '/never') return;
    if (req.url?.startsWith('/held/')) {
      held.set(req.url, res);
      return;
    }
    req.once('end', () => res.writeHead(200, { 'content-length': Buffer.byteLength(req.url ?? '') }).end(req.url));
  }

  /** A listener on a free port with the handlers above; a short keep-alive timeout, so tests can wait for it. */
  async function startListener(): Promise<{ server: Server; port: number }> {
    const config = await loadTestConfig(baseConfig('http://127.0.0.1:9'));
    const started = createPublicListener(
      { ...config.parsed.listen, headersTimeout: 500, requestTimeout: 0, keepAliveTimeout: 100 },
      {
        request: handleRequest,
        upgrade(req, socket) {
          upgrades.push(req);
          socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
        },
      },
    );
    started.on('connection', (socket: Socket) => serverSides.set(socket.remotePort ?? 0, socket));
    await listen(started, 0, '127.0.0.1');
    return { server: started, port: (started.address() as { port: number }).port };
  }

  beforeAll(async () => {
    ({ server, port } = await startListener());
  });

  afterEach(() => {
    for (const opened of clients.splice(0)) opened.socket.destroy();
    seen.length = 0;
    held.clear();
    serverSides.clear();
    upgrades = [];
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const untilSeen = async (url: string): Promise<void> => {
    if (!seen.some((r) => r.url === url)) await once(arrivals, url);
  };

  it('the replayed request keeps every other header byte for byte, Connection tokens included', async () => {
    const c = await client();
    c.socket.write(
      Buffer.from(
        'GET /page?x=%41 HTTP/1.1\r\nHost: portal.example\r\nX-Latin: caf\xe9 \xff\r\nConnection: Upgrade, HTTP2-Settings, keep-alive\r\n' +
          'upgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\nX-Dup: a\r\nX-Dup: b\r\n\r\n' +
          'GET /only-upgrade HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: h2c\r\nX-Last: 1\r\n\r\n',
        'latin1',
      ),
    );
    const answers = await c.answers(2);
    expect(answers.map((a) => [a.statusLine, a.body])).toEqual([
      ['HTTP/1.1 200 OK', '/page?x=%41'],
      ['HTTP/1.1 200 OK', '/only-upgrade'],
    ]);
    expect(upgrades).toEqual([]);
    expect(seen.map((r) => [r.method, r.url, r.httpVersion, r.rawHeaders])).toEqual([
      ['GET', '/page?x=%41', '1.1', ['Host', 'portal.example', 'X-Latin', 'caf\xe9 \xff', 'Connection', 'keep-alive', 'X-Dup', 'a', 'X-Dup', 'b']],
      ['GET', '/only-upgrade', '1.0', ['X-Last', '1']],
    ]);
    // HTTP/1.0 without keep-alive: the connection closes after the answer, as for any such request.
    await c.closed();
  });

  it('Connection: Upgrade, keep-alive on HTTP/1.0 keeps the connection alive', async () => {
    const c = await client();
    c.socket.write('GET /one HTTP/1.0\r\nConnection: Upgrade, keep-alive\r\nUpgrade: h2c\r\n\r\n');
    const [first] = await c.answers(1);
    expect(first?.headers['connection']).toBe('keep-alive');
    c.socket.write('GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [, second] = await c.answers(2);
    expect(second?.body).toBe('/two');
    expect(seen.map((r) => r.headers.connection)).toEqual(['keep-alive', 'keep-alive']);
  });

  it('a WebSocket upgrade goes to the upgrade handler with its headers untouched', async () => {
    const c = await client();
    c.socket.write(`GET /socket HTTP/1.1\r\nHost: portal.example\r\n${WEBSOCKET}\r\n`);
    const [answer] = await c.answers(1);
    expect(answer?.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
    expect(upgrades.map((r) => [r.url, r.headers.connection, r.headers.upgrade])).toEqual([['/socket', 'Upgrade', 'WebSocket']]);
    expect(seen).toEqual([]);
  });

  it('a request timeout behind an owed answer: that answer, then 408, then the connection closes', async () => {
    const c = await client();
    const timedOut = once(server, 'clientError') as Promise<[NodeJS.ErrnoException]>;
    c.socket.write('GET /held/slow HTTP/1.1\r\nHost: portal.example\r\n\r\nGET /next HTTP/1.1\r\nHost: portal.example\r\n');
    expect((await timedOut)[0].code).toBe('ERR_HTTP_REQUEST_TIMEOUT');
    expect(c.received()).toBe('');
    held.get('/held/slow')!.writeHead(200, { 'content-length': 4 }).end('slow');
    await c.closed();
    const answers = answersIn(c.received());
    expect(answers.map((a) => [a.statusLine, a.body])).toEqual([
      ['HTTP/1.1 200 OK', 'slow'],
      ['HTTP/1.1 408 Request Timeout', JSON.stringify({ error: 'invalid_request', error_description: 'request timed out' })],
    ]);
  });

  it('a malformed body of a request still being answered is refused at once, not after its own answer', async () => {
    const c = await client();
    c.socket.write('POST /never HTTP/1.1\r\nHost: portal.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n');
    await c.closed();
    expect(answersIn(c.received()).map((a) => a.statusLine)).toEqual(['HTTP/1.1 400 Bad Request']);
  });

  /** Not events.once, which would reject on a write error the server side may meet on its way out. */
  const closeOf = (socket: Socket): Promise<void> => new Promise((resolve) => socket.once('close', () => resolve()));
  const openConnections = (): Promise<number> =>
    new Promise<number>((resolve, reject) => server.getConnections((err, count) => (err ? reject(err) : resolve(count))));

  it('a client that leaves while its 400 waits behind an owed answer leaves nothing behind', async () => {
    const c = await client();
    c.socket.write(`GET /held/gone HTTP/1.1\r\nHost: portal.example\r\n\r\n${MALFORMED}`);
    await untilSeen('/held/gone');
    const serverSide = serverSides.get(c.socket.localPort ?? -1)!;
    const serverClosed = closeOf(serverSide);
    c.socket.destroy();
    await serverClosed;
    expect(held.get('/held/gone')!.destroyed).toBe(true);
    expect(await openConnections()).toBe(0);
    expect(seen.map((r) => r.url)).toEqual(['/held/gone']);
  });

  it('a client that leaves while an ignored upgrade waits behind an owed answer: the connection goes once that answer is written', async () => {
    const c = await client();
    c.socket.write(`GET /held/gone HTTP/1.1\r\nHost: portal.example\r\n\r\nGET /after HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n`);
    await untilSeen('/held/gone');
    const serverSide = serverSides.get(c.socket.localPort ?? -1)!;
    const serverClosed = closeOf(serverSide);
    c.socket.destroy();
    await c.closed();
    // Until the replay, nothing reads the connection, so the departure is noticed once the owed answer goes out.
    held.get('/held/gone')!.writeHead(200, { 'content-length': 4 }).end('late');
    await serverClosed;
    expect(await openConnections()).toBe(0);
  });

  it('the replayed request is not cut by the keep-alive timer of the answer it waited for', async () => {
    const c = await client();
    c.socket.write(`GET /held/first HTTP/1.1\r\nHost: portal.example\r\n\r\nGET /held/second HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n`);
    await untilSeen('/held/first');
    held.get('/held/first')!.writeHead(200, { 'content-length': 5 }).end('first');
    await untilSeen('/held/second');
    // Node's keep-alive timer on another connection, armed after the first answer went out, is the clock: once it
    // has closed that connection, a timer left over from the first answer would have fired on this one too.
    const other = await client();
    other.socket.write('GET /other HTTP/1.1\r\nHost: portal.example\r\n\r\n');
    await other.answers(1);
    await other.closed();
    expect(c.isClosed()).toBe(false);
    held.get('/held/second')!.writeHead(200, { 'content-length': 6 }).end('second');
    const answers = await c.answers(2);
    expect(answers.map((a) => a.body)).toEqual(['first', 'second']);
  });

  it('an ignored upgrade still waiting when the server stops listening is not served: the connection ends after the owed answer', async () => {
    const closing = await startListener();
    const c = await openClient(closing.port);
    clients.push(c);
    c.socket.write(`GET /held/drain HTTP/1.1\r\nHost: portal.example\r\n\r\nGET /after HTTP/1.1\r\nHost: portal.example\r\n${H2C}\r\n`);
    await untilSeen('/held/drain');
    const closed = new Promise<void>((resolve) => closing.server.close(() => resolve()));
    held.get('/held/drain')!.writeHead(200, { 'content-length': 5 }).end('drain');
    await c.closed();
    await closed;
    expect(answersIn(c.received()).map((a) => [a.statusLine, a.body])).toEqual([['HTTP/1.1 200 OK', 'drain']]);
    expect(seen.map((r) => r.url)).toEqual(['/held/drain']);
  });
});

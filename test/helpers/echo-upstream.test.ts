// Sanity checks for the test helpers themselves: the recording upstream, the raw upstream and the raw HTTP
// client, so a failing integration test points at the proxy and not at its harness.

import { connect } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEchoUpstream, startRawUpstream, type EchoUpstream } from './echo-upstream.js';
import { rawRequest } from './raw-http.js';

let upstream: EchoUpstream;

beforeAll(async () => {
  upstream = await startEchoUpstream();
});

afterAll(async () => {
  await upstream.close();
});

beforeEach(() => upstream.reset());

describe('echo upstream', () => {
  it('records method, url, headers in wire order and the full body, and echoes them back', async () => {
    const body = Buffer.from([0, 1, 2, 255, 254]);
    const res = await fetch(`${upstream.url}/api/tickets?x=1`, {
      method: 'POST',
      headers: { 'X-Custom': 'v', 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, method: 'POST', url: '/api/tickets?x=1', headers: { 'x-custom': 'v' } });

    expect(upstream.requests).toHaveLength(1);
    const [recorded] = upstream.requests;
    expect(recorded).toMatchObject({ method: 'POST', url: '/api/tickets?x=1', httpVersion: '1.1' });
    expect(recorded!.body.equals(body)).toBe(true);
    expect(recorded!.rawHeaders).toContain('X-Custom');
  });

  it('answers with a custom responder until reset', async () => {
    upstream.respondWith((_req, res, body) => {
      res.writeHead(418, { 'content-type': 'text/plain' });
      res.end(`got ${body.length}`);
    });
    const custom = await fetch(upstream.url, { method: 'PUT', body: 'abc' });
    expect(custom.status).toBe(418);
    expect(await custom.text()).toBe('got 3');

    upstream.reset();
    expect(upstream.requests).toEqual([]);
    expect((await fetch(upstream.url)).status).toBe(200);
  });

  it('turns a throwing responder into a 500 instead of hanging', async () => {
    upstream.respondWith(() => {
      throw new Error('boom');
    });
    expect((await fetch(upstream.url)).status).toBe(500);
  });

  it('accepts a WebSocket upgrade, records it and echoes bytes back', async () => {
    const socket = connect(upstream.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    await expect.poll(() => received).toContain('\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    // The RFC 6455 §1.3 sample key and its accept value.
    expect(received).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');

    received = '';
    socket.write(Buffer.from('\x81\x85frame', 'latin1'));
    await expect.poll(() => received).toBe('\x81\x85frame');
    socket.destroy();

    expect(upstream.upgrades).toHaveLength(1);
    expect(upstream.upgrades[0]).toMatchObject({ method: 'GET', url: '/ws', headers: { upgrade: 'websocket' } });
    expect(upstream.requests).toEqual([]);
  });

  it('closes even while keep-alive and upgraded connections are open', async () => {
    const extra = await startEchoUpstream();
    await fetch(extra.url);
    const socket = connect(extra.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n');
    await expect.poll(() => extra.upgrades.length).toBe(1);
    socket.resume();
    // Resolving at all is the point: a server.close() that waited on these sockets would time the test out.
    const closedByServer = once(socket, 'close');
    await extra.close();
    await closedByServer;
  });
});

describe('raw upstream and raw request', () => {
  it('reads a content-length response and reports that the server closed', async () => {
    const res = await rawRequest(upstream.port, 'GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toMatchObject({ url: '/raw' });
    expect(res.closed).toBe(true);
    expect(upstream.requests[0]!.url).toBe('/raw');
  });

  it('sends the body bytes it is given and decodes a chunked answer', async () => {
    upstream.respondWith((_req, res, body) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      res.end(`second:${body.toString('latin1')}`);
    });
    const res = await rawRequest(upstream.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\xffab');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body).toBe('first;second:\xffab');
    expect(res.closed).toBe(false);
    expect(upstream.requests[0]!.body).toEqual(Buffer.from([0xff, 0x61, 0x62]));
  });

  it('skips interim responses and returns none for HEAD', async () => {
    const res = await rawRequest(
      upstream.port,
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
    );
    expect(res.raw.startsWith('HTTP/1.1 100 Continue\r\n')).toBe(true);
    expect(res.status).toBe(200);

    const head = await rawRequest(upstream.port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('gives a null status for invalid bytes and for silence', async () => {
    const garbage = await startRawUpstream((socket) => socket.end('NOT HTTP AT ALL\r\n\r\n'));
    const silent = await startRawUpstream(() => undefined);
    try {
      const bad = await rawRequest(garbage.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(bad).toMatchObject({ status: null, raw: 'NOT HTTP AT ALL\r\n\r\n', closed: true });

      const none = await rawRequest(silent.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 200 });
      expect(none).toMatchObject({ status: null, raw: '', closed: false });
    } finally {
      await garbage.close();
      await silent.close();
    }
  });

  it('reads a close-delimited body from a raw upstream', async () => {
    const raw = await startRawUpstream((socket) => {
      socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\nX-A: 1\r\nX-A: 2\r\n\r\nuntil close'));
    });
    try {
      const res = await rawRequest(raw.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
      expect(res).toMatchObject({ status: 200, body: 'until close', closed: true, headers: { 'x-a': '1, 2' } });
    } finally {
      await raw.close();
    }
  });
});

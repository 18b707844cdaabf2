// Listener limits against misbehaving clients, through the real proxy: slow headers, oversize headers, oversize
// bodies on the token endpoint, the connection cap and the idle keep-alive timeout.

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { basicAuth, login } from '../helpers/oauth.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openConnection, within } from '../helpers/sockets.js';

const t = testProxyForSuite({
  edit(config) {
    config['listen'] = {
      ...(config['listen'] as object),
      headersTimeout: '1s',
      requestTimeout: '5s',
      keepAliveTimeout: '1s',
      maxHeaderSize: 4096,
      maxOwnBodyBytes: 2048,
      maxConnections: 5,
    };
  },
});

describe('slow and oversize requests', () => {
  it('headers sent byte by byte slower than headersTimeout are cut off', async () => {
    const client = await openConnection(t.port);
    const head = 'GET /docs/page HTTP/1.1\r\nHost: portal.example\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
    let sent = 0;
    const drip = setInterval(() => {
      if (client.socket.destroyed || sent >= head.length) return;
      client.socket.write(head[sent++]!);
    }, 100);
    try {
      const closedAfter = await within(client.closed, 4000);
      expect(closedAfter).not.toBe('timeout');
      expect(closedAfter as number).toBeLessThan(2500);
      expect(closedAfter as number).toBeGreaterThanOrEqual(900);
      // Whatever was answered, the request never reached the upstream.
      const reply = client.received();
      if (reply !== '') expect(reply).toMatch(/^HTTP\/1\.1 408 /);
      expect(t.upstream.requests.some((r) => r.url === '/docs/page')).toBe(false);
    } finally {
      clearInterval(drip);
      client.socket.destroy();
    }
  });

  it('headers larger than maxHeaderSize are answered 431', async () => {
    const reply = await rawRequest(t.port, `GET /docs/big HTTP/1.1\r\nHost: portal.example\r\nX-Big: ${'b'.repeat(6000)}\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(JSON.parse(reply.body)).toEqual({ error: 'invalid_request', error_description: 'request headers too large' });
    expect(reply.closed).toBe(true);
    // Just under the limit still works.
    const fits = await rawRequest(t.port, `GET /docs/fits HTTP/1.1\r\nHost: portal.example\r\nX-Big: ${'b'.repeat(3000)}\r\nConnection: close\r\n\r\n`);
    expect(fits.status).toBe(200);
  });

  it('a token request body over maxOwnBodyBytes is answered 413 and the connection closed', async () => {
    const body = `grant_type=password&username=my-operator&password=${'p'.repeat(3000)}`;
    const reply = await rawRequest(
      t.port,
      `POST /oauth/token HTTP/1.1\r\nHost: portal.example\r\nAuthorization: ${basicAuth('public-api', SECRETS.clientSecret)}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({ error: 'invalid_request' });
    expect(reply.headers['connection']).toBe('close');
    expect(reply.closed).toBe(true);
    // The same limit holds when the client announces no length at all.
    const chunked = await rawRequest(
      t.port,
      `POST /oauth/token HTTP/1.1\r\nHost: portal.example\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(413);
    expect((await login(t.url)).status).toBe(200);
  });
});

describe('connections', () => {
  it('maxConnections: the 6th concurrent connection is closed while the first five still work', async () => {
    const first = await Promise.all(Array.from({ length: 5 }, () => openConnection(t.port)));
    // The server counts a connection once it has accepted it; give it that moment.
    await sleep(100);
    const sixth = await openConnection(t.port);
    try {
      expect(await within(sixth.closed, 1000)).not.toBe('timeout');
      expect(sixth.received()).toBe('');
      for (const [i, client] of first.entries()) {
        client.socket.write(`GET /docs/conn-${i} HTTP/1.1\r\nHost: portal.example\r\n\r\n`);
      }
      await sleep(300);
      for (const client of first) expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const client of [...first, sixth]) client.socket.destroy();
    }
    // Closing them makes room again.
    await sleep(100);
    const again = await rawRequest(t.port, 'GET /docs/after HTTP/1.1\r\nHost: portal.example\r\nConnection: close\r\n\r\n');
    expect(again.status).toBe(200);
  });

  it('an idle keep-alive connection is closed after keepAliveTimeout', async () => {
    const client = await openConnection(t.port);
    try {
      // An answer of the proxy's own, so the Keep-Alive hint is the proxy's and not one relayed from the upstream.
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: portal.example\r\n\r\n');
      await sleep(200);
      expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
      expect(client.received()).toMatch(/\r\nkeep-alive: timeout=1\r\n/i);
      const answeredAt = Date.now();
      expect(await within(client.closed, 3000)).not.toBe('timeout');
      // Node keeps the socket about one second past the hint it sends, so the client is the one to close first.
      const idle = Date.now() - answeredAt + 200;
      expect(idle).toBeGreaterThanOrEqual(1000);
      expect(idle).toBeLessThan(3000);
    } finally {
      client.socket.destroy();
    }
  });
});

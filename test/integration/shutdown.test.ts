// Graceful shutdown: requests in flight finish, new connections are refused, and the deadline is kept, both for
// `Portcullis.close(deadline)` in-process and for the CLI process on SIGTERM.

import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { login } from '../helpers/oauth.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { startCli, writeCliConfig, type CliProcess } from '../helpers/cli-process.js';

/** Answers every request after `ms`, so a test can act while it is in flight; returns when it last answered. */
function holdFor(upstream: EchoUpstream, ms: number): () => number {
  let answeredAt = 0;
  upstream.respondWith((req, res) => {
    setTimeout(() => {
      const body = JSON.stringify({ ok: true, url: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      answeredAt = Date.now();
    }, ms);
  });
  return () => answeredAt;
}

/** Resolves once the upstream has received `count` requests, so the request is known to be in flight. */
async function untilReceived(upstream: EchoUpstream, count = 1): Promise<void> {
  for (let i = 0; i < 200 && upstream.requests.length < count; i++) await sleep(10);
  expect(upstream.requests.length).toBeGreaterThanOrEqual(count);
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

type Outcome = { status: number; body: string; at: number } | { error: string; at: number };

async function timedFetch(url: string): Promise<Outcome> {
  try {
    const res = await fetch(url);
    const body = await res.text();
    return { status: res.status, body, at: Date.now() };
  } catch (error) {
    return { error: String((error as Error).cause ?? error), at: Date.now() };
  }
}

describe('Portcullis.close(deadline)', () => {
  let t: TestProxy | undefined;

  afterEach(async () => {
    await t?.close();
    await t?.upstream.close();
    t = undefined;
  });

  it('lets the in-flight request finish, refuses new connections, and resolves once it is done', async () => {
    const upstream = await startEchoUpstream();
    t = await startTestProxy({ upstream });
    const answeredAt = holdFor(upstream, 500);
    const inFlight = timedFetch(`${t.url}/docs/slow`);
    await untilReceived(upstream);

    const closeStarted = Date.now();
    let closedAt = 0;
    const closing = t.proxy.close(5000).then(() => (closedAt = Date.now()));
    await sleep(50);
    expect(await connectionRefused(t.port)).toBe(true);

    const outcome = await inFlight;
    expect(outcome).toMatchObject({ status: 200 });
    expect(JSON.parse((outcome as { body: string }).body)).toEqual({ ok: true, url: '/docs/slow' });
    await closing;
    expect(answeredAt()).toBeGreaterThan(0);
    expect(closedAt).toBeGreaterThanOrEqual(answeredAt());
    // Resolved because the request finished, long before the deadline.
    expect(closedAt - closeStarted).toBeLessThan(2000);
  });

  it('with a deadline shorter than the in-flight request, resolves at the deadline and cuts the connection', async () => {
    const upstream = await startEchoUpstream();
    t = await startTestProxy({ upstream });
    holdFor(upstream, 3000);
    const inFlight = timedFetch(`${t.url}/docs/too-slow`);
    await untilReceived(upstream);

    const closeStarted = Date.now();
    await t.proxy.close(400);
    const took = Date.now() - closeStarted;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(1500);

    const outcome = await inFlight;
    expect(outcome).toHaveProperty('error');
    expect(outcome.at - closeStarted).toBeLessThan(1500);
  });

  it('an idle keep-alive connection does not hold the shutdown up', async () => {
    const upstream = await startEchoUpstream();
    t = await startTestProxy({ upstream });
    const socket = connect(t.port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    // Reading is what lets the socket see the server's end of the connection.
    socket.resume();
    socket.write('GET /docs/idle HTTP/1.1\r\nHost: portal.example\r\n\r\n');
    await untilReceived(upstream);
    await sleep(50);
    const started = Date.now();
    await t.proxy.close(5000);
    expect(Date.now() - started).toBeLessThan(1000);
    await closed;
  });

  it('cuts an open WebSocket connection at the deadline', async () => {
    const upstream = await startEchoUpstream();
    t = await startTestProxy({ upstream });
    const granted = await login(t.url);
    const token = String(granted.body['access_token']);
    const socket = connect(t.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const upgraded = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    socket.write(
      `GET /api/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    expect(await upgraded).toMatch(/^HTTP\/1\.1 101/);
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const started = Date.now();
    await t.proxy.close(300);
    const closedAt = await closed;
    expect(closedAt - started).toBeLessThan(2000);
  });
});

describe('the CLI process on SIGTERM', () => {
  let cli: CliProcess | undefined;
  let upstream: EchoUpstream | undefined;

  afterEach(async () => {
    cli?.kill();
    await upstream?.close();
    cli = undefined;
    upstream = undefined;
  });

  it('finishes the in-flight request and exits 0', async () => {
    upstream = await startEchoUpstream();
    const file = writeCliConfig(upstream.url);
    cli = await startCli(file);
    holdFor(upstream, 700);
    const inFlight = timedFetch(`${cli.url}/`);
    await untilReceived(upstream);

    cli.signal('SIGTERM');
    await sleep(100);
    expect(await connectionRefused(cli.port)).toBe(true);
    const outcome = await inFlight;
    expect(outcome).toMatchObject({ status: 200 });
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.logs().some((line) => line['msg'] === 'shutting down' && line['signal'] === 'SIGTERM')).toBe(true);
  });
});

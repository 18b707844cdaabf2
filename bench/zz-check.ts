import { request as httpRequest } from 'node:http';

import { startTestProxy, login } from '../test/helpers/proxy.js';
import { startRawUpstream } from '../test/helpers/echo-upstream.js';
import { rawRequest } from '../test/helpers/raw-http.js';

for (const engine of ['http-proxy', 'undici']) {
  const t = await startTestProxy({ edit: (c) => { (c['upstream'] as any).engine = engine; (c['routes'] as any[]).push({ id: 'pub2', path: '/pub/**', public: true }); } });
  const tok = (await login(t.url)).body['access_token'] as string;
  const auth = `Bearer ${tok}`;
  const out: Record<string, unknown> = {};
  // hop-by-hop response headers
  t.upstream.respondWith((_q, res) => { res.writeHead(200, [ 'Connection', 'X-Secret-Hop, keep-alive', 'X-Secret-Hop', 'v', 'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Trailer', 'X-T', 'X-Kept', 'yes', 'Proxy-Authenticate', 'Basic' ] as any); res.end('hello'); });
  let r = await rawRequest(t.port, `GET /api/x HTTP/1.1\r\nHost: p\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
  out.hop = { status: r.status, headers: r.headers, body: r.body };
  // HEAD
  t.upstream.respondWith((_q, res) => { res.writeHead(200, { 'content-length': '5' }); res.end(); });
  r = await rawRequest(t.port, `HEAD /api/x HTTP/1.1\r\nHost: p\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
  out.head = { status: r.status, cl: r.headers['content-length'], body: r.body };
  // 204
  t.upstream.respondWith((_q, res) => { res.writeHead(204); res.end(); });
  r = await rawRequest(t.port, `GET /api/x HTTP/1.1\r\nHost: p\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
  out.s204 = { status: r.status, te: r.headers['transfer-encoding'] };
  // status text
  t.upstream.respondWith((_q, res) => { res.writeHead(418, 'I Am A Teapot'); res.end('x'); });
  r = await rawRequest(t.port, `GET /api/x HTTP/1.1\r\nHost: p\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
  out.statusText = r.raw.split('\r\n')[0];
  // large download with backpressure
  const big = Buffer.alloc(20 * 1024 * 1024, 'a');
  t.upstream.respondWith((_q, res) => { res.writeHead(200, { 'content-length': String(big.length) }); res.end(big); });
  const got = await new Promise<number>((resolve) => { httpRequest(`${t.url}/api/big`, { headers: { authorization: auth } }, (res) => { let n = 0; res.on('data', (c) => { n += c.length; res.pause(); setTimeout(() => res.resume(), 1); }); res.on('end', () => resolve(n)); }).end(); });
  out.big = got === big.length;
  // expect 100-continue
  t.upstream.reset();
  r = await rawRequest(t.port, `POST /api/x HTTP/1.1\r\nHost: p\r\nAuthorization: ${auth}\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`);
  out.expect = { status: r.status, upstreamBody: t.upstream.requests[0]?.body.toString(), expectSeen: t.upstream.requests[0]?.headers['expect'] };
  // websocket upgrade
  t.upstream.reset();
  r = await rawRequest(t.port, `GET /api/ws HTTP/1.1\r\nHost: p\r\nAuthorization: ${auth}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`, { timeoutMs: 1000 });
  out.ws = r.status;
  await t.close();
  // invalid response and mid-body close, on raw upstreams
  for (const [name, bytes] of [['invalid', 'HTTP/1.1 2OO OK\r\n\r\n'], ['garbage', 'hello there\r\n\r\n'], ['midbody', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial'], ['closeNoAnswer', '']] as const) {
    const raw = await startRawUpstream((s) => { s.once('data', () => { if (bytes) s.write(bytes); s.end(); }); });
    const p = await startTestProxy({ edit: (c) => { (c['upstream'] as any).engine = engine; (c['upstream'] as any).url = raw.url; } });
    const tk = (await login(p.url)).body['access_token'] as string;
    const rr = await rawRequest(p.port, `GET /api/x HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer ${tk}\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 });
    out[name] = { status: rr.status, body: rr.body.slice(0, 80), closed: rr.closed };
    await p.close(); await raw.close();
  }
  console.log(engine, JSON.stringify(out, null, 1));
}
process.exit(0);

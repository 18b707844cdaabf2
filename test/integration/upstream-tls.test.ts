// The upstream hop over TLS, for both forwarding engines: an upstream signed by a private CA, with keep-alive
// connections (one handshake each, whatever Host header the clients send), the certificate failures that are 502
// upstream_tls_failed (unknown CA, expired, another host's name, no client certificate, no common protocol
// version) with the code logged and counted, a failed handshake that does not spoil the pool, mutual TLS, a
// WebSocket upgrade, and verification switched off with its warning.

import { createPrivateKey } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { startEchoUpstream, type EchoUpstream, type EchoUpstreamTls } from '../helpers/echo-upstream.js';
import { FORWARDING_ENGINES, usingEngine } from '../helpers/fixtures.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openConnection } from '../helpers/sockets.js';
import { createCertificateAuthority, issueLocalhost, writePemFiles, type PemPair } from '../helpers/tls-certs.js';

const DAY_MS = 86_400_000;
const PASSPHRASE = 'client-key-passphrase';

let files: Record<string, string>;
let server: PemPair;
let expired: PemPair;
let portal: PemPair;
let foreign: PemPair;
let caPem: string;

beforeAll(async () => {
  const ca = await createCertificateAuthority('Upstream Test CA');
  const other = await createCertificateAuthority('Unknown Test CA');
  caPem = ca.certPem;
  [server, expired, portal, foreign] = await Promise.all([
    issueLocalhost(ca),
    issueLocalhost(ca, { notBefore: new Date(Date.now() - 30 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) }),
    ca.issue({ commonName: 'portal.internal', dnsNames: ['portal.internal'] }),
    issueLocalhost(other),
  ]);
  const client = await ca.issue({ commonName: 'portcullis-proxy', usage: 'client', subjectSuffix: 'O=Operations' });
  const encryptedKey = createPrivateKey(client.keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }) as string;
  files = writePemFiles({ 'ca.pem': ca.certPem, 'client.pem': client.certPem, 'client-key.pem': encryptedKey }).paths;
});

const upstreams: EchoUpstream[] = [];
const proxies: TestProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function httpsUpstream(tls: EchoUpstreamTls): Promise<EchoUpstream> {
  const upstream = await startEchoUpstream({ tls });
  upstreams.push(upstream);
  return upstream;
}

const pair = (p: PemPair) => ({ cert: p.certPem, key: p.keyPem });

function clientCertificate(): Record<string, unknown> {
  return { certFile: files['client.pem'], keyFile: files['client-key.pem'], passphrase: { env: 'UPSTREAM_KEY_PASSPHRASE' } };
}

/**
 * A GET on a connection closed after it: a keep-alive client connection would hold the proxy's graceful close
 * open until its deadline, and the tests close many proxies.
 */
function get(port: number, path: string, host = 'portal.example') {
  return rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
}

async function statusOf(proxy: TestProxy, path: string): Promise<number | null> {
  return (await get(proxy.port, path)).status;
}

/** 502 with the reason in the body; the answer the client sees for every TLS failure. */
async function expectTlsFailure(proxy: TestProxy, path = '/docs/page'): Promise<void> {
  const answer = await get(proxy.port, path);
  expect(answer.status).toBe(502);
  expect(JSON.parse(answer.body)).toMatchObject({ reason: 'upstream_tls_failed' });
}

/** The codes of the proxy's "TLS handshake with the upstream failed" lines. */
function loggedTlsCodes(proxy: TestProxy): string[] {
  return proxy.logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['msg'] === 'TLS handshake with the upstream failed')
    .map((line) => String(line['code']));
}

describe.each(FORWARDING_ENGINES)('upstream TLS with the %s engine', (engine) => {
  async function proxyTo(upstream: EchoUpstream, tls: Record<string, unknown> | undefined, options: { metrics?: Metrics } = {}): Promise<TestProxy> {
    const proxy = await startTestProxy({
      upstream,
      env: { UPSTREAM_KEY_PASSPHRASE: PASSPHRASE },
      edit(config) {
        usingEngine(engine)(config);
        if (tls !== undefined) (config['upstream'] as Record<string, unknown>)['tls'] = tls;
      },
      ...(options.metrics ? { hooks: options.metrics.hooks() } : {}),
    });
    proxies.push(proxy);
    return proxy;
  }

  it('reaches an upstream signed by a private CA, one handshake per pooled connection whatever Host clients send', async () => {
    const upstream = await httpsUpstream(pair(server));
    const proxy = await proxyTo(upstream, { caFile: files['ca.pem'] });
    for (const host of ['portal.example', 'other.example', '127.0.0.1']) {
      expect((await get(proxy.port, `/docs/${host}`, host)).status).toBe(200);
    }
    expect(await statusOf(proxy, '/docs/last?x=1')).toBe(200);
    expect(upstream.requests.map((r) => [r.url, r.headers.host])).toEqual([
      ['/docs/portal.example', 'portal.example'],
      ['/docs/other.example', 'other.example'],
      ['/docs/127.0.0.1', '127.0.0.1'],
      ['/docs/last?x=1', 'portal.example'],
    ]);
    expect(upstream.secureConnections()).toBe(1);
  });

  it('answers 502 upstream_tls_failed to a certificate of an unknown CA, logs its code and counts it', async () => {
    const upstream = await httpsUpstream(pair(foreign));
    const metrics = new Metrics({ defaultMetrics: false });
    const proxy = await proxyTo(upstream, { caFile: files['ca.pem'] }, { metrics });
    await expectTlsFailure(proxy);
    await expectTlsFailure(proxy);
    expect(upstream.requests).toEqual([]);
    // Logged once for the two failures, with the code and never key material.
    expect(loggedTlsCodes(proxy)).toEqual(['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
    expect(proxy.logLines.join('\n')).not.toContain('PRIVATE KEY');
    const exposition = await get(Number(new URL(proxy.proxy.adminUrl).port), '/metrics', '127.0.0.1');
    expect(exposition.body).toContain('portcullis_request_errors_total{reason="upstream_tls_failed"} 2');
  });

  it('without caFile trusts only the public CAs, so a private CA is refused too', async () => {
    const upstream = await httpsUpstream(pair(server));
    await expectTlsFailure(await proxyTo(upstream, undefined));
    expect(upstream.secureConnections()).toBe(0);
  });

  it('answers 502 to an expired certificate, and a renewed one is used at once: the failure did not spoil the pool', async () => {
    const upstream = await httpsUpstream(pair(expired));
    const proxy = await proxyTo(upstream, { caFile: files['ca.pem'] });
    await expectTlsFailure(proxy);
    expect(loggedTlsCodes(proxy)).toEqual(['CERT_HAS_EXPIRED']);
    upstream.setTls(pair(server));
    expect(await statusOf(proxy, '/docs/renewed')).toBe(200);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/docs/renewed']);
  });

  it('refuses a certificate for another host name, and serverName names the host it is for', async () => {
    const upstream = await httpsUpstream(pair(portal));
    const mismatched = await proxyTo(upstream, { caFile: files['ca.pem'] });
    await expectTlsFailure(mismatched);
    expect(loggedTlsCodes(mismatched)).toEqual(['ERR_TLS_CERT_ALTNAME_INVALID']);
    const named = await proxyTo(upstream, { caFile: files['ca.pem'], serverName: 'portal.internal' });
    expect(await statusOf(named, '/docs/named')).toBe(200);
  });

  it('gives an upstream that requires mutual TLS the client certificate, and is refused without it', async () => {
    const upstream = await httpsUpstream({ ...pair(server), ca: caPem, requestCert: true });
    await expectTlsFailure(await proxyTo(upstream, { caFile: files['ca.pem'] }));
    expect(upstream.requests).toEqual([]);
    const mutual = await proxyTo(upstream, { caFile: files['ca.pem'], ...clientCertificate() });
    expect(await statusOf(mutual, '/docs/mutual')).toBe(200);
    expect(upstream.requests.map((r) => r.clientCertificate)).toEqual(['CN=portcullis-proxy, O=Operations']);
  });

  it('refuses an upstream that offers no TLS version as recent as minVersion', async () => {
    const upstream = await httpsUpstream({ ...pair(server), maxVersion: 'TLSv1.2' });
    await expectTlsFailure(await proxyTo(upstream, { caFile: files['ca.pem'], minVersion: 'TLSv1.3' }));
    expect(await statusOf(await proxyTo(upstream, { caFile: files['ca.pem'] }), '/docs/v12')).toBe(200);
  });

  it('tunnels a WebSocket upgrade to the TLS upstream, with the client certificate', async () => {
    const upstream = await httpsUpstream({ ...pair(server), ca: caPem, requestCert: true });
    const proxy = await proxyTo(upstream, { caFile: files['ca.pem'], ...clientCertificate() });
    const c = await openConnection(proxy.port);
    c.socket.write('GET /docs/socket HTTP/1.1\r\nHost: portal.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    await expect.poll(() => c.received()).toContain('HTTP/1.1 101 Switching Protocols');
    c.socket.write('ping-over-tls');
    await expect.poll(() => c.received()).toContain('ping-over-tls');
    c.socket.destroy();
    expect(upstream.upgrades.map((u) => [u.url, u.clientCertificate])).toEqual([['/docs/socket', 'CN=portcullis-proxy, O=Operations']]);
  });

  it('answers a WebSocket upgrade 502 when the TLS upstream refuses the handshake', async () => {
    const upstream = await httpsUpstream(pair(foreign));
    const proxy = await proxyTo(upstream, { caFile: files['ca.pem'] });
    const answer = await rawRequest(proxy.port, 'GET /docs/socket HTTP/1.1\r\nHost: portal.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    expect(answer.status).toBe(502);
    expect(loggedTlsCodes(proxy)).toEqual(['UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  });

  it('with rejectUnauthorized false connects to any certificate and warns loudly at start', async () => {
    const upstream = await httpsUpstream(pair(foreign));
    const proxy = await proxyTo(upstream, { rejectUnauthorized: false });
    expect(await statusOf(proxy, '/docs/unverified')).toBe(200);
    const warning = proxy.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l['msg']).startsWith('UPSTREAM CERTIFICATE VERIFICATION IS OFF'));
    expect(warning).toMatchObject({ level: 'warn', upstream: upstream.url });
  });
});

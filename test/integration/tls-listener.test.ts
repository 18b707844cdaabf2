// The public and admin listeners over TLS: HTTPS with the configured certificate (refused by a client that does
// not trust its CA), the OAuth and PCR-360 flows of the seeds unchanged over it, X-Forwarded-Proto https upstream
// and https in the metadata, HSTS on the proxy's own answers only, WebSocket upgrades, a plain-HTTP request on the
// TLS port answered 400 at once, silent and half-started connections cut, client certificates when required.

import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { SECRETS } from '../fixtures/secrets.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { bearerGet, login, refreshGrant } from '../helpers/oauth.js';
import { pcrCall, pcrLogin, pcrLoginRequest, pcrLogout } from '../helpers/pcr.js';
import { withPcr } from '../helpers/fixtures.js';
import { startTestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openConnection, within } from '../helpers/sockets.js';
import { createCertificateAuthority, issueLocalhost, writePemFiles } from '../helpers/tls-certs.js';
import { httpsGet, oneConnectionAgent, tlsFiles, trustCaInSuite, withListenerTls, type TlsFiles } from '../helpers/tls-proxy.js';

let files: TlsFiles;
const filesReady = async () => (files ??= await tlsFiles());

describe('a proxy whose listeners speak TLS', () => {
  const t = testProxyForSuite(async () => {
    const f = await filesReady();
    return withPcr(withListenerTls(f, { hsts: { maxAge: '1d', includeSubDomains: true } }, { admin: true }));
  });
  trustCaInSuite(() => files.ca.certPem);

  it('serves https with the configured certificate, which a client without the CA refuses', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem });
    expect(answer.status).toBe(200);
    await expect(httpsGet(`${t.url}/healthz`)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('runs the password grant, the refresh grant and a bearer call, with X-Forwarded-Proto https upstream', async () => {
    const granted = await login(t.url);
    expect(granted.status).toBe(200);
    const refreshed = await refreshGrant(t.url, granted.body['refresh_token'] as string);
    expect(refreshed.status).toBe(200);
    const call = await bearerGet(t.url, refreshed.body['access_token'] as string);
    expect(call.status).toBe(200);
    const seen = t.upstream.requests.at(-1)!;
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['authorization']).toBeUndefined();
  });

  it('runs the PCR-360 key login, a call with the session token and the logout', async () => {
    const login = await pcrLoginRequest(t.url);
    expect(login.status).toBe(200);
    expect(login.headers.get('strict-transport-security')).not.toBeNull();
    const token = await pcrLogin(t.url);
    expect((await pcrCall(t.url, SECRETS.rwKey, token)).status).toBe(200);
    expect(t.upstream.requests.at(-1)!.headers['x-forwarded-proto']).toBe('https');
    expect((await pcrLogout(t.url, SECRETS.rwKey, { 'PCR-AUTH-TOKEN': token })).status).toBe(200);
    expect((await pcrCall(t.url, SECRETS.rwKey, token)).status).not.toBe(200);
  });

  it('says https in the metadata document', async () => {
    const metadata = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
    expect(metadata['token_endpoint']).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/oauth\/token$/);
  });

  it('sends HSTS on its own endpoints and leaves forwarded answers as the upstream sent them', async () => {
    const granted = await login(t.url);
    expect(granted.headers.get('strict-transport-security')).toBe('max-age=86400; includeSubDomains');
    expect((await fetch(`${t.url}/healthz`)).headers.get('strict-transport-security')).toBe('max-age=86400; includeSubDomains');
    expect((await fetch(`${t.url}/.well-known/jwks.json`)).headers.get('strict-transport-security')).not.toBeNull();
    const forwarded = await bearerGet(t.url, granted.body['access_token'] as string);
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers.get('strict-transport-security')).toBeNull();
  });

  it('answers plain HTTP on the TLS port with a 400 saying to use https, and closes', async () => {
    const started = Date.now();
    const answer = await rawRequest(t.port, 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\na=b&c', { timeoutMs: 2000 });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/https/);
    expect(JSON.parse(answer.body)).toMatchObject({ reason: 'https_required' });
    expect(answer.headers['strict-transport-security']).toBeUndefined();
    expect(answer.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('upgrades a WebSocket over TLS and relays its bytes', async () => {
    const token = (await login(t.url)).body['access_token'] as string;
    const socket = connectTls({ port: t.port, host: '127.0.0.1', ca: files.ca.certPem, servername: 'localhost' });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.write(
      `GET /api/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    await waitFor(() => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 101/);
    socket.write('ping-bytes');
    await waitFor(() => received.endsWith('ping-bytes'));
    expect(t.upstream.upgrades.at(-1)!.headers['x-forwarded-proto']).toBe('https');
    socket.destroy();
  });

  it('answers a malformed request and an ignored upgrade over TLS as over HTTP', async () => {
    const tooLarge = await tlsExchange(t.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(tooLarge).toMatch(/^HTTP\/1\.1 431/);
    const h2c = await tlsExchange(t.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n');
    expect(h2c).toMatch(/^HTTP\/1\.1 200/);
    expect(t.upstream.requests.at(-1)!.headers['upgrade']).toBeUndefined();
  });

  it('serves the admin API over TLS too, with HSTS', async () => {
    expect(t.proxy.adminUrl).toMatch(/^https:/);
    const health = await fetch(`${t.proxy.adminUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('strict-transport-security')).toBe('max-age=86400; includeSubDomains');
    const plain = await rawRequest(Number(new URL(t.proxy.adminUrl).port), 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 2000 });
    expect(plain.status).toBe(400);
  });
});

describe('a TLS listener that cannot start', () => {
  it('refuses to start with a key of another certificate, naming the files and no key material', async () => {
    const f = await filesReady();
    const other = await issueLocalhost(f.ca);
    const { paths } = writePemFiles({ 'other.key': other.keyPem });
    const failed = startTestProxy({ edit: withListenerTls({ ...f, keyFile: paths['other.key']! }) });
    await expect(failed).rejects.toThrow(/^listen\.tls: the key in .*other\.key does not belong to the certificate in .*server\.crt$/);
  });
});

describe('a TLS listener and slow or silent clients', () => {
  const t = testProxyForSuite(async () => {
    const f = await filesReady();
    return {
      edit(config: Record<string, unknown>) {
        withListenerTls(f)(config);
        (config['listen'] as Record<string, unknown>)['headersTimeout'] = '300ms';
      },
    };
  });

  it('cuts a connection that never sends a byte, within the headers timeout', async () => {
    const silent = await openConnection(t.port);
    expect(await within(silent.closed, 2000)).toBeLessThan(1500);
  });

  it('cuts a connection that starts a handshake and never finishes it', async () => {
    const stalled = await openConnection(t.port);
    stalled.socket.write(Buffer.from([0x16, 0x03, 0x01]));
    expect(await within(stalled.closed, 2000)).toBeLessThan(1500);
  });

  it('cuts a plain-HTTP client that never finishes its request, after answering it', async () => {
    const slow = await openConnection(t.port);
    slow.socket.write('GET / HTTP/1.1\r\nHost');
    expect(await within(slow.closed, 2000)).toBeLessThan(1500);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 400/);
  });

  it('closes at once on shutdown with an idle keep-alive TLS connection and a silent one open', async () => {
    const silent = await openConnection(t.port);
    const agent = oneConnectionAgent(files.ca.certPem);
    expect((await httpsGet(`${t.url}/healthz`, { agent })).status).toBe(200);
    const started = Date.now();
    await t.proxy.close(5000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await within(silent.closed, 1000)).not.toBe('timeout');
    agent.destroy();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(t.port, '127.0.0.1');
      socket.once('error', () => resolve(true));
      socket.once('connect', () => resolve(false));
    });
    expect(refused).toBe(true);
  });
});

describe('a TLS listener that requires client certificates', () => {
  let client: { certPem: string; keyPem: string };
  let stranger: { certPem: string; keyPem: string };
  const t = testProxyForSuite(async () => {
    const f = await filesReady();
    client = await f.ca.issue({ commonName: 'ops-script', usage: 'client' });
    stranger = await (await createCertificateAuthority('Elsewhere CA')).issue({ commonName: 'ops-script', usage: 'client' });
    return { edit: withListenerTls(f, { caFile: f.caFile, clientAuth: 'require' }) };
  });

  it('refuses a client without a certificate', async () => {
    await expect(httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem })).rejects.toThrow();
  });

  it('refuses a certificate from another CA', async () => {
    await expect(httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem, cert: stranger.certPem, key: stranger.keyPem })).rejects.toThrow();
  });

  it('accepts a certificate from the configured CA', async () => {
    const answer = await httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem, cert: client.certPem, key: client.keyPem });
    expect(answer.status).toBe(200);
  });
});

/** Sends `request` over a fresh TLS connection and returns what arrives until the first answer's head and a bit. */
async function tlsExchange(port: number, request: string): Promise<string> {
  const socket = connectTls({ port, host: '127.0.0.1', ca: files.ca.certPem, servername: 'localhost' });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.write(request);
  await waitFor(() => received.includes('\r\n\r\n'));
  socket.destroy();
  return received;
}

async function waitFor(condition: () => boolean, deadlineMs = 2000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

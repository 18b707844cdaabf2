// Certificate rotation on a running TLS listener: files replaced the way cert-manager and certbot do it (a new
// file renamed over the old) reach new connections while a keep-alive connection keeps working on the old pair; a
// pair that cannot be served is kept out with one error line and a metric; SIGHUP and config reloads re-read the
// files; switching TLS off is a restart-only change.

import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchConfig } from '../../src/cli/reload.js';
import { Metrics } from '../../src/observability/metrics.js';
import { baseConfig, loadTestConfig, SIGNING_KEY_PEM } from '../helpers/fixtures.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { issueLocalhost, writePemFiles } from '../helpers/tls-certs.js';
import { eventually, httpsGet, oneConnectionAgent, tlsFiles, withListenerTls, type TlsFiles } from '../helpers/tls-proxy.js';

let files: TlsFiles;
const metrics = new Metrics({ defaultMetrics: false });
const t = testProxyForSuite(async () => {
  files = await tlsFiles();
  return { edit: withListenerTls(files), hooks: metrics.hooks() };
});

const fingerprintOf = (certPem: string) => new X509Certificate(certPem).fingerprint256;
/** Writes beside the file and renames over it: one atomic step, as certificate managers replace files. */
function replaceAtomically(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}
/** The fingerprint a new connection sees. */
const servedFingerprint = async () => (await httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem })).fingerprint;
const scrape = async () => (await fetch(`${t.proxy.adminUrl}/metrics`)).text();
const rotationLines = (text: string) => t.logLines.filter((line) => line.includes(text));

describe('certificate rotation by replacing the files', () => {
  it('serves the new pair to new connections while a keep-alive connection keeps working', async () => {
    const keptAlive = oneConnectionAgent(files.ca.certPem);
    const before = await httpsGet(`${t.url}/healthz`, { agent: keptAlive });
    expect(before.fingerprint).toBe(fingerprintOf(files.server.certPem));
    expect(await scrape()).toMatch(/portcullis_tls_certificate_reloads_total\{listener="public",outcome="applied"\} 0/);

    const next = await issueLocalhost(files.ca);
    replaceAtomically(files.keyFile, next.keyPem);
    replaceAtomically(files.certFile, next.certPem);
    await eventually(async () => (await servedFingerprint()) === fingerprintOf(next.certPem));

    const again = await httpsGet(`${t.url}/healthz`, { agent: keptAlive });
    expect(again.status).toBe(200);
    expect(again.fingerprint, 'the kept-alive connection still runs on the pair it started with').toBe(before.fingerprint);
    keptAlive.destroy();
    const exposition = await scrape();
    expect(exposition).toMatch(/portcullis_tls_certificate_reloads_total\{listener="public",outcome="applied"\} 1/);
    const expiry = Math.floor(Date.parse(new X509Certificate(next.certPem).validTo) / 1000);
    expect(exposition).toContain(`portcullis_tls_certificate_expiry_seconds{listener="public"} ${expiry}`);
    expect(rotationLines('TLS certificate rotated')).toHaveLength(1);
    files.server = next;
  });

  it('keeps the served pair when the new key does not belong to the certificate, with one error line', async () => {
    const other = await issueLocalhost(files.ca);
    replaceAtomically(files.keyFile, other.keyPem);
    await eventually(() => rotationLines('not rotated').length === 1);
    const line = JSON.parse(rotationLines('not rotated')[0]!) as Record<string, unknown>;
    expect(line['problem']).toMatch(/does not belong to the certificate/);
    expect(rotationLines('PRIVATE KEY')).toEqual([]);
    expect(await servedFingerprint()).toBe(fingerprintOf(files.server.certPem));
    expect(await scrape()).toMatch(/portcullis_tls_certificate_reloads_total\{listener="public",outcome="failed"\} 1/);
  });

  it('keeps the served pair when the certificate file holds no PEM', async () => {
    replaceAtomically(files.certFile, 'not a certificate\n');
    await eventually(() => rotationLines('not rotated').length === 2);
    expect(JSON.parse(rotationLines('not rotated')[1]!)['problem']).toMatch(/no PEM block/);
    expect(await servedFingerprint()).toBe(fingerprintOf(files.server.certPem));
    // A good pair again: applied.
    const good = await issueLocalhost(files.ca);
    replaceAtomically(files.keyFile, good.keyPem);
    replaceAtomically(files.certFile, good.certPem);
    await eventually(() => rotationLines('TLS certificate rotated').length === 2);
    expect(await servedFingerprint()).toBe(fingerprintOf(good.certPem));
    files.server = good;
  });
});

describe('certificate rotation by reloading the config', () => {
  it('applies files named by a reloaded config at once', async () => {
    const next = await issueLocalhost(files.ca);
    const { paths } = writePemFiles({ 'other.crt': next.certPem, 'other.key': next.keyPem });
    const raw = baseConfig(t.upstream.url);
    withListenerTls({ ...files, certFile: paths['other.crt']!, keyFile: paths['other.key']! }, { minVersion: 'TLSv1.3' })(raw);
    const result = await t.proxy.reload(await loadTestConfig(raw));
    expect(result.restartNeeded).toEqual([]);
    expect(await servedFingerprint()).toBe(fingerprintOf(next.certPem));
    // The other settings of the section apply live too.
    await expect(httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem, maxVersion: 'TLSv1.2' })).rejects.toThrow();
  });

  it('re-reads the files on SIGHUP', async () => {
    const next = await issueLocalhost(files.ca);
    const { dir, paths } = writePemFiles({ 'hup.crt': next.certPem, 'hup.key': next.keyPem, 'signing.pem': SIGNING_KEY_PEM });
    const raw = baseConfig(t.upstream.url);
    withListenerTls({ ...files, certFile: paths['hup.crt']!, keyFile: paths['hup.key']! })(raw);
    (raw['tokens'] as { signingKeys: { privateKey: unknown }[] }).signingKeys[0]!.privateKey = { file: paths['signing.pem'] };
    const file = join(dir, 'portcullis.yaml');
    // JSON is YAML; the signing key comes from a file, so the reload needs no environment.
    writeFileSync(file, JSON.stringify(raw));
    const stop = watchConfig(t.proxy, file, {});
    try {
      process.emit('SIGHUP', 'SIGHUP');
      await eventually(async () => (await servedFingerprint()) === fingerprintOf(next.certPem));
    } finally {
      stop();
    }
  });

  it('keeps TLS on when a reload switches it off, and says a restart is needed', async () => {
    const result = await t.proxy.reload(await loadTestConfig(baseConfig(t.upstream.url)));
    expect(result.restartNeeded).toContain('listen.tls (on/off)');
    expect((await httpsGet(`${t.url}/healthz`, { ca: files.ca.certPem })).status).toBe(200);
  });
});

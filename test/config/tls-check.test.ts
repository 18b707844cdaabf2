// check-config's TLS checks on certificates the tests make: a good pair, expired, expiring, not yet valid, a key of
// another certificate, an encrypted key with and without its passphrase, a broken chain and chains to caFile.

import { createPrivateKey } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListenerTlsConfig, UpstreamTlsConfig } from '../../src/config/schema/tls.js';
import { checkListenerTls, checkTlsSections, checkUpstreamTls, type TlsFinding } from '../../src/config/tls-check.js';
import { createCertificateAuthority, issueLocalhost, writePemFiles, type CertificateAuthority, type PemPair } from '../helpers/tls-certs.js';

const DAY_MS = 86_400_000;
const dirs: string[] = [];

function files(entries: Record<string, string>): Record<string, string> {
  const written = writePemFiles(entries);
  dirs.push(written.dir);
  return written.paths;
}

function listener(paths: Record<string, string>, extra: Partial<ListenerTlsConfig> = {}): ListenerTlsConfig {
  return { certFile: paths['cert.pem']!, keyFile: paths['key.pem']!, minVersion: 'TLSv1.2', clientAuth: 'none', hsts: false, ...extra };
}

const check = (tls: ListenerTlsConfig, host = '127.0.0.1', env: NodeJS.ProcessEnv = {}): TlsFinding[] =>
  checkListenerTls('listen.tls', tls, host, 'listen.host', env, Date.now());

const only = (findings: TlsFinding[], severity: TlsFinding['severity']) => findings.filter((f) => f.severity === severity);

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let good: PemPair;

beforeAll(async () => {
  ca = await createCertificateAuthority('Check CA');
  otherCa = await createCertificateAuthority('Other CA');
  good = await issueLocalhost(ca);
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('listener certificates', () => {
  it('a valid pair for the listener host has no findings', () => {
    expect(check(listener(files({ 'cert.pem': good.certPem, 'key.pem': good.keyPem })))).toEqual([]);
  });

  it('an expired certificate is an error naming the date', async () => {
    const expired = await issueLocalhost(ca, { notBefore: new Date(Date.now() - 30 * DAY_MS), notAfter: new Date(Date.now() - 2 * DAY_MS) });
    const findings = check(listener(files({ 'cert.pem': expired.certPem, 'key.pem': expired.keyPem })));
    expect(findings).toEqual([{ severity: 'error', path: 'listen.tls.certFile', message: expect.stringMatching(/^the certificate "CN=localhost" expired on \d{4}-\d\d-\d\d$/) }]);
  });

  it('a certificate expiring in 5 days is a warning naming the date, not an error', async () => {
    const notAfter = new Date(Date.now() + 5 * DAY_MS);
    const soon = await issueLocalhost(ca, { notAfter });
    const findings = check(listener(files({ 'cert.pem': soon.certPem, 'key.pem': soon.keyPem })));
    expect(findings).toEqual([
      { severity: 'warning', path: 'listen.tls.certFile', message: `the certificate "CN=localhost" expires on ${notAfter.toISOString().slice(0, 10)}, in 5 days` },
    ]);
  });

  it('a certificate not yet valid is an error', async () => {
    const future = await issueLocalhost(ca, { notBefore: new Date(Date.now() + 2 * DAY_MS) });
    const findings = check(listener(files({ 'cert.pem': future.certPem, 'key.pem': future.keyPem })));
    expect(only(findings, 'error').map((f) => f.message)).toEqual([expect.stringMatching(/^the certificate "CN=localhost" is not valid before \d{4}-\d\d-\d\d$/)]);
  });

  it('a key of another certificate is an error on keyFile', async () => {
    const other = await issueLocalhost(ca);
    const paths = files({ 'cert.pem': good.certPem, 'key.pem': other.keyPem });
    expect(check(listener(paths))).toEqual([
      { severity: 'error', path: 'listen.tls.keyFile', message: `the key in ${paths['key.pem']} does not belong to the certificate "CN=localhost" in certFile` },
    ]);
  });

  it('an encrypted key opens with its passphrase, and is an error without it or with a wrong one', () => {
    const encrypted = createPrivateKey(good.keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'right horse' }) as string;
    const paths = files({ 'cert.pem': good.certPem, 'key.pem': encrypted });
    expect(check(listener(paths, { passphrase: { env: 'KEY_PASS' } }), '127.0.0.1', { KEY_PASS: 'right horse' })).toEqual([]);
    expect(check(listener(paths))).toEqual([
      { severity: 'error', path: 'listen.tls.keyFile', message: `the key is encrypted and no passphrase is configured (passphrase: { env } or { file }) (${paths['key.pem']})` },
    ]);
    const wrong = check(listener(paths, { passphrase: { env: 'KEY_PASS' } }), '127.0.0.1', { KEY_PASS: 'wrong horse' });
    expect(wrong).toEqual([{ severity: 'error', path: 'listen.tls.keyFile', message: `the key does not open with the configured passphrase (${paths['key.pem']})` }]);
    expect(JSON.stringify(wrong)).not.toContain('horse');
    const unset = check(listener(paths, { passphrase: { env: 'KEY_PASS' } }));
    expect(unset).toEqual([{ severity: 'error', path: 'listen.tls.passphrase', message: "environment variable KEY_PASS (the key's passphrase) is not set" }]);
  });

  it('a chain whose second certificate did not issue the first is an error', () => {
    const findings = check(listener(files({ 'cert.pem': good.certPem + otherCa.certPem, 'key.pem': good.keyPem })));
    expect(findings).toEqual([
      {
        severity: 'error',
        path: 'listen.tls.certFile',
        message: 'the chain is broken: certificate 1 "CN=localhost" is not issued by certificate 2 "CN=Other CA"; the file holds the server certificate first, then each issuer in order',
      },
    ]);
  });

  it('a chain ending at a caFile certificate, or at its own root, has no findings', () => {
    const withCa = files({ 'cert.pem': good.certPem, 'key.pem': good.keyPem, 'ca.pem': otherCa.certPem + ca.certPem });
    expect(check(listener(withCa, { caFile: withCa['ca.pem']!, clientAuth: 'require' }))).toEqual([]);
    const withRoot = files({ 'cert.pem': good.certPem + ca.certPem, 'key.pem': good.keyPem, 'ca.pem': otherCa.certPem });
    expect(check(listener(withRoot, { caFile: withRoot['ca.pem']!, clientAuth: 'optional' }))).toEqual([]);
  });

  it('a chain reaching neither caFile nor a public root is a warning only: caFile is for client certificates', () => {
    const paths = files({ 'cert.pem': good.certPem, 'key.pem': good.keyPem, 'ca.pem': otherCa.certPem });
    expect(check(listener(paths, { caFile: paths['ca.pem']!, clientAuth: 'require' }))).toEqual([
      { severity: 'warning', path: 'listen.tls.certFile', message: expect.stringContaining('the chain ends at "CN=localhost", whose issuer "CN=Check CA" is neither in caFile nor a public root CA') },
    ]);
  });

  it('a certificate naming another host is a warning; on a wildcard address only one naming no host at all is', async () => {
    const paths = files({ 'cert.pem': good.certPem, 'key.pem': good.keyPem });
    expect(check(listener(paths), 'portal.example.com')).toEqual([
      { severity: 'warning', path: 'listen.tls.certFile', message: expect.stringContaining('the certificate names DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, not portal.example.com (listen.host)') },
    ]);
    expect(check(listener(paths), '0.0.0.0')).toEqual([]);
    const nameless = await ca.issue({ commonName: 'nameless' });
    const namelessPaths = files({ 'cert.pem': nameless.certPem, 'key.pem': nameless.keyPem });
    expect(only(check(listener(namelessPaths), '::'), 'warning').map((f) => f.message)).toEqual([expect.stringContaining('names no host')]);
  });

  it('a certificate not for server authentication, and a caFile no client certificate is checked against, are warnings', async () => {
    const clientOnly = await issueLocalhost(ca, { usage: 'client' });
    const paths = files({ 'cert.pem': clientOnly.certPem, 'key.pem': clientOnly.keyPem, 'ca.pem': ca.certPem });
    expect(check(listener(paths, { caFile: paths['ca.pem']! }))).toEqual([
      { severity: 'warning', path: 'listen.tls.certFile', message: 'the certificate "CN=localhost" is not for server authentication (its extended key usage leaves it out): TLS peers will refuse it' },
      { severity: 'warning', path: 'listen.tls.caFile', message: 'is not used with clientAuth "none": it names the CAs of client certificates, and none are asked for' },
    ]);
  });

  it('unreadable and non-PEM files are errors, every one at once', () => {
    const paths = files({ 'cert.pem': 'not a certificate\n' });
    const findings = check(listener({ 'cert.pem': paths['cert.pem']!, 'key.pem': `${paths['cert.pem']}.missing` }, { caFile: `${paths['cert.pem']}.absent`, clientAuth: 'require' }));
    expect(findings.map((f) => [f.severity, f.path])).toEqual([
      ['error', 'listen.tls.certFile'],
      ['error', 'listen.tls.keyFile'],
      ['error', 'listen.tls.caFile'],
    ]);
    expect(findings[0]!.message).toContain('holds no PEM block');
    expect(findings[1]!.message).toContain('(ENOENT)');
  });
});

describe('upstream certificates', () => {
  function upstream(extra: Partial<UpstreamTlsConfig>): UpstreamTlsConfig {
    return { minVersion: 'TLSv1.2', rejectUnauthorized: true, ...extra };
  }

  it('a client certificate is checked for its key and validity, but never against caFile (that verifies the upstream)', async () => {
    const client = await ca.issue({ commonName: 'portcullis', usage: 'client' });
    const paths = files({ 'client.pem': client.certPem, 'client-key.pem': client.keyPem, 'upstream-ca.pem': otherCa.certPem });
    expect(checkUpstreamTls('upstream.tls', upstream({ caFile: paths['upstream-ca.pem']!, certFile: paths['client.pem']!, keyFile: paths['client-key.pem']! }), {}, Date.now())).toEqual([]);
    const wrongKey = checkUpstreamTls('upstream.tls', upstream({ certFile: paths['client.pem']!, keyFile: files({ 'k.pem': good.keyPem })['k.pem']! }), {}, Date.now());
    expect(wrongKey.map((f) => [f.severity, f.path])).toEqual([['error', 'upstream.tls.keyFile']]);
    const serverOnly = files({ 'c.pem': good.certPem, 'k.pem': good.keyPem });
    const notForClients = checkUpstreamTls('upstream.tls', upstream({ certFile: serverOnly['c.pem']!, keyFile: serverOnly['k.pem']! }), {}, Date.now());
    expect(notForClients.map((f) => [f.severity, f.path, f.message.includes('not for client authentication')])).toEqual([['warning', 'upstream.tls.certFile', true]]);
  });

  it('a caFile whose every certificate has expired is an error; one expired among valid ones a warning', async () => {
    const oldCa = await createCertificateAuthority('Old CA', { notAfter: new Date(Date.now() - DAY_MS / 2) });
    const expiredOnly = files({ 'ca.pem': oldCa.certPem });
    expect(checkUpstreamTls('upstream.tls', upstream({ caFile: expiredOnly['ca.pem']! }), {}, Date.now()).map((f) => [f.severity, f.path])).toEqual([['error', 'upstream.tls.caFile']]);
    const mixed = files({ 'ca.pem': oldCa.certPem + ca.certPem });
    const findings = checkUpstreamTls('upstream.tls', upstream({ caFile: mixed['ca.pem']! }), {}, Date.now());
    expect(findings).toEqual([{ severity: 'warning', path: 'upstream.tls.caFile', message: expect.stringMatching(/^the CA certificate "CN=Old CA" expired on /) }]);
  });
});

it('checkTlsSections reports every section, in order, with the admin host checked against admin.tls', () => {
  const paths = files({ 'cert.pem': good.certPem, 'key.pem': good.keyPem });
  const tls = listener(paths);
  const findings = checkTlsSections({ listen: { host: 'localhost', tls }, admin: { host: 'admin.internal', tls }, upstream: { tls: { minVersion: 'TLSv1.2', rejectUnauthorized: true, caFile: paths['key.pem']! } } }, {});
  expect(findings.map((f) => [f.severity, f.path])).toEqual([
    ['warning', 'admin.tls.certFile'],
    ['error', 'upstream.tls.caFile'],
  ]);
  expect(findings[0]!.message).toContain('(admin.host)');
});

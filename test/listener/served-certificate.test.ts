// The checks a certificate passes before a listener serves it, at start and at every rotation: readable PEM, a key
// that belongs to the certificate, the passphrase that opens an encrypted key; each failure said in one sentence
// naming the file, never the key. And the pure pieces around it: client-auth modes and the HSTS header value.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { listenerTlsSchema, type ListenerTlsConfig } from '../../src/config/schema/tls.js';
import { CertificateError, clientAuthOptions, loadServedCertificate } from '../../src/listener/tls/served-certificate.js';
import { hstsHeaderValue } from '../../src/respond/hsts.js';
import { createCertificateAuthority, issueLocalhost, writePemFiles } from '../helpers/tls-certs.js';

const ca = await createCertificateAuthority();
const pair = await issueLocalhost(ca);
const other = await issueLocalhost(ca);
const encryptedKey = createPrivateKey(pair.keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'open sesame' }) as string;
const { paths } = writePemFiles({
  'cert.pem': pair.certPem,
  'key.pem': pair.keyPem,
  'other.key': other.keyPem,
  'encrypted.key': encryptedKey,
  'garbage.pem': 'hello\n',
  'pass.txt': 'open sesame\n',
});

const tls = (settings: Record<string, unknown>): ListenerTlsConfig => listenerTlsSchema.parse({ certFile: paths['cert.pem'], keyFile: paths['key.pem'], ...settings });
const problem = (settings: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string => {
  try {
    loadServedCertificate(tls(settings), env);
  } catch (error) {
    expect(error).toBeInstanceOf(CertificateError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/PRIVATE KEY|open sesame/);
    return message;
  }
  throw new Error('the certificate was accepted');
};

describe('loading a listener certificate', () => {
  it('accepts a matching pair and reports its fingerprint and expiry', () => {
    const served = loadServedCertificate(tls({}), {});
    const leaf = new X509Certificate(pair.certPem);
    expect(served.fingerprint).toBe(leaf.fingerprint256);
    expect(served.notAfter).toBe(Date.parse(leaf.validTo));
    expect(served.options.minVersion).toBe('TLSv1.2');
  });

  it('opens an encrypted key with the passphrase from the environment or a file', () => {
    expect(() => loadServedCertificate(tls({ keyFile: paths['encrypted.key'], passphrase: { env: 'KEY_PASS' } }), { KEY_PASS: 'open sesame' })).not.toThrow();
    expect(() => loadServedCertificate(tls({ keyFile: paths['encrypted.key'], passphrase: { file: paths['pass.txt'] } }), {})).not.toThrow();
  });

  it('refuses a key of another certificate', () => {
    expect(problem({ keyFile: paths['other.key'] })).toMatch(/other\.key does not belong to the certificate in .*cert\.pem/);
  });

  it('refuses a wrong or missing passphrase', () => {
    expect(problem({ keyFile: paths['encrypted.key'], passphrase: { env: 'KEY_PASS' } }, { KEY_PASS: 'wrong' })).toMatch(/cannot be decrypted with the configured passphrase/);
    expect(problem({ keyFile: paths['encrypted.key'], passphrase: { env: 'KEY_PASS' } })).toMatch(/KEY_PASS .* is not set/);
    expect(problem({ keyFile: paths['encrypted.key'] })).toMatch(/encrypted and no passphrase is configured/);
  });

  it('refuses files that are missing or hold no PEM', () => {
    expect(problem({ certFile: `${paths['cert.pem']}.missing` })).toMatch(/cannot read the certificate file .*\(ENOENT\)/);
    expect(problem({ keyFile: paths['garbage.pem'] })).toMatch(/garbage\.pem holds no PEM block/);
    expect(problem({ certFile: paths['key.pem'] })).toMatch(/holds no readable certificate/);
  });

  it('refuses a cipher list OpenSSL does not know', () => {
    expect(problem({ ciphers: 'NOT-A-CIPHER' })).toMatch(/ciphers/);
  });
});

describe('client certificates and HSTS', () => {
  it('asks for a certificate with optional and require, and refuses a connection without one only with require', () => {
    expect(clientAuthOptions('none')).toEqual({ requestCert: false, rejectUnauthorized: false });
    expect(clientAuthOptions('optional')).toEqual({ requestCert: true, rejectUnauthorized: false });
    expect(clientAuthOptions('require')).toEqual({ requestCert: true, rejectUnauthorized: true });
  });

  it('builds the Strict-Transport-Security value, none without TLS or with hsts: false', () => {
    expect(hstsHeaderValue(undefined)).toBeNull();
    expect(hstsHeaderValue(tls({ hsts: false }))).toBeNull();
    expect(hstsHeaderValue(tls({}))).toBe('max-age=31536000');
    expect(hstsHeaderValue(tls({ hsts: { maxAge: '2h', includeSubDomains: true, preload: true } }))).toBe('max-age=7200; includeSubDomains; preload');
  });
});

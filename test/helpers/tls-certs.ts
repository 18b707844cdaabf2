// Certificates made by the tests themselves: a private CA and the server and client certificates it signs, an
// expired one among them when asked. ECDSA P-256 keys, so making a few dozen costs milliseconds.

import { webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The library's dependency injection needs the metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  /** Subject alternative names: DNS names. */
  dnsNames?: string[];
  /** Subject alternative names: IP addresses. */
  ipAddresses?: string[];
  /** Server (default), client or both. */
  usage?: 'server' | 'client' | 'both';
  /** Validity window; defaults to from a day ago to a year ahead. */
  notBefore?: Date;
  notAfter?: Date;
  /** Extra subject attributes, e.g. `O=Operations`. */
  subjectSuffix?: string;
}

export interface CertificateAuthority extends PemPair {
  name: string;
  issue(options: IssueOptions): Promise<PemPair>;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

let serial = Date.now();
function nextSerial(): string {
  serial += 1;
  return serial.toString(16).padStart(16, '0');
}

/** A self-signed CA able to sign certificates (and nothing else: path length 0). */
export async function createCertificateAuthority(name = 'Portcullis Test CA', options: { notAfter?: Date } = {}): Promise<CertificateAuthority> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: options.notAfter ?? new Date(now + 3650 * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const caPem: PemPair = { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
  return {
    name,
    ...caPem,
    async issue(opts: IssueOptions): Promise<PemPair> {
      const leafKeys = await keyPair();
      const usage = opts.usage ?? 'server';
      const purposes = [
        ...(usage !== 'client' ? [x509.ExtendedKeyUsage.serverAuth] : []),
        ...(usage !== 'server' ? [x509.ExtendedKeyUsage.clientAuth] : []),
      ];
      const altNames = [
        ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: nextSerial(),
        subject: `CN=${opts.commonName}${opts.subjectSuffix ? `, ${opts.subjectSuffix}` : ''}`,
        issuer: cert.subject,
        notBefore: opts.notBefore ?? new Date(Date.now() - DAY_MS),
        notAfter: opts.notAfter ?? new Date(Date.now() + 365 * DAY_MS),
        signingAlgorithm: ALGORITHM,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
          new x509.ExtendedKeyUsageExtension(purposes),
          ...(altNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(altNames)] : []),
          await x509.AuthorityKeyIdentifierExtension.create(cert),
        ],
      });
      return { certPem: leaf.toString('pem'), keyPem: await privateKeyPem(leafKeys.privateKey) };
    },
  };
}

/** A server certificate for the loopback names every test connects with. */
export function issueLocalhost(ca: CertificateAuthority, options: Partial<IssueOptions> = {}): Promise<PemPair> {
  return ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], ...options });
}

/** Writes PEM files into a fresh temporary directory; returns the directory and each file's path by name. */
export function writePemFiles(files: Record<string, string>, dir = mkdtempSync(join(tmpdir(), 'portcullis-tls-'))): { dir: string; paths: Record<string, string> } {
  const paths: Record<string, string> = {};
  for (const [name, pem] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, pem);
    paths[name] = path;
  }
  return { dir, paths };
}

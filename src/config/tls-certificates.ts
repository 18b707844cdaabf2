// What check-config needs to know about PEM certificates and keys, in words an operator can act on: the
// certificates a file holds, whether a key opens, whether one certificate issued another, how long one is valid.
// node:crypto does the cryptography; this module only asks it questions and phrases the answers.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';

const DAY_MS = 86_400_000;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
/** PKCS#8 encrypted keys and the traditional OpenSSL form with its Proc-Type header. */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/;

/** The certificates of a PEM text, in file order, or the reason the text is not a usable certificate file. */
export function parseCertificates(pem: string): X509Certificate[] | string {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  const certificates: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      return blocks.length === 1 ? 'holds a certificate block that is not a valid certificate' : `certificate ${i + 1} of ${blocks.length} is not a valid certificate`;
    }
  }
  return certificates;
}

/** The private key of a PEM text, opened with the passphrase when there is one, or why it does not open. */
export function openPrivateKey(pem: string, passphrase: string | undefined): KeyObject | string {
  const encrypted = ENCRYPTED_KEY.test(pem);
  if (encrypted && passphrase === undefined) return 'the key is encrypted and no passphrase is configured (passphrase: { env } or { file })';
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch {
    // OpenSSL's own message names decoder internals; what the operator can fix is the passphrase or the file.
    return encrypted ? 'the key does not open with the configured passphrase' : 'holds no private key that can be read';
  }
}

/** A certificate as an operator recognises it: its subject on one line. */
export function describeCertificate(cert: X509Certificate): string {
  return `"${cert.subject.split('\n').join(', ')}"`;
}

/** Whether `issuer` signed `cert`: the names chain and the signature verifies with the issuer's key. */
export function isIssuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return isIssuedBy(cert, cert);
}

/** Whether `key` is the private half of the certificate's public key. */
export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    // Node throws for a key of another type than the certificate's (an RSA key for an EC certificate).
    return false;
  }
}

export type Validity =
  | { state: 'valid' }
  | { state: 'expiring'; until: string; days: number }
  | { state: 'expired'; since: string }
  | { state: 'not-yet-valid'; from: string };

/** Where `now` falls in the certificate's validity window; "expiring" within `warnDays` of its end. */
export function validityAt(cert: X509Certificate, now: number, warnDays: number): Validity {
  const from = new Date(cert.validFrom).getTime();
  const to = new Date(cert.validTo).getTime();
  if (now < from) return { state: 'not-yet-valid', from: isoDay(from) };
  if (now > to) return { state: 'expired', since: isoDay(to) };
  const days = Math.ceil((to - now) / DAY_MS);
  return days <= warnDays ? { state: 'expiring', until: isoDay(to), days } : { state: 'valid' };
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const PURPOSE_OIDS = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;

/**
 * Whether the certificate may serve the purpose: no extended key usage means any purpose; one that lists others
 * is refused by TLS peers ("unsuitable certificate purpose").
 */
export function allowsPurpose(cert: X509Certificate, purpose: keyof typeof PURPOSE_OIDS): boolean {
  // node names the extended key usage OIDs `keyUsage`; undefined when the extension is absent.
  const purposes = cert.keyUsage as string[] | undefined;
  return purposes === undefined || purposes.includes(PURPOSE_OIDS[purpose]) || purposes.includes('2.5.29.37.0');
}

let publicRoots: X509Certificate[] | undefined;

/** Whether a public root CA of Node's bundled store issued `cert`: parsed once, and only when asked. */
export function isIssuedByPublicRoot(cert: X509Certificate): boolean {
  publicRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return publicRoots.some((root) => isIssuedBy(cert, root));
}

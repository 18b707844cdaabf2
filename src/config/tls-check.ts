// check-config's look at the TLS files of listen.tls, admin.tls and upstream.tls: each file readable and PEM, the
// key opens and belongs to the certificate, every certificate valid now (a warning within 14 days of its end), the
// chain in certFile unbroken, and what caFile can tell about it. Errors are what would make the listener or the
// upstream hop fail; warnings are what is likely a mistake but can be right (they never fail the command).

import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import type { ListenerTlsConfig, UpstreamTlsConfig } from './schema/tls.js';
import { readTlsFiles, TlsFilesError } from './tls-files.js';
import {
  allowsPurpose,
  describeCertificate,
  isIssuedBy,
  isIssuedByPublicRoot,
  isSelfSigned,
  keyMatches,
  openPrivateKey,
  parseCertificates,
  validityAt,
} from './tls-certificates.js';

/** A certificate ending within this many days is reported, so a renewal that silently failed is noticed in time. */
export const EXPIRY_WARNING_DAYS = 14;

export interface TlsFinding {
  severity: 'error' | 'warning';
  /** The config path at fault, e.g. `listen.tls.keyFile`. */
  path: string;
  message: string;
}

/** Addresses that mean "every interface": no one host name the certificate ought to carry. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['', '0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0']);

class Findings {
  readonly list: TlsFinding[] = [];
  constructor(private readonly prefix: string) {}
  error(field: string, message: string): void {
    this.list.push({ severity: 'error', path: `${this.prefix}.${field}`, message });
  }
  warning(field: string, message: string): void {
    this.list.push({ severity: 'warning', path: `${this.prefix}.${field}`, message });
  }
}

type FileField = 'certFile' | 'keyFile' | 'caFile';

/**
 * One file's text, or null with the problem recorded. Read one at a time (rather than readTlsFiles' first failure
 * for the whole section) so every unreadable file is reported at once.
 */
function readOne(findings: Findings, field: FileField, file: string): string | null {
  try {
    const files = readTlsFiles({ [field]: file, minVersion: 'TLSv1.2', rejectUnauthorized: true });
    return (field === 'certFile' ? files.cert : field === 'keyFile' ? files.key : files.ca) ?? null;
  } catch (error) {
    if (error instanceof TlsFilesError) {
      findings.error(field, error.message);
      return null;
    }
    throw error;
  }
}

function readPassphrase(findings: Findings, tls: ListenerTlsConfig | UpstreamTlsConfig, env: NodeJS.ProcessEnv): string | undefined | null {
  if (tls.passphrase === undefined) return undefined;
  try {
    return readTlsFiles({ passphrase: tls.passphrase, minVersion: 'TLSv1.2', rejectUnauthorized: true }, env).passphrase ?? null;
  } catch (error) {
    if (error instanceof TlsFilesError) {
      findings.error('passphrase', error.message);
      return null;
    }
    throw error;
  }
}

function certificatesOf(findings: Findings, field: FileField, file: string): X509Certificate[] | null {
  const text = readOne(findings, field, file);
  if (text === null) return null;
  const parsed = parseCertificates(text);
  if (typeof parsed === 'string') {
    findings.error(field, `${file} ${parsed}`);
    return null;
  }
  return parsed;
}

/** Each certificate of certFile valid now, and each issued by the one after it (leaf first, as TLS sends them). */
function checkChain(findings: Findings, chain: X509Certificate[], now: number, leafRole: string): boolean {
  for (const cert of chain) {
    const validity = validityAt(cert, now, EXPIRY_WARNING_DAYS);
    const who = `the certificate ${describeCertificate(cert)}`;
    if (validity.state === 'expired') findings.error('certFile', `${who} expired on ${validity.since}`);
    if (validity.state === 'not-yet-valid') findings.error('certFile', `${who} is not valid before ${validity.from}`);
    if (validity.state === 'expiring') findings.warning('certFile', `${who} expires on ${validity.until}, in ${validity.days} day${validity.days === 1 ? '' : 's'}`);
  }
  let unbroken = true;
  for (let i = 0; i + 1 < chain.length; i += 1) {
    const cert = chain[i]!;
    const next = chain[i + 1]!;
    if (!isIssuedBy(cert, next)) {
      unbroken = false;
      findings.error(
        'certFile',
        `the chain is broken: certificate ${i + 1} ${describeCertificate(cert)} is not issued by certificate ${i + 2} ${describeCertificate(next)}; the file holds the ${leafRole} first, then each issuer in order`,
      );
    }
  }
  return unbroken;
}

function checkKey(findings: Findings, leaf: X509Certificate | undefined, keyFile: string, passphrase: string | undefined | null): void {
  const text = readOne(findings, 'keyFile', keyFile);
  // An unreadable passphrase is reported already; the key cannot be judged without it.
  if (text === null || passphrase === null) return;
  const key = openPrivateKey(text, passphrase);
  if (typeof key === 'string') {
    findings.error('keyFile', key.startsWith('the key') ? `${key} (${keyFile})` : `${keyFile} ${key}`);
    return;
  }
  if (leaf !== undefined && !keyMatches(leaf, key)) {
    findings.error('keyFile', `the key in ${keyFile} does not belong to the certificate ${describeCertificate(leaf)} in certFile`);
  }
}

/** The CAs of caFile: every one expired is an error (nothing could verify against it), some expired a warning. */
function checkCaFile(findings: Findings, caFile: string, now: number): X509Certificate[] | null {
  const cas = certificatesOf(findings, 'caFile', caFile);
  if (cas === null) return null;
  const validities = cas.map((ca) => validityAt(ca, now, EXPIRY_WARNING_DAYS));
  const usable = validities.filter((v) => v.state === 'valid' || v.state === 'expiring').length;
  if (usable === 0) {
    findings.error('caFile', `no certificate in ${caFile} is valid now: ${cas.map((ca, i) => `${describeCertificate(ca)} ${stateWords(validities[i]!)}`).join('; ')}`);
    return cas;
  }
  cas.forEach((ca, i) => {
    const v = validities[i]!;
    if (v.state !== 'valid') findings.warning('caFile', `the CA certificate ${describeCertificate(ca)} ${stateWords(v)}`);
  });
  return cas;
}

function stateWords(v: ReturnType<typeof validityAt>): string {
  switch (v.state) {
    case 'expired':
      return `expired on ${v.since}`;
    case 'not-yet-valid':
      return `is not valid before ${v.from}`;
    case 'expiring':
      return `expires on ${v.until}, in ${v.days} day${v.days === 1 ? '' : 's'}`;
    default:
      return 'is valid';
  }
}

/** Clients check the name they connected with; a certificate that names another host is refused by them. */
function checkNames(findings: Findings, leaf: X509Certificate, host: string, hostPath: string): void {
  if (WILDCARD_HOSTS.has(host)) {
    if (leaf.subjectAltName === undefined) {
      findings.warning('certFile', `the certificate ${describeCertificate(leaf)} names no host (it has no subject alternative names): clients that check names (browsers, curl) will refuse it`);
    }
    return;
  }
  const matches = isIP(host) !== 0 ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined;
  if (!matches) {
    findings.warning(
      'certFile',
      `the certificate names ${leaf.subjectAltName ?? describeCertificate(leaf)}, not ${host} (${hostPath}): clients connecting by that address will refuse it, unless they use one of the names`,
    );
  }
}

/** A certificate restricted to other purposes is refused by the peer; a warning, as the peer has the last word. */
function checkPurpose(findings: Findings, leaf: X509Certificate, purpose: 'server' | 'client'): void {
  if (!allowsPurpose(leaf, purpose)) {
    findings.warning('certFile', `the certificate ${describeCertificate(leaf)} is not for ${purpose} authentication (its extended key usage leaves it out): TLS peers will refuse it`);
  }
}

/** listen.tls or admin.tls, at `prefix`, for a listener bound to `host` (its config path is `hostPath`). */
export function checkListenerTls(prefix: string, tls: ListenerTlsConfig, host: string, hostPath: string, env: NodeJS.ProcessEnv, now: number): TlsFinding[] {
  const findings = new Findings(prefix);
  const chain = certificatesOf(findings, 'certFile', tls.certFile);
  const unbroken = chain !== null && checkChain(findings, chain, now, 'server certificate');
  checkKey(findings, chain?.[0], tls.keyFile, readPassphrase(findings, tls, env));
  if (chain !== null) {
    checkNames(findings, chain[0]!, host, hostPath);
    checkPurpose(findings, chain[0]!, 'server');
  }
  if (tls.caFile !== undefined && tls.clientAuth === 'none') {
    findings.warning('caFile', 'is not used with clientAuth "none": it names the CAs of client certificates, and none are asked for');
  }
  const cas = tls.caFile === undefined ? null : checkCaFile(findings, tls.caFile, now);
  // On a listener caFile holds the CAs of *client* certificates: a server certificate from a public CA that does
  // not chain to it is legitimate, so an incomplete chain is only a warning, and only when it ends at neither a
  // caFile certificate nor a public root (usually an intermediate left out of certFile). Without caFile there is
  // nothing to tell a private CA the clients trust from a missing intermediate, so nothing is said.
  if (chain !== null && unbroken && cas !== null) {
    const top = chain[chain.length - 1]!;
    const anchored = isSelfSigned(top) || cas.some((ca) => ca.fingerprint256 === top.fingerprint256 || isIssuedBy(top, ca)) || isIssuedByPublicRoot(top);
    if (!anchored) {
      findings.warning(
        'certFile',
        `the chain ends at ${describeCertificate(top)}, whose issuer "${top.issuer.split('\n').join(', ')}" is neither in caFile nor a public root CA: clients must trust that issuer themselves, or certFile lacks an intermediate certificate`,
      );
    }
  }
  return findings.list;
}

/** upstream.tls at `prefix`: the CAs the upstream is verified against, and the client certificate, if any. */
export function checkUpstreamTls(prefix: string, tls: UpstreamTlsConfig, env: NodeJS.ProcessEnv, now: number): TlsFinding[] {
  const findings = new Findings(prefix);
  // Here caFile verifies the upstream's certificate, which check-config cannot see; our client certificate is
  // verified by the upstream against CAs of its own. So caFile is checked on its own, and the client certificate's
  // chain only for being unbroken, never against caFile.
  if (tls.caFile !== undefined) checkCaFile(findings, tls.caFile, now);
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    const chain = certificatesOf(findings, 'certFile', tls.certFile);
    if (chain !== null) {
      checkChain(findings, chain, now, 'client certificate');
      checkPurpose(findings, chain[0]!, 'client');
    }
    checkKey(findings, chain?.[0], tls.keyFile, readPassphrase(findings, tls, env));
  }
  return findings.list;
}

interface TlsSections {
  listen: { host: string; tls?: ListenerTlsConfig | undefined };
  admin: { host: string; tls?: ListenerTlsConfig | undefined };
  upstream: { tls?: UpstreamTlsConfig | undefined };
}

/** Every finding of the config's TLS sections, errors and warnings, in section order. */
export function checkTlsSections(parsed: TlsSections, env: NodeJS.ProcessEnv = process.env, now: number = Date.now()): TlsFinding[] {
  return [
    ...(parsed.listen.tls ? checkListenerTls('listen.tls', parsed.listen.tls, parsed.listen.host, 'listen.host', env, now) : []),
    ...(parsed.admin.tls ? checkListenerTls('admin.tls', parsed.admin.tls, parsed.admin.host, 'admin.host', env, now) : []),
    ...(parsed.upstream.tls ? checkUpstreamTls('upstream.tls', parsed.upstream.tls, env, now) : []),
  ];
}

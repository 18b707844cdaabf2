// A listener's certificate as it is served: the files of its `tls` section read, checked the way OpenSSL will use
// them (key matching the certificate, passphrase right), and turned into the options of a secure context. Start
// and every rotation go through here, so a pair that would fail a handshake is refused before it is served.

import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { ListenerTlsConfig } from '../../config/schema/tls.js';
import { readTlsFiles, secureContextFiles, secureContextProblem, TlsFilesError, type TlsFiles } from '../../config/tls-files.js';

/** Why a certificate cannot be served, in words that name the file or the problem and never hold key material. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

export interface ServedCertificate {
  /** What `setSecureContext` and the server's constructor take. */
  readonly options: SecureContextOptions;
  /** Identifies the files' content (certificate, key, CA, passphrase), to tell a real change from a touch. */
  readonly contentHash: string;
  /** The leaf certificate's expiry, in milliseconds since the epoch. */
  readonly notAfter: number;
  /** SHA-256 fingerprint of the leaf certificate, as openssl prints it; public, safe to log. */
  readonly fingerprint: string;
}

/** Hash of everything the files hold; compared, never logged. */
export function tlsContentHash(tls: ListenerTlsConfig, env: NodeJS.ProcessEnv): string | null {
  try {
    return hashFiles(readTlsFiles(tls, env));
  } catch {
    return null;
  }
}

function hashFiles(files: TlsFiles): string {
  return createHash('sha256').update(JSON.stringify([files.cert, files.key, files.ca, files.passphrase])).digest('hex');
}

/** Reads and checks the files; throws CertificateError saying what is wrong. */
export function loadServedCertificate(tls: ListenerTlsConfig, env: NodeJS.ProcessEnv = process.env): ServedCertificate {
  let files: TlsFiles;
  try {
    files = readTlsFiles(tls, env);
  } catch (error) {
    if (error instanceof TlsFilesError) throw new CertificateError(error.message);
    throw error;
  }
  const options: SecureContextOptions = { ...secureContextFiles(files), minVersion: tls.minVersion, ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {}) };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(files.cert!);
  } catch {
    throw new CertificateError(`the certificate file ${tls.certFile} holds no readable certificate`);
  }
  try {
    createSecureContext(options);
  } catch (error) {
    throw new CertificateError(secureContextProblem(tls, error));
  }
  return {
    options,
    contentHash: hashFiles(files),
    notAfter: Date.parse(leaf.validTo),
    fingerprint: leaf.fingerprint256,
  };
}

/** The server-side half of `clientAuth`: whether a certificate is asked for, and whether a connection without one is refused. */
export function clientAuthOptions(clientAuth: ListenerTlsConfig['clientAuth']): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'require' };
}

/** Everything TLS in an HTTPS listener's options; the handshake gets the time a request's headers get. */
export function tlsServerOptions(tls: ListenerTlsConfig, certificate: ServedCertificate, handshakeTimeoutMs: number): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean; handshakeTimeout?: number } {
  return { ...certificate.options, ...clientAuthOptions(tls.clientAuth), ...(handshakeTimeoutMs > 0 ? { handshakeTimeout: handshakeTimeoutMs } : {}) };
}

/** The certificate a listener starts with; the error names the config section, as a config problem does. */
export function loadListenerCertificate(section: 'listen.tls' | 'admin.tls', tls: ListenerTlsConfig, env: NodeJS.ProcessEnv = process.env): ServedCertificate {
  try {
    return loadServedCertificate(tls, env);
  } catch (error) {
    if (error instanceof CertificateError) throw new CertificateError(`${section}: ${error.message}`);
    throw error;
  }
}

// Reads the PEM files a TLS setting names, with the key's passphrase from env or its file. Called at start, on
// every certificate reload and by check-config, so each reports one clear problem naming the file at fault.

import { readFileSync } from 'node:fs';
import type { ListenerTlsConfig, UpstreamTlsConfig } from './schema/tls.js';

export class TlsFilesError extends Error {
  override readonly name = 'TlsFilesError';
}

export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
  passphrase?: string;
}

function readPem(label: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TlsFilesError(`cannot read ${label} ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (!text.includes('-----BEGIN ')) throw new TlsFilesError(`${label} ${file} holds no PEM block`);
  return text;
}

function readPassphrase(source: { env: string } | { file: string }, env: NodeJS.ProcessEnv): string {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value === '') throw new TlsFilesError(`environment variable ${source.env} (the key's passphrase) is not set`);
    return value;
  }
  try {
    // As with every secret file: a trailing newline is the editor's, not the passphrase's.
    return readFileSync(source.file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new TlsFilesError(`cannot read the passphrase file ${source.file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** The files' contents; throws TlsFilesError for the first one that cannot be read. */
export function readTlsFiles(tls: ListenerTlsConfig | UpstreamTlsConfig, env: NodeJS.ProcessEnv = process.env): TlsFiles {
  const files: TlsFiles = {};
  if (tls.certFile !== undefined) files.cert = readPem('the certificate file', tls.certFile);
  if (tls.keyFile !== undefined) files.key = readPem('the key file', tls.keyFile);
  if (tls.caFile !== undefined) files.ca = readPem('the CA file', tls.caFile);
  if (tls.passphrase !== undefined) files.passphrase = readPassphrase(tls.passphrase, env);
  return files;
}

/** The files as secure-context options: the certificate chain and key (with its passphrase), and the CAs trusted. */
export function secureContextFiles(files: TlsFiles): { ca?: string; cert?: string; key?: string; passphrase?: string } {
  const out: { ca?: string; cert?: string; key?: string; passphrase?: string } = {};
  if (files.ca !== undefined) out.ca = files.ca;
  if (files.cert !== undefined) out.cert = files.cert;
  if (files.key !== undefined) out.key = files.key;
  if (files.passphrase !== undefined) out.passphrase = files.passphrase;
  return out;
}

/** What a secure context was built from, for naming the file at fault. */
interface ContextSources {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  passphrase?: unknown;
  ciphers?: string | undefined;
}

/**
 * Why OpenSSL would not build a secure context from the files, in the operator's terms. Its messages name a
 * reason and a library routine, never the key's content, so a reason not recognised here is passed on as it is.
 */
export function secureContextProblem(tls: ContextSources, error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? '';
  if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' || /key values mismatch/i.test(text)) {
    return `the key in ${tls.keyFile} does not belong to the certificate in ${tls.certFile}`;
  }
  if (code === 'ERR_OSSL_BAD_DECRYPT' || /bad decrypt|bad password|maybe wrong password/i.test(text)) {
    return tls.passphrase === undefined ? `the key in ${tls.keyFile} is encrypted and no passphrase is configured` : `the key in ${tls.keyFile} cannot be decrypted with the configured passphrase`;
  }
  if (code === 'ERR_OSSL_UNSUPPORTED' || /no start line|bad base64|DECODER/i.test(text)) return `the key file ${tls.keyFile} holds no usable private key`;
  if (code === 'ERR_SSL_NO_CIPHER_MATCH') return `ciphers: OpenSSL accepts none of "${tls.ciphers ?? ''}"`;
  // "error:05800074:x509 certificate routines::key values mismatch" reads better without its numeric prefix.
  const reason = text.replace(/^error:[0-9A-F]+:[^:]*::?/, '').trim();
  return `the certificate, key or CA files cannot be used (${[reason, code].filter((part) => part !== undefined && part !== '').join(', ') || 'unknown error'})`;
}

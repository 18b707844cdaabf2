// How connections to an https:// upstream are made, for both forwarding engines and for WebSocket upgrades: the
// CA, client certificate and minimum version of `upstream.tls` in one secure context built per forwarder (not per
// connection), and the name sent as SNI and checked against the certificate. Also how a TLS failure is told from
// other connection failures, and logged with its code.

import { isIP, type Socket } from 'node:net';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { Config } from '../config/load.js';
import { secureContextFiles } from '../config/tls-files.js';
import type { Logger } from '../log/logger.js';

export interface UpstreamTls {
  /** Options for every new TLS connection to the upstream; `servername` absent means no SNI (an IP address). */
  connect: ConnectionOptions & { servername?: string };
  /**
   * The name each request is said to go to. Both engines would otherwise derive SNI and the name checked against
   * the certificate from the Host header the client sent (the proxy's own name), and undici would drop its pooled
   * connection whenever two clients send different Host headers.
   */
  requestServerName: string;
  /** Logs a failed handshake with its code (throttled: an upstream with a bad certificate fails every request). */
  failed(code: string, message: string): void;
}

/** Null for a plain-HTTP upstream. */
export function upstreamTlsFor(config: Config, upstream: URL, logger: Logger | null): UpstreamTls | null {
  if (upstream.protocol !== 'https:') return null;
  const material = config.upstreamTls;
  const hostname = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
  const configuredName = material?.settings.serverName;
  // RFC 6066 has no SNI for an IP address: the certificate is then checked against the address itself.
  const servername = configuredName ?? (isIP(hostname) === 0 ? hostname : undefined);
  const connect: UpstreamTls['connect'] = { rejectUnauthorized: material?.settings.rejectUnauthorized ?? true };
  if (servername !== undefined) connect.servername = servername;
  if (material !== null) {
    // The same options were tried when the config was loaded (config/upstream-tls.ts): this does not throw.
    connect.secureContext = createSecureContext({ ...secureContextFiles(material.files), minVersion: material.settings.minVersion });
  }
  const failures = new FailureLog(logger, upstream.origin);
  return { connect, requestServerName: servername ?? hostname, failed: (code, message) => failures.report(code, message) };
}

/** Node's certificate verification codes (X509_V_ERR_* without the prefix) and the hostname check's. */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The code of a TLS failure, or null for any other error: a certificate the upstream showed and we refused, an
 * alert it sent (no client certificate, no common protocol version) or an OpenSSL error of the handshake.
 */
export function tlsFailureCode(error: unknown): string | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 3; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code === undefined) continue;
    if (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_')) return code;
    // What OpenSSL errors without a finer code surface as: a plain-HTTP server on an https:// URL, among others.
    if (code === 'EPROTO') return code;
  }
  return null;
}

/**
 * Makes the first TLS error a connection reports the cause of the errors after it. A TLS 1.3 upstream refuses a
 * missing client certificate only after the handshake, with an alert and a close; undici then fails the request
 * with its own "other side closed", which would hide that TLS was the reason. One listener per connection.
 */
export function keepTlsFailureAsCause(socket: Socket): void {
  let tlsError: Error | null = null;
  socket.prependListener('error', (error: Error) => {
    if (tlsError === null) {
      if (tlsFailureCode(error) !== null) tlsError = error;
    } else if (error !== tlsError && error.cause === undefined) {
      Object.defineProperty(error, 'cause', { value: tlsError, configurable: true, writable: true });
    }
  });
}

const LOG_INTERVAL_MS = 10_000;

/** One warning per error code per interval, with how many were left out since the last one. */
class FailureLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger | null,
    private readonly upstream: string,
  ) {}

  report(code: string, message: string): void {
    if (this.logger === null) return;
    const now = Date.now();
    const seen = this.#last.get(code);
    if (seen !== undefined && now - seen.at < LOG_INTERVAL_MS) {
      seen.suppressed += 1;
      return;
    }
    this.#last.set(code, { at: now, suppressed: 0 });
    // Node's messages name the certificate problem and the host, never key material.
    this.logger.warn({ upstream: this.upstream, code, error: message, ...(seen && seen.suppressed > 0 ? { alsoFailedSinceLastLine: seen.suppressed } : {}) }, 'TLS handshake with the upstream failed');
  }
}

// The public listener with what travels with it: its certificate and the certificate's rotation when `listen.tls`
// is set, the optional plain-HTTP redirect listener beside it, the limits a reload changes, and the graceful close
// that lets requests in flight finish.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/load.js';
import { createHttpRedirectListener, type PlainTextJudge } from './http-redirect.js';
import { applyListenerLimits, createPublicListener, listen, type PublicListenerHandlers } from './public-listener.js';
import { CertificateReloader, type CertificateReloaderOptions } from './tls/certificate-reloader.js';
import { HttpsListener } from './tls/https-listener.js';
import { loadListenerCertificate } from './tls/served-certificate.js';

type ListenConfig = Config['parsed']['listen'];

export interface PublicListenerOptions extends CertificateReloaderOptions {
  /** What the redirect listener asks before it redirects (the running config's own endpoints and credentials). */
  judge(): PlainTextJudge;
}

/** How often idle keep-alive connections are closed while the listener drains. */
const DRAIN_SWEEP_MS = 50;

export class PublicListeners {
  readonly server: Server;
  readonly #redirect: Server | null;
  readonly #certificates: CertificateReloader | null;

  private constructor(server: Server, redirect: Server | null, certificates: CertificateReloader | null) {
    this.server = server;
    this.#redirect = redirect;
    this.#certificates = certificates;
  }

  static async start(config: ListenConfig, handlers: PublicListenerHandlers, options: PublicListenerOptions): Promise<PublicListeners> {
    const tls = config.tls;
    const certificate = tls === undefined ? null : loadListenerCertificate('listen.tls', tls, options.env);
    const server = createPublicListener(config, handlers, certificate);
    await listen(server, config.port, config.host);
    let redirect: Server | null = null;
    const redirectAt = config.httpRedirect;
    if (tls !== undefined && redirectAt !== undefined) {
      const httpsPort = redirectAt.httpsPort ?? (server.address() as AddressInfo).port;
      redirect = createHttpRedirectListener(config, { httpsPort: () => httpsPort, judge: options.judge });
      try {
        await listen(redirect, redirectAt.port, redirectAt.host ?? config.host);
      } catch (error) {
        server.close();
        throw error;
      }
    }
    const certificates = tls === undefined || certificate === null ? null : new CertificateReloader('public', server as HttpsListener, tls, certificate, options);
    return new PublicListeners(server, redirect, certificates);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return urlOf(this.server);
  }

  /** The redirect listener's URL, or null when there is none. */
  get redirectUrl(): string | null {
    return this.#redirect === null ? null : urlOf(this.#redirect);
  }

  /** A reload: new limits and timeouts, and the certificate files read again. */
  reload(config: ListenConfig): void {
    applyListenerLimits(this.server, config);
    if (this.#redirect !== null) applyListenerLimits(this.#redirect, config);
    if (this.#certificates !== null && config.tls !== undefined) this.#certificates.reload(config.tls);
  }

  /** Stops accepting connections, lets in-flight requests finish (up to the deadline), then closes the rest. */
  async close(deadlineMs: number): Promise<void> {
    this.#certificates?.close();
    const server = this.server;
    const redirect = this.#redirect;
    const redirectClosed = redirect === null ? Promise.resolve() : new Promise<void>((resolve) => redirect.close(() => resolve()));
    redirect?.closeAllConnections();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A keep-alive connection whose request finishes during the drain is not closed by Node (relayed responses
    // say keep-alive), so it would hold the close until the client lets go of it or the deadline passes.
    const sweeper = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([closed, deadline]);
    clearTimeout(timer);
    clearInterval(sweeper);
    server.closeAllConnections();
    await redirectClosed;
  }
}

/** http:// or https:// and the address a listening server is bound to. */
export function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${server instanceof HttpsListener ? 'https' : 'http'}://${host}:${address.port}`;
}

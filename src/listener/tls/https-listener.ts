// An HTTPS server that tells a TLS handshake from plain HTTP on its own port. Every connection's first byte is read
// before the TLS layer sees it: a handshake record (0x16) goes on to TLS, anything else is a client that typed
// http:// and is answered a plain 400 saying to use https (as nginx does), instead of a handshake error that the
// client shows as a hang or a reset. Being the https.Server itself (not a front), the server keeps its own
// listening socket, so address(), close(), maxConnections, node:cluster and connection tracking work as for HTTP.

import { Server as HttpsServer, type ServerOptions } from 'node:https';
import type { RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { rawReply } from '../../respond/errors.js';

/** The content type of a TLS handshake record: the first byte of every ClientHello. */
const TLS_HANDSHAKE_RECORD = 0x16;
/** The wait for a first byte when `headersTimeout` is 0 (off): never unbounded. */
const FALLBACK_TIMEOUT_MS = 120_000;

const PLAIN_HTTP_ANSWER = rawReply(400, {
  error: 'invalid_request',
  error_description: 'this port speaks HTTPS: a plain HTTP request was sent to it; use an https:// URL',
  reason: 'https_required',
});

export class HttpsListener extends HttpsServer {
  /** Connections not yet handed to TLS (or answered in plain text): idle by definition, closed on shutdown. */
  readonly #unsorted = new Set<Socket>();
  readonly #startTls: (socket: Socket) => void;

  /** The first byte may take the server's headersTimeout, the handshake `options.handshakeTimeout`; then HTTP's timeouts apply. */
  constructor(options: ServerOptions, requestListener: RequestListener) {
    super(options, requestListener);
    // Node's TLS server starts its handshake from its one 'connection' listener; it runs once the first byte is seen.
    const listeners = this.listeners('connection');
    if (listeners.length !== 1) throw new Error(`expected the TLS server's one connection listener, found ${listeners.length}`);
    const startTls = listeners[0] as (this: HttpsServer, socket: Socket) => void;
    this.removeListener('connection', startTls);
    this.#startTls = (socket) => startTls.call(this, socket);
    this.on('connection', (socket: Socket) => this.#sort(socket));
    // Node's HTTPS server passes a failed handshake (timeout, no acceptable version, a refused client certificate)
    // on as an HTTP 'clientError', whose handler answers in HTTP; there is no HTTP on a connection without TLS
    // yet, and such an answer would wait forever, so the connection just closes.
    this.removeAllListeners('tlsClientError');
    this.on('tlsClientError', (_error: Error, socket: TLSSocket) => socket.destroy());
  }

  override closeIdleConnections(): void {
    for (const socket of this.#unsorted) socket.destroy();
    super.closeIdleConnections();
  }

  override closeAllConnections(): void {
    for (const socket of this.#unsorted) socket.destroy();
    super.closeAllConnections();
  }

  #waitMs(): number {
    return this.headersTimeout > 0 ? this.headersTimeout : FALLBACK_TIMEOUT_MS;
  }

  #sort(socket: Socket): void {
    // A connection already secured, given back after an ignored upgrade (unsupported-upgrades.ts): it goes
    // straight to the HTTP parser, as a fresh TLS connection does after its handshake.
    if (socket instanceof TLSSocket) {
      this.emit('secureConnection', socket);
      return;
    }
    this.#unsorted.add(socket);
    // A connection that never sends a byte is cut like one that never finishes its headers (slowloris).
    const timer = setTimeout(() => socket.destroy(), this.#waitMs());
    const onError = () => socket.destroy();
    const settle = () => {
      clearTimeout(timer);
      this.#unsorted.delete(socket);
      socket.off('error', onError);
      socket.off('close', settle);
    };
    socket.on('error', onError);
    socket.on('close', settle);
    socket.once('data', (chunk: Buffer) => {
      settle();
      // The byte read stays the TLS layer's (or the refusal's) to read: TLS takes over what is buffered.
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE_RECORD) this.#startTls(socket);
      else this.#refusePlainHttp(socket);
    });
  }

  #refusePlainHttp(socket: Socket): void {
    this.#unsorted.add(socket);
    const timer = setTimeout(() => socket.destroy(), this.#waitMs());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      this.#unsorted.delete(socket);
    });
    // What the client still sends is read and dropped: closing with unread data would reset the connection, and
    // a reset can discard the answer before the client reads it. The client closes once it has the answer.
    socket.resume();
    socket.end(PLAIN_HTTP_ANSWER);
  }
}

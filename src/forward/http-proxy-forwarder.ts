// Forwarding on http-proxy: streamed bodies both ways, keep-alive sockets to the upstream, a bound on how long
// the upstream may stay silent (504), 502 when it cannot be reached or answers with something that is not HTTP,
// and the upstream request cancelled when the client goes away. An https:// upstream is reached with the settings
// of `upstream.tls` (upstream-tls.ts), WebSocket upgrades included.

import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { REASONS } from '../errors/reasons.js';
import { bearerDenial, sendDenial } from '../respond/errors.js';
import type { ForwardFailure, ForwardResult, ForwardTarget, Forwarder } from './forwarder.js';
import { tlsFailureCode, type UpstreamTls } from './upstream-tls.js';

export interface HttpProxyForwarderOptions {
  upstream: URL;
  /** Longest silence from the upstream before the request is answered with 504. */
  timeoutMs: number;
  connectTimeoutMs: number;
  maxSockets: number;
  /** How connections to an https:// upstream are made; null for plain HTTP. */
  tls: UpstreamTls | null;
}

interface InFlight {
  startedAt: bigint;
  upstreamStatus: number | null;
  upstreamSeconds: number | null;
  failure: ForwardFailure | null;
  done: (result: ForwardResult) => void;
  reported: boolean;
}

const INVALID_RESPONSE_CODES = new Set([
  'HPE_INVALID_HEADER_TOKEN',
  'HPE_INVALID_CONSTANT',
  'HPE_INVALID_VERSION',
  'HPE_INVALID_STATUS',
  'HPE_INVALID_CHUNK_SIZE',
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
  'HPE_HEADER_OVERFLOW',
  'HPE_LF_EXPECTED',
  'HPE_CR_EXPECTED',
  'HPE_INVALID_EOF_STATE',
  'HPE_CLOSED_CONNECTION',
  'ERR_INVALID_HTTP_RESPONSE',
  'ERR_INVALID_CHAR',
]);

/**
 * Per-request options that make http-proxy send `path` as it is. It joins the target's path and req.url with a
 * rewrite that turns "http:/" inside a path into "http://", then writes the result onto `options.ssl`, the base of
 * the upstream request's options; a `path` there that ignores the write keeps the path the pipeline decided on.
 */
function exactPath(path: string): { ssl: object } {
  const base = {};
  Object.defineProperty(base, 'path', { enumerable: true, get: () => path, set: () => {} });
  return { ssl: base };
}

// Characters Node's response writer refuses in a reason phrase, though its parser lets some of them through.
const INVALID_REASON_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

function relayable(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return Number.isInteger(status) && status >= 100 && status <= 999 && !INVALID_REASON_CHAR.test(response.statusMessage ?? '');
}

export class HttpProxyForwarder implements Forwarder {
  readonly #proxy: httpProxy;
  readonly #agent: Agent;
  readonly #inFlight = new WeakMap<IncomingMessage, InFlight>();
  readonly #upstream: URL;

  constructor(private readonly options: HttpProxyForwarderOptions) {
    this.#upstream = options.upstream;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: Math.min(options.maxSockets, 256), timeout: options.timeoutMs, scheduling: 'lifo' as const };
    const tls = options.tls;
    // The agent's options win over each request's, so every pooled connection gets these TLS settings, and an
    // empty servername (an IP address) keeps Node from taking SNI from the client's Host header.
    this.#agent = tls !== null ? new HttpsAgent({ ...agentOptions, ...tls.connect, servername: tls.connect.servername ?? '' }) : new Agent(agentOptions);
    this.#proxy = httpProxy.createProxyServer({
      target: options.upstream.origin,
      agent: this.#agent,
      xfwd: false,
      changeOrigin: false,
      ws: true,
      proxyTimeout: options.timeoutMs,
      // http-proxy writes this onto each request as rejectUnauthorized; the agent's own setting agrees with it.
      secure: tls?.connect.rejectUnauthorized ?? true,
    });
    // http-proxy's deleteLength pass gives a DELETE or OPTIONS without Content-Length a 'content-length: 0' and
    // drops Transfer-Encoding: a chunked body would then follow a request that announces none, and the upstream
    // would read it as a second request. forward() frames the body itself.
    const passes = (this.#proxy as unknown as { webPasses: Array<{ name: string }> }).webPasses;
    const deleteLength = passes.findIndex((pass) => pass.name === 'deleteLength');
    if (deleteLength !== -1) passes.splice(deleteLength, 1);
    this.#proxy.on('proxyReq', (proxyReq, req, res) => {
      const state = this.#inFlight.get(req);
      if (!state) return;
      proxyReq.once('timeout', () => {
        state.failure ??= 'upstream_timeout';
      });
      const socket = proxyReq.socket;
      if (socket?.connecting) {
        // The agent's timeout covers an idle upstream; a host that never accepts the connection gets its own,
        // shorter bound and counts as unreachable.
        const timer = setTimeout(() => {
          state.failure ??= 'upstream_unreachable';
          proxyReq.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECTTIMEOUT' }));
        }, this.options.connectTimeoutMs);
        timer.unref();
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      }
      // A client that goes away after sending its request would otherwise leave the upstream working for nobody.
      res.once('close', () => {
        if (!res.writableFinished && !proxyReq.destroyed) {
          state.failure ??= 'client_aborted';
          proxyReq.destroy();
        }
      });
    });
    this.#proxy.on('proxyRes', (proxyRes, req, res) => {
      const state = this.#inFlight.get(req);
      if (!state) return;
      if (!relayable(proxyRes)) {
        // Answered here, before http-proxy copies the status: Node's writer throws on what its parser let through,
        // and inside http-proxy's relay that throw is uncaught and ends the process.
        state.failure = 'upstream_invalid_response';
        this.#report(req, state);
        proxyRes.destroy();
        sendDenial(res, bearerDenial('upstream_invalid_response', { connection: 'close' }));
        return;
      }
      state.upstreamStatus = proxyRes.statusCode ?? null;
      state.upstreamSeconds = Number(process.hrtime.bigint() - state.startedAt) / 1e9;
      this.#report(req, state);
      // http-proxy's pipe never ends the response when the upstream stops half-way through its body: the client
      // would wait for the rest for ever on a connection that looks alive. Cutting it shows the answer is truncated.
      proxyRes.once('close', () => {
        if (!proxyRes.complete) res.destroy();
      });
    });
    // WebSocket and other upgrade errors: the socket is all there is to close.
    this.#proxy.on('error', (_error, _req, resOrSocket) => {
      const socket = resOrSocket as unknown as Duplex;
      if (typeof socket.destroy === 'function' && !('writeHead' in socket)) socket.destroy();
    });
  }

  forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, done: (result: ForwardResult) => void): void {
    const state: InFlight = { startedAt: process.hrtime.bigint(), upstreamStatus: null, upstreamSeconds: null, failure: null, done, reported: false };
    this.#inFlight.set(req, state);
    // Node has taken the client's chunked framing off the body and Transfer-Encoding, being hop-by-hop, was not
    // copied: without it the body would follow a request that announces none and be read as a second request.
    const coding = req.headers['transfer-encoding'];
    if (coding !== undefined) target.headers['transfer-encoding'] = coding;
    // Node has already answered the client's 100-continue. Passed on, Expect would also keep http-proxy from
    // emitting proxyReq, where the timeouts and the cancel-on-client-abort are wired.
    delete target.headers['expect'];
    req.url = target.path;
    req.headers = target.headers as IncomingMessage['headers'];
    res.once('close', () => {
      if (!res.writableFinished) state.failure ??= 'client_aborted';
      this.#report(req, state);
    });
    this.#proxy.web(req, res, exactPath(target.path), (error) => {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (state.failure === null) {
        if (this.#tlsFailure(error)) state.failure = 'upstream_tls_failed';
        else if (INVALID_RESPONSE_CODES.has(code) || code.startsWith('HPE_')) state.failure = 'upstream_invalid_response';
        // `req` counts as destroyed once its body was read, so only the response tells that the client left.
        else if (res.destroyed) state.failure = 'client_aborted';
        else state.failure = 'upstream_unreachable';
      }
      this.#report(req, state);
      if (state.failure === 'client_aborted') return;
      if (res.headersSent) {
        // The upstream failed half-way through its answer: all we can do is cut the connection so the client
        // sees a truncated response rather than a complete-looking one.
        res.destroy();
        return;
      }
      sendDenial(res, bearerDenial(state.failure, { connection: 'close' }));
    });
  }

  /** Whether the error is a failed TLS handshake; logs it when it is. */
  #tlsFailure(error: Error): boolean {
    const code = tlsFailureCode(error);
    if (code === null) return false;
    this.options.tls?.failed(code, error.message);
    return true;
  }

  /** Tells the pipeline once what happened: on the upstream's response headers, on failure, or on close. */
  #report(req: IncomingMessage, state: InFlight): void {
    if (state.reported) return;
    state.reported = true;
    this.#inFlight.delete(req);
    state.done({ upstreamStatus: state.upstreamStatus, failure: state.failure, upstreamSeconds: state.upstreamSeconds });
  }

  forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ForwardTarget): void {
    req.url = target.path;
    req.headers = target.headers as IncomingMessage['headers'];
    // Once the client's side has been ended (the upstream refused the upgrade, failed, or closed the tunnel), the
    // socket goes: the listener allows half-open connections, and a client that never closes would hold it for good.
    socket.once('finish', () => socket.destroy());
    this.#proxy.ws(req, socket, head, exactPath(target.path), (error) => {
      this.#tlsFailure(error);
      if (!socket.destroyed) {
        const spec = REASONS.upstream_unreachable;
        socket.end(`HTTP/1.1 ${spec.status} Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      }
    });
  }

  async close(): Promise<void> {
    this.#proxy.close();
    this.#agent.destroy();
  }

  get upstream(): URL {
    return this.#upstream;
  }
}

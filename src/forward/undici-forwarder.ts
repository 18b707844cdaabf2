// Forwarding on undici: one keep-alive pool per upstream, bodies streamed both ways with backpressure, a bound on
// how long the upstream may stay silent (504), 502 when it cannot be reached or answers with something that is
// not HTTP, and the upstream request cancelled when the client goes away.
//
// The request is handed to the pool through the low-level dispatch handler rather than `request`/`stream`: those
// wrap every response in a Readable and parse its headers into an object, which costs more per request than the
// whole authentication step; here the raw header list is filtered and written straight to the client.
// Protocol upgrades (WebSocket) stay on http-proxy, which already splices the two sockets correctly. An https://
// upstream is reached with the settings of `upstream.tls` (upstream-tls.ts), the same for both engines.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildConnector, errors, Pool, type Dispatcher } from 'undici';
import { bearerDenial, sendDenial } from '../respond/errors.js';
import { HOP_BY_HOP_HEADERS } from '../rewrite/sanitize-headers.js';
import type { ForwardFailure, ForwardResult, ForwardTarget, Forwarder } from './forwarder.js';
import { HttpProxyForwarder } from './http-proxy-forwarder.js';
import { keepTlsFailureAsCause, tlsFailureCode, type UpstreamTls } from './upstream-tls.js';

export interface UndiciForwarderOptions {
  upstream: URL;
  /** Longest silence from the upstream (before its headers, or between body chunks) before giving up. */
  timeoutMs: number;
  connectTimeoutMs: number;
  maxSockets: number;
  /** How connections to an https:// upstream are made; null for plain HTTP. */
  tls: UpstreamTls | null;
}

const HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP_HEADERS);

/** Error codes that mean the upstream spoke, but not acceptable HTTP. */
const INVALID_RESPONSE_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_INFO',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_STATUS_CODE',
]);

function classify(error: Error & { code?: string }, tls: UpstreamTls | null): ForwardFailure {
  const tlsCode = tlsFailureCode(error);
  if (tlsCode !== null) {
    tls?.failed(tlsCode, error.message);
    return 'upstream_tls_failed';
  }
  const code = error.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'upstream_timeout';
  // undici's parser errors carry no code for most llhttp failures (a bad status line, a non-HTTP answer).
  if (error instanceof errors.HTTPParserError || code.startsWith('HPE_') || INVALID_RESPONSE_CODES.has(code)) return 'upstream_invalid_response';
  return 'upstream_unreachable';
}

/**
 * The response headers the client may see, as the flat name/value list `writeHead` takes: raw spelling and order
 * kept, hop-by-hop headers and the ones the upstream's Connection header nominates dropped, since they describe
 * the proxy-to-upstream connection, not ours.
 */
function endToEndHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  let nominated: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        for (const token of raw[i + 1]!.toString('latin1').split(',')) {
          const t = token.trim().toLowerCase();
          if (t !== '' && t !== 'close' && t !== 'keep-alive') (nominated ??= []).push(t);
        }
      }
      continue;
    }
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (nominated === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    if (!nominated.includes(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  }
  return kept;
}

/** One forwarded request; its methods are the callbacks undici's pool drives. */
class Exchange {
  #abort: ((error?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #reported = false;
  #clientGone = false;
  #headersSent = false;
  #upstreamStatus: number | null = null;
  #upstreamSeconds: number | null = null;
  #failure: ForwardFailure | null = null;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly done: (result: ForwardResult) => void,
    private readonly startedAt: number,
    private readonly tls: UpstreamTls | null,
  ) {
    // `on`, not `once`: a response closes only once, and once() would allocate a wrapper per request.
    res.on('close', this.#onClientClose);
  }

  readonly #onClientClose = (): void => {
    if (this.res.writableFinished) return;
    // A client that goes away would otherwise leave the upstream working for nobody.
    this.#clientGone = true;
    this.#failure ??= 'client_aborted';
    this.#report();
    this.#abort?.();
  };

  readonly #onDrain = (): void => {
    this.#resume?.();
  };

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.#clientGone) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx interim answers (103 Early Hints) are the upstream's business; only the final answer is relayed.
    if (statusCode < 200) return true;
    this.#resume = resume;
    this.#upstreamStatus = statusCode;
    this.#upstreamSeconds = (performance.now() - this.startedAt) / 1000;
    const res = this.res;
    if (this.#clientGone) return false;
    try {
      res.writeHead(statusCode, statusText, endToEndHeaders(rawHeaders));
    } catch (error) {
      // Header bytes llhttp tolerated but Node refuses to send (control characters, a bad status text).
      this.#upstreamStatus = null;
      this.#fail(error as Error, 'upstream_invalid_response');
      this.#abort?.();
      return false;
    }
    this.#headersSent = true;
    this.#report();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#clientGone) return false;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.#onDrain);
    return false;
  }

  onComplete(): void {
    if (!this.#clientGone) this.res.end();
  }

  onError(error: Error): void {
    this.#fail(error, null);
  }

  #fail(error: Error, failure: ForwardFailure | null): void {
    if (this.#failure === null) {
      if (this.#clientGone || this.res.destroyed || this.req.destroyed) this.#failure = 'client_aborted';
      else this.#failure = failure ?? classify(error, this.tls);
    }
    this.#report();
    if (this.#failure === 'client_aborted') return;
    if (this.#headersSent || this.res.headersSent) {
      // The upstream failed half-way through its answer: cutting the connection is the only way to make the
      // client see a truncated response rather than a complete-looking one.
      this.res.destroy();
      return;
    }
    sendDenial(this.res, bearerDenial(this.#failure, { connection: 'close' }));
  }

  /** Tells the pipeline once what happened: on the upstream's response headers, on failure, or on close. */
  #report(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.done({ upstreamStatus: this.#upstreamStatus, failure: this.#failure, upstreamSeconds: this.#upstreamSeconds });
  }
}

/**
 * undici's connector with the TLS settings, given the configured name in place of the one undici derives from
 * each request's Host header (for an IP address none: no SNI, and the address is what the certificate must name).
 */
function tlsConnector(tls: UpstreamTls, timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, ...tls.connect } as buildConnector.BuildOptions);
  const servername = tls.connect.servername;
  return (options, callback) =>
    connect(servername === undefined ? { ...options, servername: '' } : { ...options, servername }, (error, socket) => {
      if (socket) keepTlsFailureAsCause(socket);
      (callback as (error: Error | null, socket: Socket | null) => void)(error, socket);
    });
}

export class UndiciForwarder implements Forwarder {
  readonly #pool: Pool;
  readonly #upstream: URL;
  /** Sent with each request so undici never swaps a pooled TLS connection for the client's Host header. */
  readonly #servername: string | undefined;
  #upgrades: HttpProxyForwarder | null = null;

  constructor(private readonly options: UndiciForwarderOptions) {
    this.#upstream = options.upstream;
    this.#pool = new Pool(options.upstream.origin, {
      connections: options.maxSockets,
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: options.tls === null ? { timeout: options.connectTimeoutMs } : tlsConnector(options.tls, options.connectTimeoutMs),
    });
    this.#servername = options.tls?.requestServerName;
  }

  forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, done: (result: ForwardResult) => void): void {
    const exchange = new Exchange(req, res, done, target.startedAt ?? performance.now(), this.options.tls);
    const headers = target.headers as Record<string, string | string[]>;
    // undici refuses Expect; Node has already answered a client's 100-continue itself.
    if (headers['expect'] !== undefined) delete headers['expect'];
    const incoming = req.headers;
    const hasBody = incoming['transfer-encoding'] !== undefined || (incoming['content-length'] !== undefined && incoming['content-length'] !== '0');
    const method = req.method ?? 'GET';
    const options: Dispatcher.DispatchOptions = {
      origin: this.#upstream.origin,
      method,
      path: target.path,
      headers,
      body: hasBody ? req : null,
    };
    // Not in undici's types, but read by its Request: the name the pooled connection was made for.
    if (this.#servername !== undefined) (options as { servername?: string }).servername = this.#servername;
    this.#pool.dispatch(options, exchange as unknown as Dispatcher.DispatchHandler);
  }

  forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ForwardTarget): void {
    this.#upgrades ??= new HttpProxyForwarder(this.options);
    this.#upgrades.forwardUpgrade(req, socket, head, target);
  }

  async close(): Promise<void> {
    await Promise.all([this.#pool.destroy(), this.#upgrades?.close()]);
  }

  get upstream(): URL {
    return this.#upstream;
  }
}

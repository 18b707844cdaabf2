// The recording upstream that integration tests put behind the proxy: it keeps every request exactly as it
// arrived (headers in wire order, full body), so a test can assert what the backend would have seen.
// `startRawUpstream` is for the cases a well-behaved HTTP server cannot produce, such as malformed replies.
// With `tls` it serves HTTPS and also counts handshakes and records the client certificate of each request.

import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  httpVersion: string;
  /** Over TLS: the subject of the client certificate the connection presented, or null without one. */
  clientCertificate?: string | null;
}

export interface EchoUpstreamTls {
  cert: string;
  key: string;
  /** CAs that client certificates must chain to. */
  ca?: string;
  /** Ask for a client certificate; with `rejectUnauthorized` (default true when asked) refuse a connection without one. */
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  /** Highest TLS version accepted, to test a protocol the proxy refuses. */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface EchoUpstreamOptions {
  tls?: EchoUpstreamTls;
}

export type UpstreamResponder = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface EchoUpstream {
  url: string;
  port: number;
  /** Completed requests, in the order their bodies finished arriving. */
  requests: RecordedRequest[];
  /** Forgets recorded requests and upgrades and goes back to the default answer. */
  reset(): void;
  close(): Promise<void>;
  /** Override how the next requests are answered; default answers 200 JSON { ok: true, method, url, headers }. */
  respondWith(handler: UpstreamResponder | null): void;
  /**
   * Upgrade requests (WebSocket): records them and accepts the upgrade with a minimal 101, then echoes every
   * byte back unchanged (masked client frames included), so tests compare bytes instead of speaking WebSocket.
   * The recorded body holds the bytes that arrived with the upgrade request itself.
   */
  upgrades: RecordedRequest[];
  /** Over TLS: completed handshakes, one per connection the proxy opened. */
  secureConnections(): number;
  /** Over TLS: serves another certificate (and its settings) to new connections. */
  setTls(tls: EchoUpstreamTls): void;
}

export interface RawUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startEchoUpstream(options: EchoUpstreamOptions = {}): Promise<EchoUpstream> {
  const requests: RecordedRequest[] = [];
  const upgrades: RecordedRequest[] = [];
  let responder: UpstreamResponder | null = null;
  let handshakes = 0;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push(record(req, body));
      try {
        (responder ?? answerWithEcho)(req, res, body);
      } catch (err) {
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      }
    });
  };
  const server = options.tls === undefined ? createServer(handler) : createHttpsServer(serverTlsOptions(options.tls), handler);
  server.on('secureConnection', () => handshakes++);
  // A handshake the upstream refuses (no client certificate) is the test's subject, not an error of the helper.
  server.on('tlsClientError', () => {});

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades.push(record(req, Buffer.from(head)));
    const key = req.headers['sec-websocket-key'];
    const lines = [
      'HTTP/1.1 101 Switching Protocols',
      `Upgrade: ${req.headers.upgrade ?? 'websocket'}`,
      'Connection: Upgrade',
    ];
    if (typeof key === 'string') {
      lines.push(`Sec-WebSocket-Accept: ${createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64')}`);
    }
    socket.on('error', () => socket.destroy());
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });

  const { port, close } = await serve(server);
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    requests,
    upgrades,
    secureConnections: () => handshakes,
    setTls(tls) {
      if (!('setSecureContext' in server)) throw new Error('setTls needs an upstream started with tls');
      server.setSecureContext(serverTlsOptions(tls));
      // requestCert is a server option, not a secure context's.
      Object.assign(server, { requestCert: tls.requestCert ?? false, rejectUnauthorized: tls.rejectUnauthorized ?? tls.requestCert ?? false });
    },
    reset() {
      requests.length = 0;
      upgrades.length = 0;
      responder = null;
    },
    respondWith(handler) {
      responder = handler;
    },
    close,
  };
}

/** An upstream that hands each connection's socket to the test, which writes whatever bytes it wants. */
export async function startRawUpstream(onSocket: (socket: Socket) => void): Promise<RawUpstream> {
  const server = createNetServer((socket) => {
    socket.on('error', () => socket.destroy());
    onSocket(socket);
  });
  const { port, close } = await serve(server);
  return { url: `http://127.0.0.1:${port}`, port, close };
}

function answerWithEcho(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ ok: true, method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function record(req: IncomingMessage, body: Buffer): RecordedRequest {
  const recorded: RecordedRequest = {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body,
    httpVersion: req.httpVersion,
  };
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted === true && socket.getPeerCertificate !== undefined) {
    const peer = socket.getPeerCertificate();
    recorded.clientCertificate = peer.subject === undefined ? null : Object.entries(peer.subject).map(([k, v]) => `${k}=${String(v)}`).join(', ');
  }
  return recorded;
}

function serverTlsOptions(tls: EchoUpstreamTls) {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.maxVersion !== undefined ? { maxVersion: tls.maxVersion } : {}),
    requestCert: tls.requestCert ?? false,
    rejectUnauthorized: tls.rejectUnauthorized ?? tls.requestCert ?? false,
  };
}

/**
 * Listens on a free loopback port. close() destroys the sockets still open, since keep-alive and upgraded
 * connections would otherwise hold the server open until they time out.
 */
async function serve(server: Server): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      for (const socket of sockets) socket.destroy();
    });
  return { port, close };
}

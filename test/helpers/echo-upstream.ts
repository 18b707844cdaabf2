// The recording upstream that integration tests put behind the proxy: it keeps every request exactly as it
// arrived (headers in wire order, full body), so a test can assert what the backend would have seen.
// `startRawUpstream` is for the cases a well-behaved HTTP server cannot produce, such as malformed replies.

import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  httpVersion: string;
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
}

export interface RawUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: RecordedRequest[] = [];
  const upgrades: RecordedRequest[] = [];
  let responder: UpstreamResponder | null = null;

  const server = createServer((req, res) => {
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
  });

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
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    upgrades,
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
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body,
    httpVersion: req.httpVersion,
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

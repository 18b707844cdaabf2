// The benchmark's upstream: a canned HTTP/1.1 answer written straight onto the socket for every request that
// arrives. It shares a core with the load generator, so it has to cost next to nothing: a full Node HTTP server
// would take CPU away from autocannon and make the proxy look faster than it is. It reads just enough of each
// request (the header block and a Content-Length body) to keep keep-alive connections in step.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** The canned answer, shared with the soak's upstream. */
export const BODY = JSON.stringify({ ok: true, items: [{ id: 1, status: 'open' }] });
export const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\nkeep-alive: timeout=60\r\n\r\n${BODY}`,
  'latin1',
);
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

export interface BenchUpstream {
  url: string;
  /** Requests answered so far. */
  readonly answered: number;
  close(): Promise<void>;
}

/**
 * Splits what arrives on a keep-alive connection into requests (a header block, then a Content-Length body) and
 * hands over the heads of each chunk's complete requests at once, so pipelined requests can be answered in one
 * write.
 */
export function onRequestHeads(socket: Socket, onHeads: (heads: string[]) => void): void {
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  let bodyLeft = 0;
  socket.on('data', (chunk: Buffer) => {
    let data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const heads: string[] = [];
    for (;;) {
      if (bodyLeft > 0) {
        const take = Math.min(bodyLeft, data.length);
        bodyLeft -= take;
        data = data.subarray(take);
        if (bodyLeft > 0) break;
      }
      const end = data.indexOf(HEADER_END);
      if (end === -1) break;
      const head = data.toString('latin1', 0, end);
      const length = CONTENT_LENGTH.exec(head);
      bodyLeft = length ? Number(length[1]) : 0;
      data = data.subarray(end + 4);
      heads.push(head);
    }
    pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    if (heads.length > 0) onHeads(heads);
  });
  socket.on('error', () => socket.destroy());
}

/** A raw TCP server on a free loopback port; close() drops every connection it still has. */
export async function startRawServer(serve: (socket: Socket) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function startBenchUpstream(): Promise<BenchUpstream> {
  const counter = { answered: 0 };
  const server = await startRawServer((socket) =>
    onRequestHeads(socket, (heads) => {
      counter.answered += heads.length;
      socket.write(heads.length === 1 ? RESPONSE : Buffer.concat(Array.from({ length: heads.length }, () => RESPONSE)));
    }),
  );
  return {
    url: server.url,
    get answered() {
      return counter.answered;
    },
    close: server.close,
  };
}

// The soak's upstream: a canned answer written straight onto the socket, like bench/upstream.ts, except on two
// fault paths that make every fault attributable to the request that asked for it: `/public/fault/slow` answers
// after `slowMs` (longer than the proxy's upstream timeout, so the proxy answers 504) and `/public/fault/reset`
// resets the connection without answering (so the proxy answers 502).

import { createServer, type AddressInfo, type Socket } from 'node:net';

export const SLOW_PATH = '/public/fault/slow';
export const RESET_PATH = '/public/fault/reset';

const BODY = JSON.stringify({ ok: true, items: [{ id: 1, status: 'open' }] });
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\nkeep-alive: timeout=60\r\n\r\n${BODY}`, 'latin1');
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

export interface SoakUpstream {
  url: string;
  readonly answered: number;
  readonly slowFaults: number;
  readonly resetFaults: number;
  close(): Promise<void>;
}

export async function startSoakUpstream(slowMs: number): Promise<SoakUpstream> {
  const counts = { answered: 0, slow: 0, reset: 0 };
  const sockets = new Set<Socket>();
  const serve = (socket: Socket) => {
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let bodyLeft = 0;
    socket.on('data', (chunk: Buffer) => {
      let data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
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
        const target = head.slice(0, head.indexOf('\r\n')).split(' ')[1] ?? '';
        if (target.startsWith(RESET_PATH)) {
          counts.reset++;
          socket.resetAndDestroy();
          return;
        }
        if (target.startsWith(SLOW_PATH)) {
          counts.slow++;
          // The proxy gives up first and drops the connection; a late answer on a live one is still valid HTTP.
          setTimeout(() => socket.writable && socket.write(RESPONSE), slowMs).unref();
          continue;
        }
        counts.answered++;
        socket.write(RESPONSE);
      }
      pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    });
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((socket) => {
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
    get answered() {
      return counts.answered;
    },
    get slowFaults() {
      return counts.slow;
    },
    get resetFaults() {
      return counts.reset;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// The soak's upstream: a canned answer written straight onto the socket, like bench/upstream.ts, except on two
// fault paths that make every fault attributable to the request that asked for it: `/public/fault/slow` answers
// after `slowMs` (longer than the proxy's upstream timeout, so the proxy answers 504) and `/public/fault/reset`
// resets the connection without answering (so the proxy answers 502).

import { onRequestHeads, RESPONSE, startRawServer } from './upstream.js';

export const SLOW_PATH = '/public/fault/slow';
export const RESET_PATH = '/public/fault/reset';

export interface SoakUpstream {
  url: string;
  readonly answered: number;
  readonly slowFaults: number;
  readonly resetFaults: number;
  close(): Promise<void>;
}

export async function startSoakUpstream(slowMs: number): Promise<SoakUpstream> {
  const counts = { answered: 0, slow: 0, reset: 0 };
  const server = await startRawServer((socket) =>
    onRequestHeads(socket, (heads) => {
      for (const head of heads) {
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
    }),
  );
  return {
    url: server.url,
    get answered() {
      return counts.answered;
    },
    get slowFaults() {
      return counts.slow;
    },
    get resetFaults() {
      return counts.reset;
    },
    close: server.close,
  };
}

// A collector stand-in for the traced scenarios: accepts OTLP/HTTP exports and throws them away, so the proxy pays
// for recording and exporting spans and nothing else. It runs in the benchmark's own process, off the proxy's core.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TraceSink {
  /** The OTLP/HTTP traces URL to configure as `tracing.endpoint`. */
  url: string;
  /** Export requests received so far. */
  readonly exports: number;
  close(): Promise<void>;
}

export async function startTraceSink(): Promise<TraceSink> {
  let exports = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    get exports() {
      return exports;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// The built-in demo ITSM backend, started in-process when the config says `upstream: demo`. It speaks both
// vendor dialects (Cockpit-style JSON on /api/..., PCR-360-style /api/KEY/REQUEST.OUTPUT) and reports on
// every response what reached it, so a user can see the identity the proxy forwarded and that no client
// credential got through. This file runs the HTTP server; the routes live beside it.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CREDENTIAL_HEADERS, DEFAULT_IDENTITY_HEADERS, type EchoSettings } from './received.js';
import { sendJson } from './exchange.js';
import { handle } from './router.js';

export { serializePhp, toXml, type PhpValue } from '../respond/pcr-formats.js';
export { DEFAULT_CREDENTIAL_HEADERS, DEFAULT_IDENTITY_HEADERS, PATH_KEY_CREDENTIAL, type ReceivedRequest } from './received.js';
export { buildPdf } from './pdf.js';

export interface DemoBackendOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Header names echoed under `received.identity`; default DEFAULT_IDENTITY_HEADERS. */
  identityHeaders?: string[];
  /** Header names reported in `received.credentialsSeen` when present; default DEFAULT_CREDENTIAL_HEADERS. */
  credentialHeaders?: string[];
  /** Tells whether a (decoded) path segment is a client's API key, so a leaked key is flagged too. */
  clientKeysToFlag?: (pathSegment: string) => boolean;
}

export interface DemoBackend {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDemoBackend(options: DemoBackendOptions = {}): Promise<DemoBackend> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(createDemoHandler(options));
  // Longer than any sensible proxy agent idle timeout, so the proxy (not the backend) closes idle keep-alive
  // sockets and never reuses one the backend is closing at that very moment.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

export function createDemoHandler(
  options: DemoBackendOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const settings: EchoSettings = {
    identityHeaders: (options.identityHeaders ?? DEFAULT_IDENTITY_HEADERS).map((h) => h.toLowerCase()),
    credentialHeaders: (options.credentialHeaders ?? DEFAULT_CREDENTIAL_HEADERS).map((h) => h.toLowerCase()),
    clientKeysToFlag: options.clientKeysToFlag,
  };
  return (req, res) => {
    handle(req, res, settings).catch(() => {
      // A demo must stay up whatever a client sends; a half-written response can only be cut off.
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'server_error' });
    });
  };
}

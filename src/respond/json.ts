// Writing the proxy's own JSON responses, with the security headers every answer of ours carries.

import { STATUS_CODES, type ServerResponse } from 'node:http';

const BASE_HEADERS = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  // The reason phrase is named: a writeHead that threw on an upstream's reason phrase leaves it on the response,
  // and writeHead would reuse it and throw again instead of answering.
  res.writeHead(status, STATUS_CODES[status] ?? '', {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : payload);
}

// Writing the proxy's own responses: JSON bodies with the security headers every answer of ours carries, and
// the RFC 6750 rendering of a bearer-face denial.

import { STATUS_CODES, type ServerResponse } from 'node:http';
import { REASONS, type ReasonId } from '../errors/reasons.js';

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

// RFC 6750 §3: the error description is a quoted-string of printable ASCII without `"` or `\`.
function quoted(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}

export function bearerChallenge(reason: ReasonId, realm: string): string {
  const spec = REASONS[reason];
  if (!('bearerError' in spec)) return `Bearer realm="${quoted(realm)}"`;
  return `Bearer realm="${quoted(realm)}", error="${spec.bearerError}", error_description="${quoted(spec.message)}"`;
}

/** A denial on the OAuth face: RFC 6750 status, challenge and error body, with our reason id beside it. */
export function sendBearerDenial(res: ServerResponse, reason: ReasonId, extraHeaders: Record<string, string> = {}): void {
  const spec = REASONS[reason];
  const headers: Record<string, string> = { ...extraHeaders };
  if (spec.status === 401 || (spec.status === 403 && 'bearerError' in spec) || (spec.status === 400 && 'bearerError' in spec && spec.bearerError === 'invalid_request' && reason.startsWith('authorization'))) {
    headers['www-authenticate'] = bearerChallenge(reason, 'portcullis');
  }
  const body: Record<string, string> = { error: 'bearerError' in spec ? spec.bearerError : errorWord(spec.status), error_description: spec.message, reason };
  sendJson(res, spec.status, body, headers);
}

function errorWord(status: number): string {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'payload_too_large';
    case 429:
      return 'too_many_requests';
    case 502:
      return 'bad_gateway';
    case 503:
      return 'service_unavailable';
    case 504:
      return 'gateway_timeout';
    default:
      return status >= 500 ? 'server_error' : 'invalid_request';
  }
}

export { errorWord };
